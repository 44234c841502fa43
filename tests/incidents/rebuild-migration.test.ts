import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { faultKey } from "../../src/incidents/fault-key.ts";
import { DB_FILE } from "../../src/incidents/open.ts";
import {
  MIGRATIONS,
  migrate,
  rebuildIncidentsForIngest,
  SCHEMA_VERSION,
  schemaVersion,
} from "../../src/incidents/schema.ts";
import { SqliteStore } from "../../src/incidents/store.ts";
import type { SqlDatabase, SqliteDriver } from "../../src/runtime/sqlite.ts";
import { bunSqlite } from "../../src/runtime/sqlite-bun.ts";
import { nodeSqlite } from "../../src/runtime/sqlite-node.ts";
import { makeFault } from "../helpers/fault.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(dir.cleanup);

/** The schema version just before the incidents rebuild (what the previous faultline wrote). */
const BEFORE = MIGRATIONS.indexOf(rebuildIncidentsForIngest);
const T = Date.parse("2026-11-25T03:05:12.000Z");

/** A database as the previous schema version left it, with two incidents and all that points at them. */
function writePreviousVersion(db: SqlDatabase): void {
  db.exec("PRAGMA foreign_keys = ON");
  for (const migration of MIGRATIONS.slice(0, BEFORE)) {
    if (typeof migration !== "string") throw new Error("migrations before the rebuild are SQL");
    db.exec(migration);
  }
  db.exec(`PRAGMA user_version = ${BEFORE}`);
  db.exec(`
    INSERT INTO incidents (seq, id, cluster, fault_id, fault_type, severity, resource, status, skip_reason, count,
        first_seen_ms, last_seen_ms, attempts, workspace, created_ms, updated_ms) VALUES
      (7, '20261125T030512Z-prod-eu-1f2e3d4c5b6a', 'prod-eu', 'fault-1', 'CrashLoop', 'critical',
        '{"kind":"Pod"}', 'succeeded', NULL, 3, ${T}, ${T}, 1, '/ws/a', ${T}, ${T}),
      (9, '20261125T030512Z-dev-000000000009', 'dev', 'fault-2', 'OOMKilled', 'warning',
        '{"kind":"Pod"}', 'skipped', 'no_agent', 1, ${T}, ${T}, 0, NULL, ${T}, ${T});
    INSERT INTO incident_counts (cluster, status, skip_reason, n) VALUES
      ('prod-eu', 'succeeded', '', 1), ('dev', 'skipped', 'no_agent', 1);
    INSERT INTO events (id, incident_seq, received_ms, event) VALUES
      (1, 7, ${T}, '{"n":1}'), (2, 7, ${T}, '{"n":2}'), (3, 9, ${T}, '{"n":3}');
    INSERT INTO runs (id, incident_seq, attempt, status, exit_code, started_ms, finished_ms, duration_ms, workspace)
      VALUES (4, 7, 1, 'succeeded', 0, ${T}, ${T + 1000}, 1000, '/ws/a');
    INSERT INTO run_outputs (run_id, report, report_status, summary_status) VALUES (4, '# ok', 'ok', 'missing');
    INSERT INTO notification_messages (id, message) VALUES (5, '{}');
    INSERT INTO notifications (id, sink, incident_seq, trigger, idempotency_key, message_id, status,
        next_attempt_ms, created_ms, updated_ms)
      VALUES (6, 'ops', 7, 'triaged', 'k-7', 5, 'sent', ${T}, ${T}, ${T});
  `);
}

const drivers: SqliteDriver[] = [bunSqlite() as SqliteDriver, nodeSqlite()];

describe.each(drivers.map((driver) => [driver.name, driver] as const))("%s", (name, driver) => {
  test("the incidents rebuild keeps every row, seq, id and reference, in migrate()'s transaction", () => {
    const db = driver.open(join(dir.path, `${name.replace(/\W/g, "_")}.db`));
    try {
      writePreviousVersion(db);
      expect(migrate(db)).toEqual({ from: BEFORE, to: SCHEMA_VERSION });
      const q = <Row>(sql: string) =>
        db
          .query<Row, []>(sql)
          .all()
          .map((row) => ({ ...row }));
      expect(q("SELECT seq, id, cluster, status, count, fault_key FROM incidents ORDER BY seq")).toEqual([
        {
          seq: 7,
          id: "20261125T030512Z-prod-eu-1f2e3d4c5b6a",
          cluster: "prod-eu",
          status: "succeeded",
          count: 3,
          fault_key: faultKey("prod-eu", "fault-1"),
        },
        {
          seq: 9,
          id: "20261125T030512Z-dev-000000000009",
          cluster: "dev",
          status: "skipped",
          count: 1,
          fault_key: faultKey("dev", "fault-2"),
        },
      ]);
      expect(q("SELECT id, seq FROM incident_legacy_ids ORDER BY seq")).toEqual([
        { id: "20261125T030512Z-prod-eu-1f2e3d4c5b6a", seq: 7 },
        { id: "20261125T030512Z-dev-000000000009", seq: 9 },
      ]);
      expect(q("SELECT id, incident_seq FROM events ORDER BY id")).toEqual([
        { id: 1, incident_seq: 7 },
        { id: 2, incident_seq: 7 },
        { id: 3, incident_seq: 9 },
      ]);
      expect(q("PRAGMA foreign_key_check")).toEqual([]);
      expect(q("PRAGMA integrity_check")).toEqual([{ integrity_check: "ok" }]);
      expect(q("PRAGMA foreign_keys")).toEqual([{ foreign_keys: 1 }]);
      // The id's UNIQUE and the text dedup index are gone (and the fault-key index a later version drops,
      // DEDUP_SPILL); the rest came back.
      expect(
        q<{ name: string }>(
          "SELECT name FROM sqlite_master WHERE tbl_name = 'incidents' AND type IN ('index', 'trigger') ORDER BY name",
        ).map((row) => row.name),
      ).toEqual([
        "incidents_by_cluster",
        "incidents_by_status",
        "incidents_count_delete",
        "incidents_count_update",
        "incidents_finished_by_age",
      ]);
      // The foreign keys still hold: an event of an unknown incident is refused.
      expect(() =>
        db.exec("INSERT INTO events (incident_seq, received_ms, event) VALUES (999, 0, '{}')"),
      ).toThrow();
      // The count triggers still count: a status change moves the count.
      db.exec("UPDATE incidents SET status = 'queued', skip_reason = NULL WHERE seq = 9");
      expect(q("SELECT status, n FROM incident_counts WHERE cluster = 'dev' AND n > 0")).toEqual([
        { status: "queued", n: 1 },
      ]);
    } finally {
      db.close();
    }
  });
});

test("a migrated store finds its legacy ids with their events, runs and notifications, and numbers new ones on", () => {
  const stateDir = join(dir.path, "store");
  mkdirSync(stateDir);
  const db = (bunSqlite() as SqliteDriver).open(join(stateDir, DB_FILE));
  writePreviousVersion(db);
  db.close();

  const store = SqliteStore.open(stateDir, { now: () => new Date(T + 60_000) });
  try {
    expect(store.list().map((incident) => incident.id)).toEqual([
      "20261125T030512Z-dev-000000000009",
      "20261125T030512Z-prod-eu-1f2e3d4c5b6a",
    ]);
    const detail = store.get("20261125T030512Z-prod-eu-1f2e3d4c5b6a");
    expect(detail?.events.map((event) => event.id)).toEqual([1, 2]);
    expect(detail?.runs.map((run) => [run.id, run.output?.report])).toEqual([[4, "# ok"]]);
    expect(detail?.notifications.map((n) => n.idempotency_key)).toEqual(["k-7"]);
    // A legacy id whose end reads as a number is found through the legacy table, not as seq 9's number.
    expect(store.get("20261125T030512Z-dev-000000000009")?.incident.fault_id).toBe("fault-2");

    // A repeat of the legacy fault joins it; a new fault gets the next seq in its id.
    const at = new Date(T + 30_000).toISOString();
    const [repeat, fresh] = store.ingest([
      { event: makeFault({ cluster: "prod-eu", fault_id: "fault-1", at }), decision: { action: "triage" } },
      { event: makeFault({ cluster: "prod-eu", fault_id: "fault-3", at }), decision: { action: "triage" } },
    ]);
    expect(repeat?.created).toBe(false);
    expect(repeat?.incident.count).toBe(4);
    expect(fresh?.incident.id).toBe("20261125T030542Z-prod-eu-10");
    expect(store.get("20261125T030542Z-prod-eu-10")?.events).toHaveLength(1);

    // Retention deletes the finished legacy incidents with their legacy ids (the foreign key allows nothing
    // less); the queued new one stays.
    const pruned = store.maintenance.pruneFinished(new Date(T + 86_400_000), 10);
    expect(pruned.ids.sort()).toEqual([
      "20261125T030512Z-dev-000000000009",
      "20261125T030512Z-prod-eu-1f2e3d4c5b6a",
    ]);
    expect(store.get("20261125T030512Z-dev-000000000009")).toBeNull();
    expect(store.list().map((incident) => incident.id)).toEqual(["20261125T030542Z-prod-eu-10"]);
  } finally {
    store.close();
  }
  const reopened = (bunSqlite() as SqliteDriver).open(join(stateDir, DB_FILE));
  try {
    expect(schemaVersion(reopened)).toBe(SCHEMA_VERSION);
    expect(reopened.query<{ n: number }>("SELECT count(*) AS n FROM incident_legacy_ids").get()?.n).toBe(0);
    expect(reopened.query("PRAGMA foreign_key_check").all()).toEqual([]);
  } finally {
    reopened.close();
  }
});
