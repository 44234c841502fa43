import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { OUTPUT_STATUSES } from "../../src/agent/output.ts";
import { SEVERITIES } from "../../src/events/fault.ts";
import { INCIDENT_SKIP_REASONS, INCIDENT_STATUSES, RUN_STATUSES } from "../../src/incidents/model.ts";
import { DB_FILE } from "../../src/incidents/open.ts";
import { NOTIFICATION_STATUSES, NOTIFY_TRIGGERS } from "../../src/incidents/outbox.ts";
import { MIGRATIONS, SCHEMA_VERSION, schemaVersion } from "../../src/incidents/schema.ts";
import { SqliteStore } from "../../src/incidents/store.ts";
import { openSqlite } from "../../src/runtime/sqlite.ts";
import { makeFault } from "../helpers/fault.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(dir.cleanup);

test("a version-1 database is migrated forward to the current version on open, keeping its data", () => {
  const stateDir = join(dir.path, "v1");
  mkdirSync(stateDir);
  const old = new Database(join(stateDir, DB_FILE));
  const v1 = MIGRATIONS[0];
  if (typeof v1 !== "string") throw new Error("version 1 is SQL");
  old.exec(v1);
  old.exec("PRAGMA user_version = 1");
  old.exec(
    `INSERT INTO incidents (id, cluster, fault_id, fault_type, severity, resource, status, count,
       first_seen_ms, last_seen_ms, created_ms, updated_ms)
     VALUES ('inc-1', 'a', 'f', 'CrashLoop', 'critical', '{}', 'queued', 1, 1, 1, 1, 1)`,
  );
  old.close();

  const store = SqliteStore.open(stateDir);
  try {
    expect(store.list().map((i) => i.id)).toEqual(["inc-1"]);
    const run = store.markRunning("inc-1", join(stateDir, "incidents", "inc-1"));
    store.recordPid(run.id, 4242);
    expect(store.openRuns()).toEqual([
      {
        run_id: run.id,
        incident_id: "inc-1",
        cluster: "a",
        pid: 4242,
        workspace: join(stateDir, "incidents", "inc-1"),
        started_ms: expect.any(Number),
      },
    ]);
  } finally {
    store.close();
  }
  const reopened = openSqlite(join(stateDir, DB_FILE), { readonly: true });
  expect(schemaVersion(reopened)).toBe(SCHEMA_VERSION);
  // The latest migrations' tables are there too: agent outputs and the notification outbox.
  const tables = reopened
    .query<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
    .all()
    .map((row) => row.name);
  expect(tables).toEqual(expect.arrayContaining(["run_outputs", "notifications"]));
  expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
  reopened.close();
});

test("a new store ingests with the current schema", () => {
  const store = SqliteStore.open(join(dir.path, "fresh"));
  try {
    const [result] = store.ingest([{ event: makeFault(), decision: { action: "triage" } }]);
    expect(result?.incident.status).toBe("queued");
  } finally {
    store.close();
  }
});

/** The text inside each `CHECK (...)` of a CREATE statement (parentheses balanced). */
function checkBodies(sql: string): string[] {
  const bodies: string[] = [];
  for (let at = sql.indexOf("CHECK ("); at >= 0; at = sql.indexOf("CHECK (", at + 1)) {
    let depth = 0;
    for (let i = at + "CHECK ".length; i < sql.length; i++) {
      if (sql[i] === "(") depth++;
      else if (sql[i] === ")" && --depth === 0) {
        bodies.push(
          sql
            .slice(at + "CHECK (".length, i)
            .replace(/\s+/g, " ")
            .trim(),
        );
        break;
      }
    }
  }
  return bodies;
}

/**
 * `column -> [values]` for every CHECK of a value list in a table's CREATE statement, written either as
 * `column IN ('a', 'b')` or as `column = 'a' OR column = 'b'`.
 */
function checkLists(db: Database, table: string): Record<string, string[]> {
  const sql =
    db.query<{ sql: string }, [string]>("SELECT sql FROM sqlite_master WHERE name = ?").get(table)?.sql ?? "";
  const lists: Record<string, string[]> = {};
  for (const body of checkBodies(sql)) {
    const inList = /^(\w+) IN \(([^)]*)\)$/.exec(body);
    if (inList) {
      lists[inList[1] ?? ""] = (inList[2] ?? "")
        .split(",")
        .map((value) => value.trim().replace(/^'|'$/g, ""));
      continue;
    }
    const terms = body.split(" OR ").map((term) => /^(\w+) = '(\w+)'$/.exec(term));
    const column = terms[0]?.[1];
    if (column && terms.every((term) => term?.[1] === column))
      lists[column] = terms.map((term) => term?.[2] ?? "");
  }
  return lists;
}

test("the schema's CHECK lists are the model's status, reason and severity lists", () => {
  const stateDir = join(dir.path, "checks");
  SqliteStore.open(stateDir).close();
  const db = new Database(join(stateDir, DB_FILE), { readonly: true });
  try {
    expect(checkLists(db, "incidents")).toEqual({
      severity: [...SEVERITIES],
      status: [...INCIDENT_STATUSES],
      skip_reason: [...INCIDENT_SKIP_REASONS],
    });
    expect(checkLists(db, "runs")).toEqual({ status: [...RUN_STATUSES] });
    expect(checkLists(db, "run_outputs")).toEqual({
      report_status: [...OUTPUT_STATUSES],
      summary_status: [...OUTPUT_STATUSES],
    });
    expect(checkLists(db, "notifications")).toEqual({
      trigger: [...NOTIFY_TRIGGERS],
      status: [...NOTIFICATION_STATUSES],
    });
  } finally {
    db.close();
  }
});
