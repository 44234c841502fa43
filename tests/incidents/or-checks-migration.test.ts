import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { faultKey } from "../../src/incidents/fault-key.ts";
import { MIGRATIONS, migrate, rebuildWithOrChecks, SCHEMA_VERSION } from "../../src/incidents/schema.ts";
import type { SqlDatabase, SqliteDriver } from "../../src/runtime/sqlite.ts";
import { bunSqlite } from "../../src/runtime/sqlite-bun.ts";
import { nodeSqlite } from "../../src/runtime/sqlite-node.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(dir.cleanup);

/** The schema version just before the CHECKs became OR chains. */
const BEFORE = MIGRATIONS.indexOf(rebuildWithOrChecks);
const T = Date.parse("2026-11-27T01:00:00.000Z");

/** A database as version {@link BEFORE} left it, with incidents, events, a run, legacy ids and notifications. */
function writePreviousVersion(db: SqlDatabase): void {
  db.exec("PRAGMA foreign_keys = ON");
  db.immediate(() => {
    for (const migration of MIGRATIONS.slice(0, BEFORE)) {
      if (typeof migration === "string") db.exec(migration);
      else migration(db);
    }
  });
  db.exec(`PRAGMA user_version = ${BEFORE}`);
  db.exec(`
    INSERT INTO incidents (seq, id, cluster, fault_id, fault_type, severity, resource, status, skip_reason, count,
        first_seen_ms, last_seen_ms, attempts, workspace, created_ms, updated_ms, fault_key) VALUES
      (3, '20261127T010000Z-prod-eu-3', 'prod-eu', 'fault-1', 'CrashLoop', 'critical', '{"kind":"Pod"}',
        'succeeded', NULL, 2, ${T}, ${T}, 1, '/ws/a', ${T}, ${T}, ${faultKey("prod-eu", "fault-1")}),
      (5, '20261127T010000Z-dev-0a1b2c3d4e5f', 'dev', 'fault-2', 'OOMKilled', 'warning', '{"kind":"Pod"}',
        'skipped', 'no_agent', 1, ${T}, ${T}, 0, NULL, ${T}, ${T}, ${faultKey("dev", "fault-2")});
    INSERT INTO incident_legacy_ids (id, seq) VALUES ('20261127T010000Z-dev-0a1b2c3d4e5f', 5);
    INSERT INTO incident_counts (cluster, status, skip_reason, n) VALUES
      ('prod-eu', 'succeeded', '', 1), ('dev', 'skipped', 'no_agent', 1);
    INSERT INTO events (id, incident_seq, received_ms, event) VALUES (1, 3, ${T}, '{"n":1}'), (2, 5, ${T}, '{"n":2}');
    INSERT INTO runs (id, incident_seq, attempt, status, exit_code, started_ms, finished_ms, duration_ms, workspace)
      VALUES (4, 3, 1, 'succeeded', 0, ${T}, ${T + 1000}, 1000, '/ws/a');
    INSERT INTO notification_messages (id, message) VALUES (6, '{}');
    INSERT INTO notifications (id, sink, incident_seq, trigger, idempotency_key, message_id, status, attempts,
        next_attempt_ms, last_error, created_ms, updated_ms) VALUES
      (7, 'ops', 3, 'triaged', 'k-3', 6, 'sent', 1, ${T}, NULL, ${T}, ${T}),
      (8, 'ops', 5, 'opened', 'k-5', 6, 'pending', 2, ${T + 5000}, 'HTTP 503', ${T}, ${T});
  `);
}

const TABLES = ["incidents", "incident_legacy_ids", "incident_counts", "events", "runs", "notifications"];

/** Every row of every table above, in key order. */
function snapshot(db: SqlDatabase): Record<string, unknown[]> {
  const rows: Record<string, unknown[]> = {};
  for (const table of TABLES) {
    rows[table] = db
      .query<Record<string, unknown>, []>(`SELECT * FROM ${table} ORDER BY 1, 2`)
      .all()
      .map((row) => ({ ...row }));
  }
  return rows;
}

/** The names of the indexes and triggers on `table`. */
function extrasOf(db: SqlDatabase, table: string): string[] {
  return db
    .query<{ name: string }, [string]>(
      "SELECT name FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') ORDER BY name",
    )
    .all(table)
    .map((row) => row.name);
}

const drivers: SqliteDriver[] = [bunSqlite() as SqliteDriver, nodeSqlite()];

describe.each(drivers.map((driver) => [driver.name, driver] as const))("%s", (name, driver) => {
  test("the OR-check rebuild keeps every row, index and trigger, and the CHECKs refuse what they refused", () => {
    const db = driver.open(join(dir.path, `${name.replace(/\W/g, "_")}.db`));
    try {
      writePreviousVersion(db);
      const before = snapshot(db);
      const extras = { incidents: extrasOf(db, "incidents"), notifications: extrasOf(db, "notifications") };
      expect(migrate(db)).toEqual({ from: BEFORE, to: SCHEMA_VERSION });

      expect(snapshot(db)).toEqual(before);
      // Every index and trigger kept, but the fault-key index a later version drops (DEDUP_SPILL).
      expect({ incidents: extrasOf(db, "incidents"), notifications: extrasOf(db, "notifications") }).toEqual({
        ...extras,
        incidents: extras.incidents.filter((name) => name !== "incidents_by_fault_key"),
      });
      expect(db.query("PRAGMA foreign_key_check").all()).toEqual([]);
      expect(db.query<{ integrity_check: string }, []>("PRAGMA integrity_check").get()?.integrity_check).toBe(
        "ok",
      );
      for (const table of ["incidents", "notifications"]) {
        const sql = db
          .query<{ sql: string }, [string]>("SELECT sql FROM sqlite_master WHERE name = ?")
          .get(table);
        expect(sql?.sql).not.toContain(" IN (");
      }

      // The same verdicts as the IN lists: bad values refused, a NULL skip reason passes when not skipped.
      const insert = (status: string, skipReason: string | null, severity: string) =>
        db
          .query<never, { severity: string; status: string; skip_reason: string | null }>(
            `INSERT INTO incidents (id, cluster, fault_id, fault_type, severity, resource, status, skip_reason, count,
               first_seen_ms, last_seen_ms, created_ms, updated_ms, fault_key)
             VALUES ('x', 'c', 'f', 't', $severity, '{}', $status, $skip_reason, 1, 0, 0, 0, 0, 1)`,
          )
          .run({ severity, status, skip_reason: skipReason });
      expect(() => insert("bogus", null, "warning")).toThrow(/CHECK constraint failed/);
      expect(() => insert("skipped", "bogus", "warning")).toThrow(/CHECK constraint failed/);
      expect(() => insert("queued", null, "fatal")).toThrow(/CHECK constraint failed/);
      expect(() => insert("queued", "no_agent", "warning")).toThrow(/CHECK constraint failed/);
      expect(() => insert("skipped", null, "warning")).toThrow(/CHECK constraint failed/);
      insert("queued", null, "info");
      insert("skipped", "queue_full", "critical");
      expect(() => db.exec("UPDATE notifications SET status = 'lost' WHERE id = 7")).toThrow(
        /CHECK constraint failed/,
      );
      expect(() => db.exec("UPDATE notifications SET trigger = 'closed' WHERE id = 7")).toThrow(
        /CHECK constraint failed/,
      );
      // The foreign keys and the count triggers still hold.
      expect(() =>
        db.exec(
          "INSERT INTO notifications (sink, incident_seq, trigger, idempotency_key, message_id, status, next_attempt_ms, created_ms, updated_ms) VALUES ('ops', 999, 'opened', 'k', 6, 'pending', 0, 0, 0)",
        ),
      ).toThrow();
      db.exec("UPDATE incidents SET status = 'queued', skip_reason = NULL WHERE seq = 5");
      expect(
        db
          .query<{ status: string; n: number }, []>(
            "SELECT status, n FROM incident_counts WHERE cluster = 'dev' AND n > 0",
          )
          .all()
          .map((row) => ({ ...row })),
      ).toEqual([{ status: "queued", n: 1 }]);
    } finally {
      db.close();
    }
  });
});
