/**
 * Store contract, dedup: a repeat joins its fault's incident within the sliding window, whatever its
 * status; a skip routed to triage is promoted; results come in batch order; two writers ingesting the
 * same faults at once make one incident per fault with exact counts. Runs on SQLite and PostgreSQL.
 */
import { expect, test } from "bun:test";
import { contractSuite } from "./backends.ts";
import { claim, eventAt, item, T0, testClock } from "./fixtures.ts";

contractSuite("store contract: dedup", (ctx) => {
  test("a repeat inside the window joins the incident; the window slides with last_seen", async () => {
    const clock = testClock();
    const store = await ctx().open({ now: clock.now, dedupWindowSeconds: 300 });
    const [first] = await store.ingest([item(eventAt(0))]);
    const [repeat] = await store.ingest([item(eventAt(250))]);
    expect(first?.created).toBe(true);
    expect(repeat?.created).toBe(false);
    expect(repeat?.queued).toBe(false);
    expect(repeat?.incident.id).toBe(first?.incident.id ?? "");
    expect(repeat?.incident.count).toBe(2);
    expect(repeat?.incident.last_seen).toBe(new Date(T0 + 250_000).toISOString());
    // 500 s after the first event, but 250 s after last_seen: still the same incident (sliding).
    const [slid] = await store.ingest([item(eventAt(500))]);
    expect(slid?.incident.id).toBe(first?.incident.id ?? "");
    // Past the window from last_seen: a new incident.
    const [fresh] = await store.ingest([item(eventAt(801))]);
    expect(fresh?.created).toBe(true);
    expect(fresh?.incident.id).not.toBe(first?.incident.id ?? "");
    expect((await store.list()).map((i) => i.count)).toEqual([1, 3]);
  });

  test("one batch: repeats group, other faults and clusters do not; results and event ids in batch order", async () => {
    const store = await ctx().open();
    const batch = [
      item(eventAt(0, { fault_id: "a" })),
      item(eventAt(1, { fault_id: "b" })),
      item(eventAt(2, { fault_id: "a", severity: "info" })),
      item(eventAt(3, { fault_id: "a", cluster: "prod-us" })),
      item(eventAt(4, { fault_id: "b", severity: "warning" })),
    ];
    const results = await store.ingest(batch);
    expect(
      results.map((r) => [r.incident.cluster, r.incident.fault_id, r.created, r.incident.count]),
    ).toEqual([
      ["prod-eu", "a", true, 1],
      ["prod-eu", "b", true, 1],
      ["prod-eu", "a", false, 2],
      ["prod-us", "a", true, 1],
      ["prod-eu", "b", false, 2],
    ]);
    const ids = results.map((r) => r.event_id);
    expect([...ids].sort((x, y) => x - y)).toEqual(ids);
    expect(new Set(ids).size).toBe(5);
    expect(await store.list()).toHaveLength(3);
    const [a] = await store.list({ cluster: "prod-eu", limit: 1 });
    expect(a?.fault_id).toBe("b");
  });

  test("an incident keeps its worst severity; running and finished incidents still absorb repeats", async () => {
    const store = await ctx().open();
    await store.ingest([item(eventAt(0, { severity: "warning" }))]);
    const [worse] = await store.ingest([item(eventAt(1, { severity: "critical" }))]);
    const [milder] = await store.ingest([item(eventAt(2, { severity: "info" }))]);
    expect(worse?.incident.severity).toBe("critical");
    expect(milder?.incident.severity).toBe("critical");
    const { run } = await claim(store);
    const [during] = await store.ingest([item(eventAt(3))]);
    expect(during?.created).toBe(false);
    expect(during?.queued).toBe(false);
    expect(during?.incident.status).toBe("running");
    await store.finishRun(run.id, {
      exit_code: 0,
      signal: null,
      timed_out: false,
      interrupted: false,
      error: null,
      started_at: "",
      finished_at: "",
      duration_ms: 1,
      workspace: "",
    });
    const [after] = await store.ingest([item(eventAt(4))]);
    expect(after?.created).toBe(false);
    expect(after?.incident.status).toBe("succeeded");
    expect(after?.incident.count).toBe(5);
    expect(await store.queueDepth()).toBe(0);
  });

  test("skips are recorded with their reason; a repeat routed to triage promotes the skip", async () => {
    const store = await ctx().open();
    const [skipped] = await store.ingest([item(eventAt(0), { action: "skip", reason: "below_threshold" })]);
    expect(skipped?.incident.status).toBe("skipped");
    expect(skipped?.incident.skip_reason).toBe("below_threshold");
    expect(skipped?.queued).toBe(false);
    expect((await store.skipsByCluster()).get("prod-eu")).toEqual({ below_threshold: 1 });
    const [promoted] = await store.ingest([item(eventAt(10))]);
    expect(promoted?.created).toBe(false);
    expect(promoted?.queued).toBe(true);
    expect(promoted?.incident.status).toBe("queued");
    expect(promoted?.incident.skip_reason).toBeNull();
    expect((await store.countsByCluster()).get("prod-eu")).toEqual({ queued: 1 });
    expect((await store.skipsByCluster()).get("prod-eu")).toBeUndefined();
    expect(await store.queueDepth()).toBe(1);
  });

  test("two writers ingesting the same faults at once: one incident per fault, exact counts", async () => {
    const a = await ctx().open({ replica: "replica-a" });
    const b = await ctx().open({ replica: "replica-b" });
    const faults = 40;
    const rounds = 5;
    const batches = Array.from({ length: rounds }, (_, round) =>
      Array.from({ length: faults }, (_, f) =>
        item(eventAt(round, { fault_id: `f${f}`, cluster: `c${f % 4}` })),
      ),
    );
    await Promise.all([
      (async () => {
        for (const batch of batches) await a.ingest(batch);
      })(),
      (async () => {
        for (const batch of [...batches].reverse()) await b.ingest([...batch].reverse());
      })(),
    ]);
    const incidents = await a.list({ limit: 1000 });
    expect(incidents).toHaveLength(faults);
    expect(new Set(incidents.map((i) => `${i.cluster}/${i.fault_id}`)).size).toBe(faults);
    expect(incidents.every((i) => i.count === 2 * rounds)).toBe(true);
    const counts = await b.countsByCluster();
    expect([...counts.values()].reduce((n, c) => n + (c.queued ?? 0), 0)).toBe(faults);
  });
});
