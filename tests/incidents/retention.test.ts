/**
 * Retention on real SQLite files: finished incidents older than `retention.days` go with their events,
 * runs and workspaces; queued and running ones stay whatever their age; the file gives space back; an
 * existing database without incremental vacuum is converted once.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createLegacyDatabase } from "../../scripts/bench-retention.ts";
import { workspacePath } from "../../src/agent/workspace.ts";
import { DB_FILE } from "../../src/incidents/open.ts";
import { PRUNE_BATCH, Retention } from "../../src/incidents/retention.ts";
import { SqliteStore } from "../../src/incidents/store.ts";
import { ingestOne, makeFault, makeOutcome } from "../helpers/fault.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(dir.cleanup);

const DAY = 86_400_000;
const NOW = new Date("2026-11-25T12:00:00.000Z");
const daysAgo = (days: number) => new Date(NOW.getTime() - days * DAY);

/** A store whose clock is `clock.now` (moved by the test). */
function openStore(stateDir: string, clock: { now: Date }): SqliteStore {
  return SqliteStore.open(stateDir, { now: () => clock.now, dedupWindowSeconds: 60, maxQueue: 100_000 });
}

/** One incident of `fault_id` with `events` events at `at`, routed as `decision`. */
function incidentAt(
  store: SqliteStore,
  clock: { now: Date },
  fault_id: string,
  at: Date,
  options: { events?: number; triage?: boolean } = {},
) {
  clock.now = at;
  const decision = options.triage
    ? { action: "triage" as const }
    : { action: "skip" as const, reason: "no_agent" as const };
  let incident = ingestOne(store, makeFault({ fault_id, at, context: "x".repeat(400) }), decision);
  for (let i = 1; i < (options.events ?? 1); i++) {
    incident = ingestOne(
      store,
      makeFault({ fault_id, at: new Date(at.getTime() + i), context: "y".repeat(400) }),
      decision,
    );
  }
  return incident;
}

describe("retention", () => {
  const stateDir = join(dir.path, "state");
  const clock = { now: NOW };
  const store = openStore(stateDir, clock);
  afterAll(() => store.close());

  test("deletes finished incidents older than the window with events, runs and workspaces; never queued or running", async () => {
    const oldSkipped = incidentAt(store, clock, "old-skipped", daysAgo(40), { events: 3 });
    const oldQueued = incidentAt(store, clock, "old-queued", daysAgo(40), { triage: true });
    const oldRunning = incidentAt(store, clock, "old-running", daysAgo(40), { triage: true });
    const oldSucceeded = incidentAt(store, clock, "old-succeeded", daysAgo(40), { triage: true });
    const recentFinish = incidentAt(store, clock, "recent-finish", daysAgo(40), { triage: true });
    const recentSkipped = incidentAt(store, clock, "recent-skipped", daysAgo(5));
    clock.now = daysAgo(40);
    const running = store.markRunning(oldRunning.id, workspacePath(stateDir, oldRunning.id));
    const done = store.markRunning(oldSucceeded.id, workspacePath(stateDir, oldSucceeded.id));
    store.finishRun(done.id, makeOutcome({ workspace: done.workspace }));
    const late = store.markRunning(recentFinish.id, workspacePath(stateDir, recentFinish.id));
    clock.now = daysAgo(1); // its agent finished yesterday: recent activity keeps it
    store.finishRun(late.id, makeOutcome({ workspace: late.workspace }));
    for (const incident of [oldSkipped, oldSucceeded, oldRunning, recentFinish]) {
      mkdirSync(workspacePath(stateDir, incident.id), { recursive: true });
      writeFileSync(join(workspacePath(stateDir, incident.id), "agent.log"), "log");
    }

    const retention = new Retention({ store, stateDir, days: () => 30, now: () => NOW });
    const report = await retention.run();
    expect(report).toMatchObject({ incidents: 2, events: 4, runs: 1, workspaces: 2, converted: false });

    const left = store
      .list()
      .map((i) => i.fault_id)
      .sort();
    expect(left).toEqual(["old-queued", "old-running", "recent-finish", "recent-skipped"]);
    expect(store.get(oldSkipped.id)).toBeNull();
    expect(existsSync(workspacePath(stateDir, oldSkipped.id))).toBe(false);
    expect(existsSync(workspacePath(stateDir, oldSucceeded.id))).toBe(false);
    expect(existsSync(workspacePath(stateDir, oldRunning.id))).toBe(true);
    expect(store.get(oldRunning.id)?.runs.map((r) => r.id)).toEqual([running.id]);
    expect(store.get(oldQueued.id)?.incident.status).toBe("queued");
    expect(store.get(recentSkipped.id)?.events).toHaveLength(1);
    // The per-cluster counts follow the deletions.
    expect(store.countsByCluster().get("prod-eu")).toEqual({
      queued: 1,
      running: 1,
      succeeded: 1,
      skipped: 1,
    });
    expect(await retention.run()).toMatchObject({ incidents: 0 });
  });

  test("days 0 keeps everything", async () => {
    const before = store.list().length;
    expect(await new Retention({ store, stateDir, days: () => 0, now: () => NOW }).run()).toBeNull();
    expect(store.list()).toHaveLength(before);
  });

  test("a new database frees pages incrementally; a large prune shrinks the file", async () => {
    const bigDir = join(dir.path, "big");
    const bigClock = { now: NOW };
    const big = openStore(bigDir, bigClock);
    try {
      expect(big.maintenance.file.space().autoVacuum).toBe("incremental");
      for (let i = 0; i < PRUNE_BATCH * 2 + 10; i++)
        incidentAt(big, bigClock, `f-${i}`, daysAgo(60), { events: 4 });
      incidentAt(big, bigClock, "fresh", daysAgo(1));
      big.maintenance.file.checkpoint();
      const before = statSync(join(bigDir, DB_FILE)).size;
      const report = await new Retention({
        store: big,
        stateDir: bigDir,
        days: () => 30,
        now: () => NOW,
      }).run();
      expect(report?.incidents).toBe(PRUNE_BATCH * 2 + 10);
      expect(report?.reclaimed_bytes).toBeGreaterThan(before / 2);
      const after = statSync(join(bigDir, DB_FILE)).size;
      expect(after).toBeLessThan(before / 2);
      expect(big.maintenance.file.space().freePages).toBe(0);
      expect(big.list().map((i) => i.fault_id)).toEqual(["fresh"]);
    } finally {
      big.close();
    }
  });

  test("an existing database without incremental vacuum is converted once, keeping its data", async () => {
    const oldDir = join(dir.path, "legacy");
    createLegacyDatabase(oldDir);
    const legacyClock = { now: NOW };
    const reopened = openStore(oldDir, legacyClock);
    try {
      expect(reopened.maintenance.file.space().autoVacuum).toBe("none");
      incidentAt(reopened, legacyClock, "kept", daysAgo(2));
      const retention = new Retention({ store: reopened, stateDir: oldDir, days: () => 30, now: () => NOW });
      expect(await retention.run()).toMatchObject({ converted: true, incidents: 0 });
      expect(reopened.maintenance.file.space().autoVacuum).toBe("incremental");
      expect(reopened.list().map((i) => i.fault_id)).toEqual(["kept"]);
      expect(await retention.run()).toMatchObject({ converted: false });
    } finally {
      reopened.close();
    }
  });
});
