/** PushFeed against simulated push servers (`events_subscribe`): the feed contract. */

import { expect, test } from "bun:test";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { faultPayload, resolveFault } from "../../scripts/sim/faults.ts";
import { type Simulator, startSimulator } from "../../scripts/sim/index.ts";
import { logger } from "../../src/log.ts";
import type { ConnectionMessage } from "../../src/worker/protocol.ts";
import { PushFeed } from "../../src/worker/push-feed.ts";
import { waitFor } from "../helpers/wait.ts";
import { runFeedContract } from "./feed.contract.ts";

runFeedContract("PushFeed", {
  async startServer() {
    const name = "pushing";
    const sim: Simulator = await startSimulator({ clusters: [name] });
    return {
      cluster: { name, mcp_endpoint: sim.endpoint(name), labels: { env: "contract" } },
      inject: (pod) => {
        sim.inject(name, { name: pod, reason: "BackOff" });
      },
      breakWatch: async () => {
        sim.subscriptionError(name, "watch of events failed: the server is shutting down");
      },
      assertReleased: async () => {
        expect(sim.stats(name).subscriptions).toBe(0);
      },
      stop: () => sim.stop(),
    };
  },
  makeFeed: (context) => new PushFeed(context, "faults"),
});

/** The text `events_list` answers with: one Warning event of Pod `pod`, at 10:00:05 on 2026-11-26. */
function listedText(pod: string, fault: ReturnType<typeof resolveFault>): string {
  return (
    "# The following events (YAML format) were found:\n" +
    `- InvolvedObject: { Kind: Pod, Name: ${pod}, apiVersion: v1 }\n  Message: ${fault.event.message}\n` +
    `  Namespace: default\n  Reason: ${fault.event.reason}\n  Timestamp: 2026-11-26 10:00:05 +0000 UTC\n  Type: Warning\n`
  );
}

/** A push feed for cluster `name` (no server: the test's client answers), with the messages it reports. */
function pushFeedFor(name: string): { feed: PushFeed; messages: ConnectionMessage[] } {
  const messages: ConnectionMessage[] = [];
  const feed = new PushFeed(
    {
      cluster: { name, mcp_endpoint: "http://127.0.0.1:1/mcp", labels: {} },
      subscribe: { mode: "faults", poll_interval_seconds: 15 },
      timeoutMs: 1000,
      target: { endpoint: "http://127.0.0.1:1/mcp", field: (field) => field },
      report: (message) => messages.push(message),
      alive: () => {},
      log: logger({ cluster: name }),
    },
    "faults",
  );
  return { feed, messages };
}

test("a push that arrives after the backfill's listing answer (same object, type and time) is not reported again; a later one is", async () => {
  const listed = resolveFault(
    "late",
    { name: "late-push", faultType: "CrashLoop", timestamp: "2026-11-26T10:00:05Z" },
    1,
  );
  const listText = listedText("late-push", listed);
  const client = {
    async callTool({ name }: { name: string }) {
      const text = name === "events_list" ? listText : '{"subscriptionId":"sub-1"}';
      return { content: [{ type: "text", text }] };
    },
  } as unknown as Client;
  const { feed, messages } = pushFeedFor("late");
  const reported = () =>
    messages.flatMap((m) => (m.type === "event" ? [`${m.event.resource.name}@${m.event.timestamp}`] : []));
  const push = (fault: typeof listed) =>
    feed.notified({
      level: "warning",
      logger: "kubernetes/faults",
      data: faultPayload(fault, "sub-1", "late"),
    });
  feed.resume(Date.parse("2026-11-26T10:00:00Z"), new Map());
  await feed.start({ client, lose: () => {} });
  try {
    await waitFor("the listed fault reported", () => reported().length === 1, 2000, 5);
    push(listed); // its push, late: the same occurrence under the server's own id
    const later = resolveFault(
      "late",
      { name: "late-push", faultType: "CrashLoop", timestamp: "2026-11-26T10:00:09Z" },
      2,
    );
    push(later);
    expect(reported()).toEqual(["late-push@2026-11-26T10:00:05.000Z", "late-push@2026-11-26T10:00:09Z"]);
  } finally {
    await feed.stop();
  }
});

test("a backfill that fails (the session dropped again) is not skipped: the next session backfills from the same point", async () => {
  const fault = resolveFault(
    "gap",
    { name: "in-the-gap", faultType: "CrashLoop", timestamp: "2026-11-26T10:00:05Z" },
    1,
  );
  const listText = listedText("in-the-gap", fault);
  let lists = 0;
  const client = {
    async callTool({ name }: { name: string }) {
      if (name === "events_list" && ++lists === 1) throw new Error("MCP error -32000: Connection closed");
      const text = name === "events_list" ? listText : '{"subscriptionId":"sub-1"}';
      return { content: [{ type: "text", text }] };
    },
  } as unknown as Client;
  const { feed, messages } = pushFeedFor("gap");
  const reported = () => messages.flatMap((m) => (m.type === "event" ? [m.event.resource.name] : []));
  // Taken over (or restarted): backfill from before the fault; the first session's listing fails.
  feed.resume(Date.parse("2026-11-26T10:00:00Z"), new Map());
  await feed.start({ client, lose: () => {} });
  await waitFor("the first backfill failed", () => lists === 1, 2000, 5);
  await Bun.sleep(20);
  // That session drops, last alive after the fault; the next one must still list from 10:00:00.
  feed.ended(Date.parse("2026-11-26T10:00:20Z"));
  await feed.start({ client, lose: () => {} });
  try {
    await waitFor("the second backfill listed", () => lists === 2, 2000, 5);
    await Bun.sleep(50);
    expect(reported()).toEqual(["in-the-gap"]);
  } finally {
    await feed.stop();
  }
});

test("a backfill still listing when the feed stops (the cluster removed here) reports nothing", async () => {
  const fault = resolveFault(
    "removed",
    { name: "listed-late", faultType: "CrashLoop", timestamp: "2026-11-26T10:00:05Z" },
    1,
  );
  const listText = listedText("listed-late", fault);
  const { promise: answer, resolve: answerNow } = Promise.withResolvers<void>();
  let listing = false;
  const client = {
    async callTool({ name }: { name: string }) {
      if (name === "events_list") {
        listing = true;
        await answer; // the listing's answer comes only after the feed was stopped
      }
      const text = name === "events_list" ? listText : '{"subscriptionId":"sub-1"}';
      return { content: [{ type: "text", text }] };
    },
  } as unknown as Client;
  const { feed, messages } = pushFeedFor("removed");
  feed.resume(Date.parse("2026-11-26T10:00:00Z"), new Map());
  await feed.start({ client, lose: () => {} });
  await waitFor("the backfill listing", () => listing, 2000, 5);
  await feed.stop();
  answerNow();
  await Bun.sleep(50);
  expect(messages.filter((m) => m.type === "event")).toEqual([]);
});
