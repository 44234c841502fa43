/**
 * Store contract, upkeep: retention deletes finished incidents past the cutoff with everything about
 * them (never queued or running ones), liveness is recorded and read back, recent events come newest
 * first, and migrations: a fresh store gets every version, a reopen changes nothing, and stores opening
 * at once migrate once. Runs on SQLite and PostgreSQL.
 */
import { expect, test } from "bun:test";
import { contractSuite } from "./backends.ts";
import { claim, eventAt, item, outcome, plannerFor, T0, testClock } from "./fixtures.ts";

const DAY = 86_400;

contractSuite("store contract: upkeep", (ctx, backend) => {
  test("retention deletes old finished incidents with their events, runs and messages, nothing else", async () => {
    const clock = testClock();
    const store = await ctx().open({ now: clock.now, notify: plannerFor("hook") });
    await store.ingest([
      item(eventAt(0, { fault_id: "done" })),
      item(eventAt(1, { fault_id: "done" })),
      item(eventAt(2, { fault_id: "waiting" })),
      item(eventAt(3, { fault_id: "skipped" }), { action: "skip", reason: "below_threshold" }),
    ]);
    const done = await claim(store);
    expect(done.incident.fault_id).toBe("done");
    await store.finishRun(done.run.id, outcome());
    clock.set(10 * DAY);
    await store.ingest([
      item(eventAt(10 * DAY, { fault_id: "recent" }), { action: "skip", reason: "no_agent" }),
    ]);
    const cutoff = new Date(T0 + 5 * DAY * 1000);
    const first = await store.maintenance.pruneFinished(cutoff, 1);
    const second = await store.maintenance.pruneFinished(cutoff, 10);
    const pruned = [...first.ids, ...second.ids];
    expect(first.ids).toHaveLength(1);
    expect(pruned).toHaveLength(2);
    expect(first.events + second.events).toBe(3);
    expect(first.runs + second.runs).toBe(1);
    expect(await store.get(done.incident.id)).toBeNull();
    const left = (await store.list()).map((i) => i.fault_id).sort();
    expect(left).toEqual(["recent", "waiting"]);
    expect((await store.countsByCluster()).get("prod-eu")).toEqual({ queued: 1, skipped: 1 });
    const remaining = new Set((await store.list()).map((i) => i.id));
    const messages = await store.outbox.list();
    expect(messages).toHaveLength(2);
    expect(messages.every((n) => remaining.has(n.incident_id))).toBe(true);
    expect((await store.maintenance.pruneFinished(cutoff, 10)).ids).toEqual([]);
    // The fault of a pruned incident starts afresh.
    const [again] = await store.ingest([item(eventAt(10 * DAY, { fault_id: "done" }))]);
    expect(again?.created).toBe(true);
  });

  test("liveness is recorded per cluster (the latest wins) and read back in cluster order", async () => {
    const store = await ctx().open();
    await store.maintenance.recordLiveness([
      { cluster: "b", last_alive_ms: T0, session_id: "s-1" },
      { cluster: "a", last_alive_ms: T0 + 5, session_id: null },
    ]);
    await store.maintenance.recordLiveness([{ cluster: "b", last_alive_ms: T0 + 9, session_id: "s-2" }]);
    await store.maintenance.recordLiveness([]);
    expect(await store.maintenance.liveness()).toEqual([
      { cluster: "a", last_alive_ms: T0 + 5, session_id: null },
      { cluster: "b", last_alive_ms: T0 + 9, session_id: "s-2" },
    ]);
  });

  test("recentEvents: the newest event of each of a cluster's incidents since a moment, newest first, at most the limit", async () => {
    const store = await ctx().open();
    await store.ingest([0, 10, 20, 30].map((s) => item(eventAt(s, { fault_id: `f${s % 20}` }))));
    await store.ingest([item(eventAt(40, { cluster: "other" }))]);
    const recent = await store.maintenance.recentEvents("prod-eu", T0 + 10_000, 2);
    expect(recent.map((e) => e.received_at)).toEqual([
      new Date(T0 + 30_000).toISOString(),
      new Date(T0 + 20_000).toISOString(),
    ]);
    expect(recent[0]?.raw).toEqual({ sent: ["as", "is"] });
    expect(await store.maintenance.recentEvents("prod-eu", T0 + 31_000, 5)).toEqual([]);
    // One noisy fault's repeats do not crowd the others out: one event per incident (its newest).
    await store.ingest([41, 42, 43, 44, 45].map((s) => item(eventAt(s, { fault_id: "noisy" }))));
    const each = await store.maintenance.recentEvents("prod-eu", T0 + 10_000, 3);
    expect(each.map((e) => [e.fault_id, e.received_at])).toEqual([
      ["noisy", new Date(T0 + 45_000).toISOString()],
      ["f10", new Date(T0 + 30_000).toISOString()],
      ["f0", new Date(T0 + 20_000).toISOString()],
    ]);
  });

  test("migrations: a fresh store gets every version; a reopen changes nothing; stores opening at once migrate once", async () => {
    const all = Array.from({ length: backend.schemaVersion }, (_, i) => i + 1);
    const [a, b, c] = await Promise.all([ctx().open(), ctx().open(), ctx().open()]);
    expect(await ctx().location.appliedVersions()).toEqual(all);
    await a?.ingest([item(eventAt(0))]);
    await a?.close();
    const reopened = await ctx().open();
    expect(await ctx().location.appliedVersions()).toEqual(all);
    expect(await reopened.list()).toHaveLength(1);
    expect(await b?.list()).toHaveLength(1);
    expect(await c?.queueDepth()).toBe(1);
  });
});
