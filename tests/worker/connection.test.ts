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
import { Gate } from "../../src/runtime/gate.ts";
import { ClusterConnection, GATE_SLOT_MAX_MS } from "../../src/worker/connection.ts";
import type { ConnectionMessage, ConnectionSettings, StatusMessage } from "../../src/worker/protocol.ts";
import { type BlackholeProxy, startBlackholeProxy } from "../helpers/proxy.ts";
import { waitFor } from "../helpers/wait.ts";

const settings: ConnectionSettings = {
  subscribe: { mode: "faults", poll_interval_seconds: 15 },
  reconnect: { initial_seconds: 0.05, max_seconds: 0.2 },
  ping: { interval_seconds: 5, timeout_seconds: 10 },
  log_level: "error",
  connect_concurrency: 1,
};

let sim: Simulator;
let proxy: BlackholeProxy;
beforeAll(async () => {
  sim = await startSimulator({ clusters: ["slow", "fast", "full"] });
  proxy = startBlackholeProxy(sim.endpoint("slow"));
  proxy.blackhole(true);
});
afterAll(async () => {
  await proxy.stop();
  await sim.stop();
});

test("a hanging server does not hold the start-up gate: the next cluster connects within the slot limit", async () => {
  const gate = new Gate(1);
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
    // Waited for the slow one's slot (≈ GATE_SLOT_MAX_MS), far less than its 10 s request timeout.
    expect(waited).toBeGreaterThanOrEqual(GATE_SLOT_MAX_MS - 50);
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
