/** ClusterConnection on its own (no worker thread), against real simulator servers. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type Simulator, startSimulator } from "../../scripts/sim.ts";
import { ClusterConnection, GATE_SLOT_MAX_MS } from "../../src/worker/connection.ts";
import { Gate } from "../../src/worker/gate.ts";
import type { ConnectionSettings, WorkerToMain } from "../../src/worker/messages.ts";
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
  sim = await startSimulator({ clusters: ["slow", "fast"] });
  proxy = startBlackholeProxy(sim.endpoint("slow"));
  proxy.blackhole(true);
});
afterAll(async () => {
  await proxy.stop();
  await sim.stop();
});

test("a hanging server does not hold the start-up gate: the next cluster connects within the slot limit", async () => {
  const gate = new Gate(1);
  const messages: WorkerToMain[] = [];
  const emit = (m: WorkerToMain) => messages.push(m);
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
