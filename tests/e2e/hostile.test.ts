/**
 * Hostile servers, end to end: real simulator servers writing hostile bytes onto their event streams,
 * real worker threads (several clusters on ONE worker, so a crash would take the others with it), a
 * real store. Nothing a server sends may crash the worker or cost another cluster an event.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { FaultEvent } from "../../src/events/fault.ts";
import { setLogSink } from "../../src/log.ts";
import { type Fleet, startFleet } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";

const GOOD = ["good-1", "good-2"];
const EVIL = "evil";

/** The stored events of `cluster`'s incidents whose resource name starts with `prefix`. */
async function storedEvents(fleet: Fleet, cluster: string, prefix: string): Promise<FaultEvent[]> {
  const store = fleet.app.store;
  if (!store) throw new Error("no store");
  const incidents = (await store.list({ cluster, limit: 1000 })).filter((incident) =>
    incident.resource.name.startsWith(prefix),
  );
  const details = await Promise.all(incidents.map((incident) => store.get(incident.id)));
  return details.flatMap((detail) => detail?.events.map((e) => e.event) ?? []);
}

describe("hostile servers, several clusters on one worker", () => {
  let fleet: Fleet;
  const logs: Record<string, unknown>[] = [];
  let restoreSink: (line: string) => void;

  beforeAll(async () => {
    restoreSink = setLogSink((line) => logs.push(JSON.parse(line)));
    fleet = await startFleet({
      clusters: [EVIL, ...GOOD],
      workersMax: 1,
      // No agents: this is about what reaches the store.
      clusterExtra: Object.fromEntries([EVIL, ...GOOD].map((name) => [name, "    triage: false\n"])),
    });
    await fleet.waitActive();
  });
  afterAll(async () => {
    await fleet?.stop();
    setLogSink(restoreSink);
  });

  const received = (name: string): number => fleet.app.registry.get(name)?.event_count ?? 0;

  test("a notification nested 100,000 levels deep is dropped and counted; the other clusters lose nothing", async () => {
    expect(fleet.app.supervisor.workerCount).toBe(1);
    const before = Object.fromEntries(GOOD.map((name) => [name, received(name)]));
    const perCluster = 300;
    // Faults from the healthy clusters keep flowing while the hostile one sends three deep payloads.
    const hostile = (async () => {
      let delivered = 0;
      for (let i = 0; i < 3; i++)
        delivered += await fleet.sim.injectHostile(EVIL, { kind: "deep", depth: 100_000 });
      return delivered;
    })();
    for (let i = 0; i < perCluster; i++) {
      for (const name of GOOD) fleet.sim.inject(name, { name: `burst-${i}`, severity: "critical" });
      if (i % 50 === 0) await Bun.sleep(5);
    }
    expect(await hostile).toBe(3);
    await waitFor("three too_deep drops", () => fleet.app.dropped.too_deep === 3, 10_000);
    await waitFor(
      "every healthy fault received",
      () => GOOD.every((name) => received(name) === (before[name] ?? 0) + perCluster),
      10_000,
    );
    // The worker never died: no restart, no cluster left active.
    expect(fleet.app.supervisor.restarts).toEqual([0]);
    for (const name of [EVIL, ...GOOD]) expect(fleet.app.registry.get(name)?.status).toBe("active");
    expect(fleet.app.dropped.worker_crashed).toBe(0);
    // Logged with the cluster's name.
    const line = logs.find((l) => l.msg === "notification nested too deep dropped");
    expect(line).toMatchObject({ cluster: EVIL, reason: "too_deep", stage: "source" });
    // The hostile cluster's own next fault still arrives.
    const evilBefore = received(EVIL);
    fleet.sim.inject(EVIL, { name: "after-deep" });
    await waitFor("evil's next fault", () => received(EVIL) === evilBefore + 1);
  }, 30_000);

  test("an oversized notification and a 100 MB SSE line are refused without being held; unparsable lines are counted", async () => {
    const oversized = fleet.app.dropped.oversized;
    const started = performance.now();
    expect(await fleet.sim.injectHostile(EVIL, { kind: "huge", bytes: 2 * 1024 * 1024 })).toBe(1);
    expect(await fleet.sim.injectHostile(EVIL, { kind: "line", bytes: 100 * 1024 * 1024 })).toBe(1);
    await waitFor("two oversized drops", () => fleet.app.dropped.oversized === oversized + 2, 20_000);
    const seconds = (performance.now() - started) / 1000;
    const unparsable = fleet.app.dropped.unparsable;
    await fleet.sim.injectHostile(EVIL, { kind: "garbage", text: "this is { not json" });
    await fleet.sim.injectHostile(EVIL, { kind: "garbage", text: '{"json":"but not JSON-RPC"}' });
    await waitFor("two unparsable drops", () => fleet.app.dropped.unparsable === unparsable + 2);
    const evilBefore = received(EVIL);
    fleet.sim.inject(EVIL, { name: "after-line" });
    await waitFor("evil's next fault", () => received(EVIL) === evilBefore + 1);
    expect(fleet.app.registry.get(EVIL)?.status).toBe("active");
    expect(fleet.app.supervisor.restarts).toEqual([0]);
    // The memory check: the 100 MB line went through in chunks and was never buffered as one.
    expect(process.memoryUsage().rss).toBeLessThan(1024 * 1024 * 1024);
    console.log(`refused 2 MiB + 100 MiB in ${seconds.toFixed(2)} s`);
  }, 60_000);

  test("long strings are cut with a marker; a bad timestamp becomes the received time, flagged", async () => {
    fleet.sim.inject(EVIL, {
      name: "long-context",
      context: "y".repeat(200_000),
      timestamp: "not-a-time",
    });
    await waitFor(
      "long-context stored",
      async () => (await storedEvents(fleet, EVIL, "long-context")).length === 1,
    );
    const [event] = await storedEvents(fleet, EVIL, "long-context");
    expect(event?.context).toBe(`${"y".repeat(64 * 1024)}…[truncated: 200000 chars]`);
    expect(JSON.stringify(event?.raw)).toContain("…[truncated: 200000 chars]");
    expect(event?.timestamp_source).toBe("received");
    expect(event?.timestamp).toBe(event?.received_at ?? "");
  });

  test("a 1 MB subscription_error is cut before it reaches health and logs", async () => {
    const error = `watch failed: ${"z".repeat(1_000_000)}`;
    expect(fleet.sim.subscriptionError(GOOD[0] ?? "", error)).toBe(1);
    await waitFor(
      "subscription error shown",
      () => fleet.app.registry.get(GOOD[0] ?? "")?.subscription_error,
    );
    const shown = fleet.app.registry.get(GOOD[0] ?? "")?.subscription_error ?? "";
    expect(shown.length).toBeLessThan(1100);
    expect(shown).toEndWith(`…[truncated: ${error.length} chars]`);
    const line = logs.find((l) => l.msg === "server reports its event watch failing");
    expect(String(line?.error).length).toBeLessThan(1100);
  });

  test("a worker that dies anyway: the events it held are counted and logged by cluster; it comes back", async () => {
    const good = GOOD[0] ?? "";
    expect(fleet.app.dropped.worker_crashed).toBe(0);
    fleet.app.supervisor.failWorker(0);
    await Bun.sleep(50);
    fleet.sim.inject(good, { name: "held-when-crashed" });
    await waitFor("worker_crashed counted", () => fleet.app.dropped.worker_crashed === 1);
    const line = logs.find((l) => l.msg === "events lost: their worker crashed before sending them");
    expect(line).toMatchObject({ cluster: good, events: 1, reason: "worker_crashed", stage: "source" });
    await waitFor("worker restarted", () => fleet.app.supervisor.restarts[0] === 1);
    await fleet.waitActive();
  }, 20_000);
});
