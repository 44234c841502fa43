/**
 * Store contract, the queue: fair order (oldest first within a cluster, the cluster served least
 * recently first), `max_queue` (queue_full, counted; the bound holds across writers), and claims: each
 * queued incident goes to exactly one of several concurrent claimers (two stores on one SQLite file;
 * three clients on PostgreSQL). Runs on SQLite and PostgreSQL.
 */
import { expect, test } from "bun:test";
import { contractSuite } from "./backends.ts";
import { claim, claimAll, eventAt, item } from "./fixtures.ts";

contractSuite("store contract: queue", (ctx, backend) => {
  test("one noisy cluster cannot starve another; within a cluster the oldest goes first", async () => {
    const store = await ctx().open();
    const noisy = Array.from({ length: 5 }, (_, i) =>
      item(eventAt(i, { cluster: "noisy", fault_id: `n${i}` })),
    );
    await store.ingest([...noisy, item(eventAt(10, { cluster: "quiet", fault_id: "q0" }))]);
    const order: string[] = [];
    for (let i = 0; i < 6; i++) {
      const { incident, run, event } = await claim(store);
      order.push(`${incident.cluster}/${incident.fault_id}`);
      expect(incident.status).toBe("running");
      expect(incident.attempts).toBe(1);
      expect(incident.workspace).toBe(`/state/incidents/${incident.id}`);
      expect(run.status).toBe("running");
      expect(run.attempt).toBe(1);
      expect(run.incident_id).toBe(incident.id);
      expect(event?.fault_id).toBe(incident.fault_id);
    }
    expect(order.slice(0, 2).sort()).toEqual(["noisy/n0", "quiet/q0"]);
    expect(order.filter((o) => o.startsWith("noisy/"))).toEqual([
      "noisy/n0",
      "noisy/n1",
      "noisy/n2",
      "noisy/n3",
      "noisy/n4",
    ]);
    expect(await store.claimNext(() => "/x")).toBeNull();
    expect(await store.queueDepth()).toBe(0);
    expect((await store.countsByCluster()).get("noisy")).toEqual({ running: 5 });
  });

  test("past max_queue new incidents are skipped as queue_full and counted; a claim frees a place", async () => {
    const store = await ctx().open({ maxQueue: 2 });
    const results = await store.ingest(
      Array.from({ length: 4 }, (_, i) => item(eventAt(i, { fault_id: `f${i}` }))),
    );
    expect(results.map((r) => [r.incident.status, r.incident.skip_reason, r.queued])).toEqual([
      ["queued", null, true],
      ["queued", null, true],
      ["skipped", "queue_full", false],
      ["skipped", "queue_full", false],
    ]);
    expect(await store.queueDepth()).toBe(2);
    expect((await store.skipsByCluster()).get("prod-eu")).toEqual({ queue_full: 2 });
    await claim(store);
    // A queue_full skip repeated with room again is promoted.
    const [promoted] = await store.ingest([item(eventAt(20, { fault_id: "f2" }))]);
    expect(promoted?.queued).toBe(true);
    expect(promoted?.incident.status).toBe("queued");
    expect(await store.queueDepth()).toBe(2);
    const [full] = await store.ingest([item(eventAt(21, { fault_id: "f9" }))]);
    expect(full?.incident.skip_reason).toBe("queue_full");
  });

  test("max_queue holds across two writers sharing the store", async () => {
    const a = await ctx().open({ maxQueue: 30, replica: "replica-a" });
    const b = await ctx().open({ maxQueue: 30, replica: "replica-b" });
    const batch = (prefix: string, round: number) =>
      Array.from({ length: 10 }, (_, i) => item(eventAt(round, { fault_id: `${prefix}${round}-${i}` })));
    await Promise.all([
      (async () => {
        for (let round = 0; round < 4; round++) await a.ingest(batch("a", round));
      })(),
      (async () => {
        for (let round = 0; round < 4; round++) await b.ingest(batch("b", round));
      })(),
    ]);
    expect(await a.queueDepth()).toBe(30);
    expect((await b.skipsByCluster()).get("prod-eu")).toEqual({ queue_full: 50 });
  });

  test("concurrent claimers on separate stores each get a different incident, every one exactly once", async () => {
    const claimers = backend.name === "postgres" ? 3 : 2;
    const stores = [await ctx().open({ replica: "replica-0" })];
    for (let i = 1; i < claimers; i++) stores.push(await ctx().open({ replica: `replica-${i}` }));
    const total = 90;
    await stores[0]?.ingest(
      Array.from({ length: total }, (_, i) => item(eventAt(i, { cluster: `c${i % 7}`, fault_id: `f${i}` }))),
    );
    const got = await Promise.all(stores.map((store) => claimAll(store)));
    const all = got.flat();
    expect(all).toHaveLength(total);
    expect(new Set(all).size).toBe(total);
    // They really claimed side by side (each got a share), not one after the other.
    expect(got.every((mine) => mine.length > 0)).toBe(true);
    const detail = await stores[0]?.get(all[0] ?? "");
    expect(detail?.runs).toHaveLength(1);
    expect((await stores[0]?.countsByCluster())?.get("c0")).toEqual({ running: 13 });
  });
});
