/** ClusterConnection on its own (no worker thread), against real simulator servers. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  type Simulator,
  SUBSCRIPTIONS_PER_SERVER,
  SUBSCRIPTIONS_PER_SESSION,
  startSimulator,
} from "../../scripts/sim/index.ts";
import {
  ClusterConnection,
  MIN_STREAM_OPEN_GRACE_MS,
  STREAM_OPEN_GRACE_MS,
  STREAM_OPEN_GRACE_ROUND_TRIPS,
  streamOpenGraceMs,
  UNCONFIRMED_BACKFILL_MS,
} from "../../src/worker/connection.ts";
import type { ConnectionMessage, StatusMessage } from "../../src/worker/protocol.ts";
import { MIN_SLOT_HOLD_MS, StartupGate } from "../../src/worker/startup-gate.ts";
import { connectionSettings } from "../helpers/connection-settings.ts";
import { type BlackholeProxy, startBlackholeProxy } from "../helpers/proxy.ts";
import { waitFor } from "../helpers/wait.ts";

const settings = connectionSettings({ interval_seconds: 5, timeout_seconds: 10 }, 1);

let sim: Simulator;
let proxy: BlackholeProxy;
beforeAll(async () => {
  sim = await startSimulator({
    clusters: [
      { name: "slow" },
      { name: "fast" },
      { name: "full" },
      { name: "late" },
      { name: "flushed-late" },
      { name: "held", holdHeaders: true },
      { name: "again" },
      { name: "busy" },
      { name: "rotated", bearerToken: "tok-1" },
    ],
  });
  proxy = startBlackholeProxy(sim.endpoint("slow"));
  proxy.blackhole(true);
});
afterAll(async () => {
  await proxy.stop();
  await sim.stop();
});

test("a hanging server does not hold the start-up gate: the next cluster connects within the slot limit", async () => {
  const gate = new StartupGate(1);
  const messages: ConnectionMessage[] = [];
  const emit = (m: ConnectionMessage) => messages.push(m);
  const slow = new ClusterConnection(
    { name: "slow", mcp_endpoint: proxy.url, labels: {} },
    settings,
    emit,
    gate,
  );
  const fast = new ClusterConnection(
    { name: "fast", mcp_endpoint: sim.endpoint("fast"), labels: {} },
    settings,
    emit,
    gate,
  );
  const started = performance.now();
  slow.start();
  fast.start();
  try {
    await waitFor("fast active", () => fast.status === "active", 5000);
    const waited = performance.now() - started;
    // Waited for the slow one's slot (≈ MIN_SLOT_HOLD_MS), far less than its 10 s request timeout.
    expect(waited).toBeGreaterThanOrEqual(MIN_SLOT_HOLD_MS - 50);
    expect(waited).toBeLessThan(settings.ping.timeout_seconds * 1000);
    expect(slow.status).toBe("connecting");
  } finally {
    await Promise.all([slow.stop(), fast.stop()]);
  }
  expect(fast.status).toBe("disconnected");
  expect(
    messages
      .filter((m) => m.type === "status" && m.cluster === "fast")
      .map((m) => m.type === "status" && m.status),
  ).toEqual(["connecting", "connected", "subscribing", "active", "disconnected"]);
});

test("a busy server (every initialize slow, one at a time) never has more than twice the gate's limit waiting: no timeouts, no retries", async () => {
  // As on a starved node: a fixed capacity, so the more attempts wait at once, the longer each waits.
  // A gate that gives slots back after a fixed time admits a fixed number a second whatever the
  // capacity: attempts pile up past their request timeout and retry (a livelock).
  const busy = startBlackholeProxy(sim.endpoint("busy"), { initializeMs: 300 });
  const gate = new StartupGate(2, 250);
  const busySettings = connectionSettings({ interval_seconds: 5, timeout_seconds: 3 }, 2);
  const messages: ConnectionMessage[] = [];
  const connections = Array.from(
    { length: 20 },
    (_, i) =>
      new ClusterConnection(
        { name: `busy-${i}`, mcp_endpoint: busy.url, labels: {} },
        busySettings,
        (m) => messages.push(m),
        gate,
      ),
  );
  for (const connection of connections) connection.start();
  try {
    await waitFor("all active", () => connections.every((c) => c.status === "active"), 30_000);
    expect(busy.maxInitializing).toBeLessThanOrEqual(2 * gate.limit);
    expect(messages.filter((m) => m.type === "status" && m.status === "failed")).toEqual([]);
  } finally {
    await Promise.all(connections.map((c) => c.stop()));
    await busy.stop();
  }
}, 40_000);

test("events_subscribe answering isError fails the attempt with the server's reason, and it keeps retrying", async () => {
  // Fill the server's subscription limit (10 sessions × 10 subscriptions = 100 per server).
  const fillers: Client[] = [];
  for (let i = 0; i < SUBSCRIPTIONS_PER_SERVER / SUBSCRIPTIONS_PER_SESSION; i++) {
    const client = new Client({ name: "filler", version: "1" });
    await client.connect(new StreamableHTTPClientTransport(new URL(sim.endpoint("full"))));
    for (let j = 0; j < SUBSCRIPTIONS_PER_SESSION; j++) {
      await client.callTool({ name: "events_subscribe", arguments: { mode: "faults" } });
    }
    fillers.push(client);
  }
  const messages: ConnectionMessage[] = [];
  const connection = new ClusterConnection(
    { name: "full", mcp_endpoint: sim.endpoint("full"), labels: {} },
    settings,
    (m) => messages.push(m),
  );
  connection.start();
  try {
    const failures = () =>
      messages.filter((m): m is StatusMessage => m.type === "status" && m.status === "failed");
    await waitFor("two failed attempts", () => failures().length >= 2);
    expect(failures()[0]?.error).toStartWith("events_subscribe refused: ");
    expect(failures()[0]?.error).toContain("100");
    expect(sim.stats("full").subscriptions).toBe(SUBSCRIPTIONS_PER_SERVER);
  } finally {
    await connection.stop();
    await Promise.all(fillers.map((c) => c.close()));
  }
});

test("a peer that hangs up at once: last_error names the endpoint in plain words, without Bun's advice to programmers", async () => {
  const { createServer } = await import("node:net");
  const rude = createServer((socket) => socket.destroy()).listen(0, "127.0.0.1");
  await new Promise((resolve) => rude.once("listening", resolve));
  const address = rude.address();
  const endpoint = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/mcp`;
  const statuses: StatusMessage[] = [];
  const connection = new ClusterConnection(
    { name: "rude", mcp_endpoint: endpoint, labels: {} },
    settings,
    (m) => {
      if (m.type === "status") statuses.push(m);
    },
  );
  connection.start();
  try {
    const failed = await waitFor("a failed status", () => statuses.find((s) => s.status === "failed"));
    expect(failed.error).toBe(
      `${endpoint} closed the connection unexpectedly (the server or a proxy in between dropped it)`,
    );
  } finally {
    await connection.stop();
    rude.close();
  }
});

/** Injects a fault every few ms into `cluster` until stopped; notes each one sent while subscribed. */
function injectWhileConnecting(cluster: string) {
  const sent: Array<{ name: string; subscribed: boolean; delivered: number }> = [];
  let running = true;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const name = `${cluster}-w${i}`;
      const subscribed = sim.stats(cluster).subscriptions > 0;
      // Millisecond timestamps, so that a listing since the attempt's start finds each of them.
      const delivered = sim.inject(cluster, { name, timestamp: new Date().toISOString() });
      sent.push({ name, subscribed, delivered });
      await Bun.sleep(3);
    }
  })();
  return {
    sent,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** The names of the Pods whose faults `messages` carry, in order. */
function reportedNames(messages: readonly ConnectionMessage[]): string[] {
  return messages.flatMap((m) => (m.type === "event" ? [m.event.resource.name] : []));
}

/**
 * Stops `injector`, then checks that faults were sent while subscribed but before the stream was
 * attached (the window is real), and that the backfill closed it: every fault sent while subscribed is
 * reported.
 */
async function expectWindowBackfilled(
  injector: ReturnType<typeof injectWhileConnecting>,
  messages: readonly ConnectionMessage[],
): Promise<void> {
  await injector.stop();
  const lostOnTheWire = injector.sent.filter((s) => s.subscribed && s.delivered === 0);
  expect(lostOnTheWire.length).toBeGreaterThan(0);
  const wanted = injector.sent.filter((s) => s.subscribed).map((s) => s.name);
  await waitFor("every subscribed fault reported", () =>
    wanted.every((name) => reportedNames(messages).includes(name)),
  );
}

/**
 * A connection to simulated cluster `cluster` through a proxy delaying its event stream's GET by
 * `delayGetMs` (and every request by `delayMs`), with faults injected every few ms from before it starts;
 * not started yet.
 */
function lateStreamSetup(cluster: string, delayGetMs: number, delayMs = 0) {
  const proxy = startBlackholeProxy(sim.endpoint(cluster), { delayGetMs, delayMs });
  const messages: ConnectionMessage[] = [];
  const connection = new ClusterConnection(
    { name: cluster, mcp_endpoint: proxy.url, labels: {} },
    settings,
    (m) => messages.push(m),
  );
  const injector = injectWhileConnecting(cluster);
  const stop = async () => {
    await injector.stop();
    await connection.stop();
    await proxy.stop();
  };
  return { messages, connection, injector, stop };
}

test("a server that flushes its stream headers loses no event: subscribed only once the stream is open, even when the stream's GET comes late", async () => {
  // A link with 60 ms of latency, and the stream's GET reaches the server 100 ms later still (as a GET
  // paying a handshake would; after events_subscribe would, were the connection to wait only the
  // minimum): the wait for the stream scales with setLevel's round trip (2 × ~60 ms), so the connection
  // sees the stream open before subscribing. Subscribing before it is attached would lose what the
  // server sends meanwhile.
  expect(streamOpenGraceMs(60)).toBeGreaterThan(100);
  expect(2 * 60 + MIN_STREAM_OPEN_GRACE_MS).toBeLessThan(60 + 100);
  const { messages, connection, injector, stop } = lateStreamSetup("late", 100, 60);
  connection.start();
  try {
    await waitFor("late active", () => connection.status === "active", 5000);
    await Bun.sleep(100);
    await injector.stop();
    const whileSubscribed = injector.sent.filter((s) => s.subscribed);
    expect(whileSubscribed.length).toBeGreaterThan(10);
    // Every fault the server had a subscription for went onto an open stream …
    expect(whileSubscribed.filter((s) => s.delivered !== 1)).toEqual([]);
    // … and reached the connection, once each.
    const wanted = whileSubscribed.map((s) => s.name);
    await waitFor("every subscribed fault reported", () =>
      wanted.every((name) => reportedNames(messages).includes(name)),
    );
    const reported = reportedNames(messages);
    expect(new Set(reported).size).toBe(reported.length);
  } finally {
    await stop();
  }
});

test("a server that flushes its stream headers after the wait for them loses nothing: what it sent before the stream was attached is backfilled once it opens, each fault once", async () => {
  // The stream's GET reaches the server 1 s late, far later than the longest wait for it: the connection
  // subscribes before the stream is attached, and lists what it missed once the stream opens.
  expect(STREAM_OPEN_GRACE_MS).toBeLessThan(1000);
  const { messages, connection, injector, stop } = lateStreamSetup("flushed-late", 1000);
  connection.start();
  try {
    await waitFor("flushed-late active", () => connection.status === "active", 5000);
    await Bun.sleep(1200); // the stream opens < 1 s after subscribing: its backfill follows at once
    await expectWindowBackfilled(injector, messages);
    const reported = reportedNames(messages); // once each
    expect(new Set(reported).size).toBe(reported.length);
  } finally {
    await stop();
  }
});

test("the wait for a stream's headers scales with the link's round trip, within its bounds", () => {
  expect(streamOpenGraceMs(0)).toBe(MIN_STREAM_OPEN_GRACE_MS);
  expect(streamOpenGraceMs(1)).toBe(MIN_STREAM_OPEN_GRACE_MS);
  expect(streamOpenGraceMs(40)).toBe(40 * STREAM_OPEN_GRACE_ROUND_TRIPS);
  expect(streamOpenGraceMs(10_000)).toBe(STREAM_OPEN_GRACE_MS);
  expect(streamOpenGraceMs(Number.NaN)).toBe(MIN_STREAM_OPEN_GRACE_MS);
});

test("a server that holds its stream headers does not hold start-up: active at once, and what it sent before the stream was attached is backfilled", async () => {
  // Holds the headers until the first event, and the stream's GET arrives 400 ms late: the connection
  // cannot see the stream open, subscribes anyway and lists what it may have missed.
  const { messages, connection, injector, stop } = lateStreamSetup("held", 400);
  const started = performance.now();
  connection.start();
  try {
    await waitFor("held active", () => connection.status === "active", 5000);
    // Not the 2 s the connection used to wait for proof of the stream.
    expect(performance.now() - started).toBeLessThan(STREAM_OPEN_GRACE_MS + 500);
    await Bun.sleep(UNCONFIRMED_BACKFILL_MS + 300);
    await expectWindowBackfilled(injector, messages);
  } finally {
    await stop();
  }
});

test("a fault backfilled after an outage is reported once, though the next outage's backfill lists it again", async () => {
  const messages: ConnectionMessage[] = [];
  const connection = new ClusterConnection(
    { name: "again", mcp_endpoint: sim.endpoint("again"), labels: {} },
    settings,
    (m) => messages.push(m),
    new StartupGate(1),
  );
  // Stamped ahead (the server prints whole seconds): every backfill from now on lists them.
  const ahead = new Date(Date.now() + 10_000).toISOString().replace(/\.\d{3}Z$/, "Z");
  const outage = async (fault: string) => {
    await sim.down("again");
    await waitFor("again down", () => connection.status !== "active", 5000);
    expect(sim.inject("again", { name: fault, timestamp: ahead })).toBe(0);
    await sim.up("again");
    await waitFor(`${fault} backfilled`, () => reportedNames(messages).includes(fault), 5000);
  };
  connection.start();
  try {
    await waitFor("again active", () => connection.status === "active", 5000);
    await outage("first-outage");
    await outage("second-outage"); // its backfill lists both faults, in one answer
    expect(reportedNames(messages)).toEqual(["first-outage", "second-outage"]);
  } finally {
    await connection.stop();
  }
});

test("a connection stopped while it waits to reconnect ends the session it lost: its subscription does not outlive it on the server", async () => {
  const messages: ConnectionMessage[] = [];
  const connection = new ClusterConnection(
    { name: "rotated", mcp_endpoint: sim.endpoint("rotated"), labels: {}, auth: { bearer_token: "tok-1" } },
    // Pings every 0.2 s; the next attempt 30 s after a failure: the stop comes while it waits.
    {
      ...connectionSettings({ interval_seconds: 0.2, timeout_seconds: 2 }, 1),
      reconnect: { initial_seconds: 30, max_seconds: 30 },
    },
    (m) => messages.push(m),
  );
  const failed = () => messages.some((m) => m.type === "status" && m.status === "failed");
  connection.start();
  try {
    await waitFor("subscribed", () => sim.stats("rotated").subscriptions === 1);
    // The server now wants another token: the next ping is refused and the session lost, but the server
    // keeps it, with its subscription.
    sim.setBearerToken("rotated", "tok-2");
    await waitFor("the session lost, waiting to reconnect", failed);
    expect(sim.stats("rotated")).toMatchObject({ sessions: 1, subscriptions: 1 });
    sim.setBearerToken("rotated", "tok-1");
  } finally {
    await connection.stop();
  }
  expect(sim.stats("rotated")).toMatchObject({ sessions: 0, subscriptions: 0 });
});
