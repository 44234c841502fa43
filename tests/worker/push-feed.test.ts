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

/** A CrashLoop fault of Pod `pod` in cluster `cluster` at `timestamp` (the cluster's `seq`th), as a push carries it. */
function crashLoop(
  cluster: string,
  pod: string,
  timestamp = "2026-11-26T10:00:05Z",
  seq = 1,
): ReturnType<typeof resolveFault> {
  return resolveFault(cluster, { name: pod, faultType: "CrashLoop", timestamp }, seq);
}

/** {@link crashLoop} at 10:00:05, and the `events_list` answer that lists it. */
function listedCrashLoop(
  cluster: string,
  pod: string,
): { fault: ReturnType<typeof resolveFault>; listText: string } {
  const fault = crashLoop(cluster, pod);
  return { fault, listText: listedText(pod, fault) };
}

/** The names of the objects whose faults `messages` reported, in order. */
function reportedNames(messages: readonly ConnectionMessage[]): string[] {
  return messages.flatMap((m) => (m.type === "event" ? [m.event.resource.name] : []));
}

/** A push feed for cluster `name` (no server: the test's client answers), with the messages it reports. */
function pushFeedFor(name: string, checkSeconds?: number): { feed: PushFeed; messages: ConnectionMessage[] } {
  const messages: ConnectionMessage[] = [];
  const feed = new PushFeed(
    {
      cluster: { name, mcp_endpoint: "http://127.0.0.1:1/mcp", labels: {} },
      subscribe: { mode: "faults", poll_interval_seconds: 15, check_interval_seconds: checkSeconds },
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
  const { fault: listed, listText } = listedCrashLoop("late", "late-push");
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
    // … and with the milliseconds a push carries, where the listing printed whole seconds.
    push(crashLoop("late", "late-push", "2026-11-26T10:00:05.480Z"));
    push(crashLoop("late", "late-push", "2026-11-26T10:00:09Z", 2));
    expect(reported()).toEqual(["late-push@2026-11-26T10:00:05.000Z", "late-push@2026-11-26T10:00:09Z"]);
  } finally {
    await feed.stop();
  }
});

test("a backfill that fails (the session dropped again) is not skipped: the next session backfills from the same point", async () => {
  const { listText } = listedCrashLoop("gap", "in-the-gap");
  let lists = 0;
  const client = {
    async callTool({ name }: { name: string }) {
      if (name === "events_list" && ++lists === 1) throw new Error("MCP error -32000: Connection closed");
      const text = name === "events_list" ? listText : '{"subscriptionId":"sub-1"}';
      return { content: [{ type: "text", text }] };
    },
  } as unknown as Client;
  const { feed, messages } = pushFeedFor("gap");
  const reported = () => reportedNames(messages);
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
  const { listText } = listedCrashLoop("removed", "listed-late");
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

test("a gap is owed (the reported liveness held at its start) until a listing of it succeeded, a stop included", async () => {
  const { listText } = listedCrashLoop("owed", "owed-fault");
  let lists = 0;
  const answers: Array<PromiseWithResolvers<void>> = [];
  const client = {
    async callTool({ name }: { name: string }) {
      if (name !== "events_list") return { content: [{ type: "text", text: '{"subscriptionId":"sub-1"}' }] };
      lists++;
      const answer = Promise.withResolvers<void>();
      answers.push(answer);
      await answer.promise;
      return { content: [{ type: "text", text: listText }] };
    },
  } as unknown as Client;
  const { feed, messages } = pushFeedFor("owed");
  const since = Date.parse("2026-11-26T10:00:00Z");
  const stored = Date.parse("2026-11-26T10:00:10Z"); // the liveness `since` was derived from
  expect(feed.owedSince()).toBeNull();
  feed.resume(since, new Map(), stored);
  expect(feed.owedSince()).toBe(stored);
  await feed.start({ client, lose: () => {} });
  await waitFor("the first listing", () => lists === 1, 2000, 5);
  expect(feed.owedSince()).toBe(stored);
  // The session drops (last alive later) and its listing fails: still owed from the resume.
  feed.ended(Date.parse("2026-11-26T10:00:40Z"));
  answers[0]?.reject(new Error("MCP error -32000: Connection closed"));
  await Bun.sleep(10);
  expect(feed.owedSince()).toBe(stored);
  // The next session's listing succeeds: nothing owed any more.
  await feed.start({ client, lose: () => {} });
  await waitFor("the second listing", () => lists === 2, 2000, 5);
  answers[1]?.resolve();
  await waitFor("the gap listed", () => feed.owedSince() === null, 2000, 5);
  expect(reportedNames(messages)).toEqual(["owed-fault"]);

  // Removed here while listing another gap: nothing reported, and the gap is still owed after the stop.
  feed.ended(Date.parse("2026-11-26T10:01:00Z"));
  await feed.start({ client, lose: () => {} });
  await waitFor("the third listing", () => lists === 3, 2000, 5);
  await feed.stop();
  answers[2]?.resolve();
  await Bun.sleep(10);
  expect(feed.owedSince()).toBe(Date.parse("2026-11-26T10:01:00Z"));
});

test("a backfill that fails after the next session is up is listed on that session at once", async () => {
  const { listText } = listedCrashLoop("late-fail", "late-fail-fault");
  const answers: Array<PromiseWithResolvers<void>> = [];
  const callTool = async ({ name }: { name: string }) => {
    if (name !== "events_list") return { content: [{ type: "text", text: '{"subscriptionId":"sub-1"}' }] };
    const answer = Promise.withResolvers<void>();
    answers.push(answer);
    await answer.promise;
    return { content: [{ type: "text", text: listText }] };
  };
  // Two sessions, two clients (the feed tells its current session by its client).
  const session = () => ({ client: { callTool } as unknown as Client, lose: () => {} });
  const { feed, messages } = pushFeedFor("late-fail");
  feed.resume(Date.parse("2026-11-26T10:00:00Z"), new Map());
  await feed.start(session());
  await waitFor("the first listing", () => answers.length === 1, 2000, 5);
  // The session drops after the fault; the next one is up before the first listing's failure arrives.
  feed.ended(Date.parse("2026-11-26T10:00:20Z"));
  await feed.start(session());
  await waitFor("the second session's listing", () => answers.length === 2, 2000, 5);
  answers[1]?.resolve(); // from 10:00:20: does not reach back to the fault
  answers[0]?.reject(new Error("MCP error -32000: Connection closed"));
  await waitFor("the failed gap listed again on the second session", () => answers.length === 3, 2000, 5);
  answers[2]?.resolve();
  await waitFor("nothing owed", () => feed.owedSince() === null, 2000, 5);
  try {
    expect(reportedNames(messages)).toEqual(["late-fail-fault"]);
  } finally {
    await feed.stop();
  }
});

test("a stream not confirmed open whose session dropped before it settled: its gap is listed on the next session, once it settles", async () => {
  const { listText } = listedCrashLoop("unconfirmed", "unconfirmed-fault"); // at 10:00:05
  let lists = 0;
  const callTool = async ({ name }: { name: string }) => {
    if (name === "events_list") lists++;
    const text = name === "events_list" ? listText : '{"subscriptionId":"sub-1"}';
    return { content: [{ type: "text", text }] };
  };
  const client = () => ({ callTool }) as unknown as Client;
  const settled = Promise.withResolvers<void>();
  const { feed, messages } = pushFeedFor("unconfirmed");
  await feed.start({
    client: client(),
    lose: () => {},
    unconfirmed: { sinceMs: Date.parse("2026-11-26T10:00:00Z"), settled: settled.promise },
  });
  expect(feed.owedSince()).toBe(Date.parse("2026-11-26T10:00:00Z"));
  // The session drops before its stream settled; the next one is up (its backfill from 10:00:20 misses
  // the fault) before the first session's wait ends.
  feed.ended(Date.parse("2026-11-26T10:00:20Z"));
  await feed.start({ client: client(), lose: () => {} });
  await waitFor("the second session's own listing", () => lists === 1, 2000, 5);
  settled.resolve();
  await waitFor("the unconfirmed gap listed on the second session", () => lists === 2, 2000, 5);
  await waitFor("nothing owed", () => feed.owedSince() === null, 2000, 5);
  try {
    expect(reportedNames(messages)).toEqual(["unconfirmed-fault"]);
  } finally {
    await feed.stop();
  }
});

test("a listing that fails while its session stays up is tried again at the next subscription check", async () => {
  const { listText } = listedCrashLoop("retried", "retried-fault");
  let lists = 0;
  const callTool = async ({ name }: { name: string }) => {
    if (name === "events_list" && ++lists === 1) throw new Error("MCP error -32001: Request timed out");
    const text = name === "events_list" ? listText : '{"subscriptionId":"sub-1"}'; // the check finds sub-1
    return { content: [{ type: "text", text }] };
  };
  const { feed, messages } = pushFeedFor("retried", 0.05);
  feed.resume(Date.parse("2026-11-26T10:00:00Z"), new Map());
  await feed.start({ client: { callTool } as unknown as Client, lose: () => {} });
  try {
    await waitFor("the listing tried again after a check", () => lists === 2, 3000, 5);
    await waitFor("the fault reported", () => messages.some((m) => m.type === "event"), 2000, 5);
    await waitFor("nothing owed", () => feed.owedSince() === null, 2000, 5);
    expect(reportedNames(messages)).toEqual(["retried-fault"]);
  } finally {
    await feed.stop();
  }
});

test("after a resume, faults stored before it are skipped by every backfill, however many (not only the pushed-fault memory's 256), and one not stored is reported once", async () => {
  const second = Math.floor(Date.now() / 1000) * 1000;
  const at = new Date(second).toISOString();
  const goTime = `${at.slice(0, 10)} ${at.slice(11, 19)} +0000 UTC`;
  const pods = [...Array.from({ length: 600 }, (_, i) => `stored-${i}`), "not-stored"];
  const fault = crashLoop("storm", "any");
  const listText =
    "# The following events (YAML format) were found:\n" +
    pods
      .map(
        (pod) =>
          `- InvolvedObject: { Kind: Pod, Name: ${pod}, apiVersion: v1 }\n  Message: ${fault.event.message}\n` +
          `  Namespace: default\n  Reason: ${fault.event.reason}\n  Timestamp: ${goTime}\n  Type: Warning\n`,
      )
      .join("");
  let lists = 0;
  const client = {
    async callTool({ name }: { name: string }) {
      if (name === "events_list") lists++;
      const text = name === "events_list" ? listText : '{"subscriptionId":"sub-1"}';
      return { content: [{ type: "text", text }] };
    },
  } as unknown as Client;
  const { feed, messages } = pushFeedFor("storm");
  // Stored by the previous holder just before: every pod but one, at the listed second.
  const stored = new Map(pods.filter((p) => p !== "not-stored").map((p) => [`Pod/default/${p}`, second]));
  feed.resume(second - 10_000, stored);
  await feed.start({ client, lose: () => {} });
  try {
    await waitFor("the resume's backfill listed", () => lists === 1 && messages.length > 0, 2000, 5);
    // The session drops within the same second: the next backfill lists the same events again.
    feed.ended(second);
    await feed.start({ client, lose: () => {} });
    await waitFor("the next session's backfill listed", () => lists === 2, 2000, 5);
    await Bun.sleep(50);
    expect(reportedNames(messages)).toEqual(["not-stored"]);
  } finally {
    await feed.stop();
  }
});
