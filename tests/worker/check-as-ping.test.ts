/**
 * A subscription check that falls due with a ping stands for it (one request instead of two), and its
 * missing answer loses the session within the ping's bound. ClusterConnection on its own, against the
 * simulator (which counts the pings it answers) and a proxy that can go silent.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type Simulator, startSimulator } from "../../scripts/sim/index.ts";
import { ClusterConnection } from "../../src/worker/connection.ts";
import type { ConnectionMessage, ConnectionSettings } from "../../src/worker/protocol.ts";
import { MAX_SLACK_MS } from "../../src/worker/shared-clock.ts";
import { connectionSettings } from "../helpers/connection-settings.ts";
import { type BlackholeProxy, startBlackholeProxy } from "../helpers/proxy.ts";
import { waitFor } from "../helpers/wait.ts";

/** Pings and checks every 0.3 s (both on the connection's clock, so they fall due together). */
function pairedSettings(timeoutSeconds: number): ConnectionSettings {
  const settings = connectionSettings({ interval_seconds: 0.3, timeout_seconds: timeoutSeconds }, 1);
  return { ...settings, subscribe: { ...settings.subscribe, check_interval_seconds: 0.3 } };
}

let sim: Simulator;
let proxy: BlackholeProxy;
beforeAll(async () => {
  sim = await startSimulator({
    clusters: [{ name: "paired" }, { name: "silenced" }, { name: "unlisted", listSubscriptions: false }],
  });
  proxy = startBlackholeProxy(sim.endpoint("silenced"));
});
afterAll(async () => {
  await proxy.stop();
  await sim.stop();
});

test("a check due with a ping stands for it: the server sees the checks and no pings, the connection stays active", async () => {
  const messages: ConnectionMessage[] = [];
  const connection = new ClusterConnection(
    { name: "paired", mcp_endpoint: sim.endpoint("paired"), labels: {} },
    pairedSettings(5),
    (m) => messages.push(m),
  );
  connection.start();
  try {
    await waitFor("active", () => connection.status === "active", 5000);
    const before = sim.stats("paired");
    await Bun.sleep(2000);
    const after = sim.stats("paired");
    const checks = after.listSubscriptionsCalls - before.listSubscriptionsCalls;
    const pings = after.pings - before.pings;
    expect(checks).toBeGreaterThanOrEqual(4);
    // Without the check standing for it, every check would come with a ping of its own.
    expect(pings).toBeLessThanOrEqual(1);
    expect(connection.status).toBe("active");
    expect(messages.filter((m) => m.type === "alive").length).toBeGreaterThanOrEqual(1);
  } finally {
    await connection.stop();
  }
});

test("a server without events_list_subscriptions is pinged as before", async () => {
  const connection = new ClusterConnection(
    { name: "unlisted", mcp_endpoint: sim.endpoint("unlisted"), labels: {} },
    pairedSettings(5),
    () => {},
  );
  connection.start();
  try {
    await waitFor("active", () => connection.status === "active", 5000);
    const before = sim.stats("unlisted").pings;
    await Bun.sleep(1500);
    expect(sim.stats("unlisted").pings - before).toBeGreaterThanOrEqual(3);
    expect(connection.status).toBe("active");
  } finally {
    await connection.stop();
  }
});

test("a check standing for a ping that gets no answer loses the session within the ping's bound", async () => {
  // A timeout shorter than the interval: each check has its answer (or none) before the next falls due,
  // so only the check can notice the silence (the pings all have a check standing for them).
  const settings = pairedSettings(0.25);
  const messages: ConnectionMessage[] = [];
  const connection = new ClusterConnection(
    { name: "silenced", mcp_endpoint: proxy.url, labels: {} },
    settings,
    (m) => messages.push(m),
  );
  connection.start();
  try {
    await waitFor("active", () => connection.status === "active", 5000);
    await waitFor("a check answered", () => sim.stats("silenced").listSubscriptionsCalls >= 2, 5000);
    proxy.blackhole(true);
    const silencedAt = performance.now();
    const failed = await waitFor(
      "failed",
      () => messages.find((m) => m.type === "status" && m.status === "failed"),
      5000,
    );
    const waited = performance.now() - silencedAt;
    expect(failed.type === "status" && failed.error).toStartWith("ping failed: no answer within 0.25s");
    // The ping's bound: its interval, the clock's slack and its timeout (plus scheduling on a busy machine).
    const boundMs =
      settings.ping.interval_seconds * 1000 +
      Math.min(MAX_SLACK_MS, settings.ping.interval_seconds * 100) +
      settings.ping.timeout_seconds * 1000;
    expect(waited).toBeLessThan(boundMs + 400);
  } finally {
    proxy.blackhole(false);
    await connection.stop();
  }
});
