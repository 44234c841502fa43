/**
 * The contract every {@link Feed} keeps, run against a real MCP server on loopback (in the manner of
 * hono's `common.case.test.ts`: one suite, each implementation calls it). Only what holds for push and
 * poll alike is here; what is particular to one feed is tested with it.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import type { SubscribeConfig } from "../../src/config/types.ts";
import type { FaultEvent } from "../../src/events/fault.ts";
import { logger } from "../../src/log.ts";
import { fulfilsWithin } from "../../src/runtime/deadline.ts";
import type { Feed, FeedContext } from "../../src/worker/feed.ts";
import { watchEventStream } from "../../src/worker/mcp.ts";
import type { ClusterSpec, ConnectionMessage } from "../../src/worker/protocol.ts";
import { waitFor } from "../helpers/wait.ts";

/** Seconds between lists for feeds that poll (kept short so the suite is quick). */
export const CONTRACT_POLL_INTERVAL_SECONDS = 0.2;

/** How long to watch for something that must not happen: several poll intervals. */
const QUIET_MS = CONTRACT_POLL_INTERVAL_SECONDS * 1000 * 4;

/** A real MCP server a feed under test talks to, with the means to make things happen on it. */
export interface FeedServer {
  /** The cluster it serves (its `mcp_endpoint` is the server's). */
  cluster: ClusterSpec;
  /** Makes a Warning event (reason BackOff) about the Pod `name` in namespace `default` happen now. */
  inject(name: string): void;
  /** Makes the server fail at watching or listing events while it keeps serving the session. */
  breakWatch(): Promise<void>;
  /** Asserts that the server holds nothing for a stopped feed and hears nothing more from it. */
  assertReleased(): Promise<void>;
  /** Stops the server and whatever it needs. */
  stop(): Promise<void>;
}

/** How to run the contract against one feed. */
export interface FeedContractOptions {
  /** Starts a fresh server (one per case). */
  startServer(): Promise<FeedServer>;
  /** The feed under test, reporting through `context`. */
  makeFeed(context: FeedContext): Feed;
  /** Skip the suite (e.g. the server's binary is not installed here). */
  skip?: boolean;
}

/** A session the contract opened for a feed, and what the feed did through it. */
interface Rig {
  feed: Feed;
  client: Client;
  messages: ConnectionMessage[];
  /** Reasons the feed gave for losing its session. */
  losses: string[];
  /** Opens a fresh MCP session and starts the feed on it. */
  startSession(): Promise<void>;
  /** Ends the session as a loss (no unsubscribe): the feed is told when it was last alive. */
  loseSession(): Promise<void>;
  close(): Promise<void>;
}

/** The faults reported about the Pod `name`. */
function eventsAbout(messages: readonly ConnectionMessage[], name: string): FaultEvent[] {
  return messages.flatMap((m) => (m.type === "event" && m.event.resource.name === name ? [m.event] : []));
}

/** The error of a `degraded` message or of a `polled` message with an error, else null. */
function degradation(message: ConnectionMessage): string | null {
  if (message.type === "degraded") return message.error;
  if (message.type === "polled") return message.error;
  return null;
}

function openRig(server: FeedServer, makeFeed: (context: FeedContext) => Feed): Rig {
  const messages: ConnectionMessage[] = [];
  const losses: string[] = [];
  const subscribe: SubscribeConfig = { mode: "auto", poll_interval_seconds: CONTRACT_POLL_INTERVAL_SECONDS };
  const feed = makeFeed({
    cluster: server.cluster,
    subscribe,
    timeoutMs: 5000,
    target: { endpoint: server.cluster.mcp_endpoint, field: (name) => name },
    report: (message) => messages.push(message),
    alive: () => {},
    log: logger({ cluster: server.cluster.name }),
  });
  let client = new Client({ name: "feed-contract", version: "0" });
  const rig: Rig = {
    feed,
    get client() {
      return client;
    },
    messages,
    losses,
    async startSession() {
      client = new Client({ name: "feed-contract", version: "0" });
      client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => feed.notified(n.params));
      const streamOpen = Promise.withResolvers<void>();
      const transport = new StreamableHTTPClientTransport(new URL(server.cluster.mcp_endpoint), {
        fetch: watchEventStream(streamOpen.resolve, () => {}),
      });
      await client.connect(transport);
      await client.setLoggingLevel("info");
      // As the connection does: events travel on the standalone stream, see it open first where it does.
      await fulfilsWithin(streamOpen.promise, 2000);
      await feed.start({ client, lose: (reason) => losses.push(reason) });
    },
    async loseSession() {
      const aliveAt = Date.now();
      await client.close();
      feed.ended(aliveAt);
    },
    async close() {
      await feed.stop();
      await client.close();
    },
  };
  return rig;
}

/** Runs the feed contract as a `describe` block called `name`. */
export function runFeedContract(name: string, options: FeedContractOptions): void {
  describe.skipIf(options.skip ?? false)(`${name} keeps the feed contract`, () => {
    let server: FeedServer;
    let rig: Rig;
    beforeEach(async () => {
      server = await options.startServer();
      rig = openRig(server, options.makeFeed);
    });
    afterEach(async () => {
      await rig.close();
      await server.stop();
    });

    test("a fault that happens after start is reported once, normalised and tagged with the cluster", async () => {
      await rig.startSession();
      server.inject("after-start");
      const event = await waitFor("the fault", () => eventsAbout(rig.messages, "after-start")[0]);
      expect(event).toMatchObject({
        cluster: server.cluster.name,
        labels: server.cluster.labels,
        fault_type: "CrashLoop",
        severity: "warning",
        resource: { kind: "Pod", name: "after-start", namespace: "default" },
      });
      await Bun.sleep(QUIET_MS);
      expect(eventsAbout(rig.messages, "after-start")).toHaveLength(1);
      expect(rig.losses).toEqual([]);
    });

    test("a fault from before the start is not reported", async () => {
      server.inject("before-start");
      await rig.startSession();
      server.inject("after-start");
      await waitFor("the later fault", () => eventsAbout(rig.messages, "after-start").length > 0);
      await Bun.sleep(QUIET_MS);
      expect(eventsAbout(rig.messages, "before-start")).toEqual([]);
    });

    test("stop ends delivery and releases what the feed held", async () => {
      await rig.startSession();
      server.inject("before-stop");
      await waitFor("the fault before stop", () => eventsAbout(rig.messages, "before-stop").length > 0);
      await rig.feed.stop();
      const reported = rig.messages.length;
      server.inject("after-stop");
      await Bun.sleep(QUIET_MS);
      expect(rig.messages.slice(reported)).toEqual([]);
      await server.assertReleased();
      // The session itself is the connection's: it still answers.
      await rig.client.ping();
    });

    test("a fault between two sessions is reported by the next one, and an earlier one is not repeated", async () => {
      await rig.startSession();
      server.inject("first-session");
      await waitFor("the first session's fault", () => eventsAbout(rig.messages, "first-session").length > 0);
      await rig.loseSession();
      server.inject("between-sessions");
      await rig.startSession();
      await waitFor("the missed fault", () => eventsAbout(rig.messages, "between-sessions").length > 0);
      await Bun.sleep(QUIET_MS);
      expect(eventsAbout(rig.messages, "between-sessions")).toHaveLength(1);
      expect(eventsAbout(rig.messages, "first-session")).toHaveLength(1);
    });

    test("the server failing to watch degrades the feed with its reason; the session is kept", async () => {
      await rig.startSession();
      await server.breakWatch();
      const error = await waitFor("a degraded report", () => rig.messages.map(degradation).find(Boolean));
      expect(error.length).toBeGreaterThan(0);
      expect(rig.losses).toEqual([]);
      await rig.client.ping();
    });
  });
}
