/**
 * The incident store's SQLite schema and its forward migrations. The schema version lives in
 * `PRAGMA user_version`; {@link migrate} brings a database up to {@link SCHEMA_VERSION} in one
 * transaction, so a crash mid-migration leaves the previous version intact.
 *
 * Times are stored as integer milliseconds since the epoch (`*_ms`) and turned into RFC 3339 strings
 * at the store's boundary. Internally events and runs point at `incidents.seq` (a small integer),
 * not at the longer public incident id.
 */
import type { SqlDatabase } from "../runtime/sqlite.ts";
import { faultKey } from "./fault-key.ts";

/** One forward migration: SQL to run, or (when a value must be computed in JS) a step given the database. */
export type Migration = string | ((db: SqlDatabase) => void);

/**
 * The columns of `incidents` after `seq` and `id`, as version 1 created them (shared, as text, with
 * the rebuild of {@link rebuildIncidentsForIngest}: what a migration creates never changes).
 */
const INCIDENT_FACTS = `  cluster       TEXT    NOT NULL,
  fault_id      TEXT    NOT NULL,
  fault_type    TEXT    NOT NULL,
  severity      TEXT    NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
  resource      TEXT    NOT NULL,
  status        TEXT    NOT NULL
    CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'timed_out', 'skipped', 'interrupted')),
  skip_reason   TEXT
    CHECK (skip_reason IN ('below_threshold', 'triage_disabled', 'no_agent', 'queue_full')),
  count         INTEGER NOT NULL CHECK (count >= 1),
  first_seen_ms INTEGER NOT NULL,
  last_seen_ms  INTEGER NOT NULL,
  attempts      INTEGER NOT NULL DEFAULT 0,
  workspace     TEXT,
  created_ms    INTEGER NOT NULL,
  updated_ms    INTEGER NOT NULL,
`;

/** The triggers that keep `incident_counts` on a status change and a delete (version 1's, recreated by the rebuild). */
const INCIDENT_STATUS_COUNT_TRIGGERS = `CREATE TRIGGER incidents_count_update AFTER UPDATE OF status, skip_reason ON incidents
WHEN OLD.status IS NOT NEW.status OR OLD.skip_reason IS NOT NEW.skip_reason BEGIN
  UPDATE incident_counts SET n = n - 1
    WHERE cluster = OLD.cluster AND status = OLD.status AND skip_reason = COALESCE(OLD.skip_reason, '');
  INSERT INTO incident_counts (cluster, status, skip_reason, n)
    VALUES (NEW.cluster, NEW.status, COALESCE(NEW.skip_reason, ''), 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER incidents_count_delete AFTER DELETE ON incidents BEGIN
  UPDATE incident_counts SET n = n - 1
    WHERE cluster = OLD.cluster AND status = OLD.status AND skip_reason = COALESCE(OLD.skip_reason, '');
END;
`;

/** Schema version 1: events, incidents, agent runs, per-cluster counts and queue turns. */
const V1 = `
CREATE TABLE incidents (
  seq           INTEGER PRIMARY KEY,
  id            TEXT    NOT NULL UNIQUE,
${INCIDENT_FACTS}  CHECK ((status = 'skipped') = (skip_reason IS NOT NULL))
);
-- Dedup: the latest incident of one fault.
CREATE INDEX incidents_by_fault ON incidents (cluster, fault_id, last_seen_ms);
-- Queue scans (status = 'queued', oldest first) and status-filtered listings.
CREATE INDEX incidents_by_status ON incidents (status, seq);
-- Cluster-filtered listings, newest first.
CREATE INDEX incidents_by_cluster ON incidents (cluster, seq);

CREATE TABLE events (
  id           INTEGER PRIMARY KEY,
  incident_seq INTEGER NOT NULL REFERENCES incidents (seq),
  received_ms  INTEGER NOT NULL,
  event        TEXT    NOT NULL
);
CREATE INDEX events_by_incident ON events (incident_seq, id);

-- Agent runs: one per attempt at an incident, open (finished_ms NULL) while the agent runs.
CREATE TABLE runs (
  id           INTEGER PRIMARY KEY,
  incident_seq INTEGER NOT NULL REFERENCES incidents (seq),
  attempt      INTEGER NOT NULL,
  status       TEXT    NOT NULL
    CHECK (status IN ('running', 'succeeded', 'failed', 'timed_out', 'interrupted')),
  exit_code    INTEGER,
  signal       TEXT,
  started_ms   INTEGER NOT NULL,
  finished_ms  INTEGER,
  duration_ms  INTEGER,
  workspace    TEXT    NOT NULL,
  error        TEXT
);
CREATE INDEX runs_by_incident ON runs (incident_seq, id);
CREATE INDEX runs_open ON runs (incident_seq) WHERE finished_ms IS NULL;

-- Fair queue: when each cluster was last given an agent slot (the id of that run; 0 = never).
CREATE TABLE cluster_turns (
  cluster     TEXT    PRIMARY KEY,
  last_served INTEGER NOT NULL
) WITHOUT ROWID;

-- Incidents per cluster, status and skip reason ('' unless skipped), kept by the triggers below so
-- health checks and the queue bound never scan the incidents table.
CREATE TABLE incident_counts (
  cluster     TEXT    NOT NULL,
  status      TEXT    NOT NULL,
  skip_reason TEXT    NOT NULL,
  n           INTEGER NOT NULL,
  PRIMARY KEY (cluster, status, skip_reason)
) WITHOUT ROWID;

CREATE TRIGGER incidents_count_insert AFTER INSERT ON incidents BEGIN
  INSERT INTO incident_counts (cluster, status, skip_reason, n)
    VALUES (NEW.cluster, NEW.status, COALESCE(NEW.skip_reason, ''), 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;

${INCIDENT_STATUS_COUNT_TRIGGERS}
-- Small facts about the store itself (e.g. when it was last opened: the start-up write probe).
CREATE TABLE store_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
`;

/**
 * Schema version 2: the agent's pid (= its process-group id) on each run, so that a faultline
 * restarted after a crash can end agents the dead process left running before it runs them again.
 */
const V2 = `
ALTER TABLE runs ADD COLUMN pid INTEGER;
`;

/** Schema version 3: queue depth (queued incidents over all clusters) without scanning every cluster's counts. */
const V3 = `
CREATE INDEX incident_counts_by_status ON incident_counts (status, n);
`;

/**
 * Agent output and notifications: what each finished run left for people (`report.md`, `summary.json`,
 * each with its status and error), and the notification outbox. An outbox row is written in the same
 * transaction as the status change that causes it and is delivered at least once (`pending` until a
 * sink accepts it: `sent`; `dead` after its last attempt).
 */
const AGENT_OUTPUT_AND_OUTBOX = `
CREATE TABLE run_outputs (
  run_id           INTEGER PRIMARY KEY REFERENCES runs (id),
  report           TEXT,
  report_status    TEXT    NOT NULL CHECK (report_status IN ('ok', 'missing', 'invalid')),
  report_bytes     INTEGER,
  report_truncated INTEGER NOT NULL DEFAULT 0,
  report_error     TEXT,
  summary          TEXT,
  summary_status   TEXT    NOT NULL CHECK (summary_status IN ('ok', 'missing', 'invalid')),
  summary_error    TEXT
);

-- A change's message, once however many sinks it goes to.
CREATE TABLE notification_messages (
  id      INTEGER PRIMARY KEY,
  message TEXT    NOT NULL
);

CREATE TABLE notifications (
  id              INTEGER PRIMARY KEY,
  sink            TEXT    NOT NULL,
  incident_seq    INTEGER NOT NULL REFERENCES incidents (seq),
  trigger         TEXT    NOT NULL CHECK (trigger IN ('opened', 'triaged', 'failed')),
  idempotency_key TEXT    NOT NULL,
  message_id      INTEGER NOT NULL REFERENCES notification_messages (id),
  status          TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'dead')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL,
  last_error      TEXT,
  created_ms      INTEGER NOT NULL,
  updated_ms      INTEGER NOT NULL,
  UNIQUE (sink, idempotency_key)
);
-- Each sink's worker: its next due message.
CREATE INDEX notifications_due ON notifications (sink, next_attempt_ms, id) WHERE status = 'pending';
CREATE INDEX notifications_by_status ON notifications (status, id);
CREATE INDEX notifications_by_incident ON notifications (incident_seq, id);
`;

/**
 * Retention finds finished incidents by age without scanning the table (queued and
 * running incidents are never pruned, so they are left out of the index).
 */
const RETENTION_INDEX = `
CREATE INDEX incidents_finished_by_age ON incidents (updated_ms)
  WHERE status NOT IN ('queued', 'running');
`;

/**
 * Per cluster: when its connection was last known alive and its MCP session id
 * then, so that a restarted faultline backfills the faults of the gap and ends the dead session.
 */
const CLUSTER_LIVENESS = `
CREATE TABLE cluster_liveness (
  cluster       TEXT    PRIMARY KEY,
  last_alive_ms INTEGER NOT NULL,
  session_id    TEXT
) WITHOUT ROWID;
`;

/**
 * New incidents are counted by the store, once per ingested batch, instead of by a trigger per row
 * (measured: the trigger cost about as much as the rest of the incident's insert). Status changes and
 * deletes keep their triggers: they are rare.
 */
const COUNT_NEW_INCIDENTS_PER_BATCH = `
DROP TRIGGER incidents_count_insert;
`;

/** `incidents` as rebuilt by {@link rebuildIncidentsForIngest}: no text UNIQUE, an integer fault key. */
const INCIDENTS_REBUILT = `
CREATE TABLE incidents (
  seq           INTEGER PRIMARY KEY,
  id            TEXT    NOT NULL,
${INCIDENT_FACTS}  fault_key     INTEGER NOT NULL,
  CHECK ((status = 'skipped') = (skip_reason IS NOT NULL))
);
`;

/** The columns the rebuild copies as they are (every one but the new `fault_key`). */
const COPIED_INCIDENT_COLUMNS =
  "seq, id, cluster, fault_id, fault_type, severity, resource, status, skip_reason, count, " +
  "first_seen_ms, last_seen_ms, attempts, workspace, created_ms, updated_ms";

/**
 * The indexes and triggers of `incidents` since version 8 (dropped with the table, so created again by
 * each rebuild). Version 11 (`DEDUP_SPILL`) drops `incidents_by_fault_key`: a later rebuild leaves it out.
 */
const INCIDENT_INDEXES_AND_TRIGGERS = `
-- Dedup: a fault's incidents by its integer key (see fault-key.ts); a repeat moves no entry.
CREATE INDEX incidents_by_fault_key ON incidents (fault_key);
CREATE INDEX incidents_by_status ON incidents (status, seq);
CREATE INDEX incidents_by_cluster ON incidents (cluster, seq);
CREATE INDEX incidents_finished_by_age ON incidents (updated_ms)
  WHERE status NOT IN ('queued', 'running');

${INCIDENT_STATUS_COUNT_TRIGGERS}`;

/** What the rebuilt `incidents` gets back: its indexes and triggers, and the table of the ids it had. */
const INCIDENTS_REBUILT_EXTRAS = `${INCIDENT_INDEXES_AND_TRIGGERS}
-- Ids made before this version (they end in random hex, not in their seq): looked up here.
CREATE TABLE incident_legacy_ids (
  id  TEXT    PRIMARY KEY,
  seq INTEGER NOT NULL UNIQUE REFERENCES incidents (seq)
) WITHOUT ROWID;
INSERT INTO incident_legacy_ids (id, seq) SELECT id, seq FROM incidents;
`;

/**
 * Ingest without text index writes. `incidents.id` loses its UNIQUE index: a new id embeds the
 * incident's `seq` (unique by construction, found by the primary key, see `id.ts`); the ids stored
 * before are kept in `incident_legacy_ids`. The dedup index on (cluster, fault_id, last_seen_ms)
 * becomes one on an integer fault key. Measured: random-position inserts into indexes with long text
 * keys rewrote hundreds of pages per committed batch.
 *
 * SQLite cannot drop a column's UNIQUE, so the table is rebuilt (after SQLite's 12-step procedure),
 * every row, `seq` and `id` kept. Foreign keys cannot be switched off inside the migration's
 * transaction: they are deferred to its commit instead. Dropping `incidents` leaves the events, runs
 * and notifications pointing at it orphaned (counted as deferred violations); the rows inserted into
 * the new `incidents` adopt them again (each insert into a parent table un-counts its children). The
 * table is created under its final name, not renamed into place: a rename would adopt no one.
 * `PRAGMA foreign_key_check` must then find nothing, else the migration fails and nothing changes.
 */
export function rebuildIncidentsForIngest(db: SqlDatabase): void {
  db.exec("PRAGMA defer_foreign_keys = ON");
  db.exec(`CREATE TEMP TABLE incidents_previous AS SELECT ${COPIED_INCIDENT_COLUMNS} FROM main.incidents;
    CREATE TEMP TABLE incident_fault_keys (seq INTEGER PRIMARY KEY, fault_key INTEGER NOT NULL);`);
  const keyOf = db.prepare<never, { seq: number; fault_key: number }>(
    "INSERT INTO temp.incident_fault_keys (seq, fault_key) VALUES ($seq, $fault_key)",
  );
  const rows = db.query<{ seq: number; cluster: string; fault_id: string }>(
    "SELECT seq, cluster, fault_id FROM temp.incidents_previous",
  );
  for (const row of rows.all()) keyOf.run({ seq: row.seq, fault_key: faultKey(row.cluster, row.fault_id) });
  keyOf.finalize();
  rows.finalize();
  db.exec("DROP TABLE main.incidents");
  db.exec(INCIDENTS_REBUILT);
  db.exec(`INSERT INTO main.incidents (${COPIED_INCIDENT_COLUMNS}, fault_key)
    SELECT ${COPIED_INCIDENT_COLUMNS}, fault_key FROM temp.incidents_previous JOIN temp.incident_fault_keys USING (seq)
    ORDER BY seq;
    DROP TABLE temp.incidents_previous;
    DROP TABLE temp.incident_fault_keys;`);
  db.exec(INCIDENTS_REBUILT_EXTRAS);
  assertNoDanglingForeignKeys(db, "incidents rebuild");
}

/** Version 9's `incidents`: version 8's table, each CHECK of a value list written as an OR chain. */
const INCIDENTS_OR_CHECKS = `
CREATE TABLE incidents (
  seq           INTEGER PRIMARY KEY,
  id            TEXT    NOT NULL,
  cluster       TEXT    NOT NULL,
  fault_id      TEXT    NOT NULL,
  fault_type    TEXT    NOT NULL,
  severity      TEXT    NOT NULL
    CHECK (severity = 'info' OR severity = 'warning' OR severity = 'critical'),
  resource      TEXT    NOT NULL,
  status        TEXT    NOT NULL
    CHECK (status = 'queued' OR status = 'running' OR status = 'succeeded' OR status = 'failed'
      OR status = 'timed_out' OR status = 'skipped' OR status = 'interrupted'),
  skip_reason   TEXT
    CHECK (skip_reason = 'below_threshold' OR skip_reason = 'triage_disabled' OR skip_reason = 'no_agent'
      OR skip_reason = 'queue_full'),
  count         INTEGER NOT NULL CHECK (count >= 1),
  first_seen_ms INTEGER NOT NULL,
  last_seen_ms  INTEGER NOT NULL,
  attempts      INTEGER NOT NULL DEFAULT 0,
  workspace     TEXT,
  created_ms    INTEGER NOT NULL,
  updated_ms    INTEGER NOT NULL,
  fault_key     INTEGER NOT NULL,
  CHECK ((status = 'skipped') = (skip_reason IS NOT NULL))
);
`;

/** Version 9's `notifications` (the outbox) and its indexes: each CHECK of a value list an OR chain. */
const NOTIFICATIONS_OR_CHECKS = `
CREATE TABLE notifications (
  id              INTEGER PRIMARY KEY,
  sink            TEXT    NOT NULL,
  incident_seq    INTEGER NOT NULL REFERENCES incidents (seq),
  trigger         TEXT    NOT NULL CHECK (trigger = 'opened' OR trigger = 'triaged' OR trigger = 'failed'),
  idempotency_key TEXT    NOT NULL,
  message_id      INTEGER NOT NULL REFERENCES notification_messages (id),
  status          TEXT    NOT NULL CHECK (status = 'pending' OR status = 'sent' OR status = 'dead'),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL,
  last_error      TEXT,
  created_ms      INTEGER NOT NULL,
  updated_ms      INTEGER NOT NULL,
  UNIQUE (sink, idempotency_key)
);
`;

/** What the outbox's rebuild creates again after the table: its indexes (as version 4 made them). */
const NOTIFICATION_INDEXES = `
CREATE INDEX notifications_due ON notifications (sink, next_attempt_ms, id) WHERE status = 'pending';
CREATE INDEX notifications_by_status ON notifications (status, id);
CREATE INDEX notifications_by_incident ON notifications (incident_seq, id);
`;

/** The columns of `notifications`, copied as they are by its rebuild. */
const NOTIFICATION_COLUMNS =
  "id, sink, incident_seq, trigger, idempotency_key, message_id, status, attempts, next_attempt_ms, " +
  "last_error, created_ms, updated_ms";

/**
 * Inside a migration: replaces `table` with the one `create` makes under the same name, keeping every
 * row (`columns` copied aside, the table dropped and created again, the rows put back in `orderBy`
 * order), then runs `extras` (the indexes and triggers the drop took with it). As in
 * {@link rebuildIncidentsForIngest}, foreign keys are deferred to the migration's commit, the table is
 * not renamed into place (a rename would adopt no children), and the caller checks `foreign_key_check`.
 */
function replaceTable(
  db: SqlDatabase,
  table: string,
  columns: string,
  orderBy: string,
  create: string,
  extras: string,
): void {
  db.exec("PRAGMA defer_foreign_keys = ON");
  db.exec(`CREATE TEMP TABLE ${table}_previous AS SELECT ${columns} FROM main.${table};
    DROP TABLE main.${table};`);
  db.exec(create);
  db.exec(`INSERT INTO main.${table} (${columns}) SELECT ${columns} FROM temp.${table}_previous ORDER BY ${orderBy};
    DROP TABLE temp.${table}_previous;`);
  db.exec(extras);
}

/** Throws if the migration so far left a row pointing at nothing (the migration then rolls back). */
function assertNoDanglingForeignKeys(db: SqlDatabase, what: string): void {
  const broken = db.query<{ table: string }>("PRAGMA foreign_key_check").all();
  if (broken.length > 0) {
    throw new Error(`${what} left ${broken.length} dangling foreign keys (in ${broken[0]?.table})`);
  }
}

/**
 * The CHECKs on the hot tables as OR chains instead of `IN` lists. Measured (bun:sqlite, 100k inserts
 * of an incident row): an `IN` list of more than two constants makes SQLite build an ephemeral index
 * each time it checks a row, on every insert and on every update of that column: 9.6-11.3 µs per insert
 * against 3.9-4.2 µs with OR chains and 3.5-4.2 µs with no CHECK at all. The verdicts are the same (a
 * NULL `skip_reason` passes both forms). `incidents` (every new incident, every repeat's severity) and
 * `notifications` (one row per new incident and sink) are rebuilt; `runs` and `run_outputs` change once
 * per agent run and keep their lists.
 */
export function rebuildWithOrChecks(db: SqlDatabase): void {
  const incidentColumns = `${COPIED_INCIDENT_COLUMNS}, fault_key`;
  replaceTable(db, "incidents", incidentColumns, "seq", INCIDENTS_OR_CHECKS, INCIDENT_INDEXES_AND_TRIGGERS);
  replaceTable(
    db,
    "notifications",
    NOTIFICATION_COLUMNS,
    "id",
    NOTIFICATIONS_OR_CHECKS,
    NOTIFICATION_INDEXES,
  );
  assertNoDanglingForeignKeys(db, "the rebuild with OR checks");
}

/**
 * Schema version 10: the intake journal (`journal.ts`). Events are recorded here first, one
 * cheap append each, and their incidents built from them later in the order appended; building a row
 * deletes it in the same transaction, so a row left here at start-up is one not built yet. `route` is
 * the route stage's verdict as it was when the event was received: `triage`, or the skip reason.
 * AUTOINCREMENT: a `seq` is never given twice, even after the table was emptied, so an entry a process
 * still holds in memory can never be confused with a newer row.
 */
const INTAKE_JOURNAL = `
CREATE TABLE event_log (
  seq   INTEGER PRIMARY KEY AUTOINCREMENT,
  event TEXT    NOT NULL,
  route TEXT    NOT NULL
);
`;

/**
 * The dedup index of every incident by fault key is gone: each new incident wrote an entry at a random
 * place in it, one page per incident at a steady rate's build, which measured as the biggest share of
 * that build (`scripts/bench/index-cost.ts`), while the in-memory dedup window answered nearly every
 * lookup. The window now keeps in `dedup_spill` only the faults it drops past its bound (`dedup-window.ts`),
 * and the database answers a lookup reaching back to them from there. `incidents.fault_key` stays.
 */
const DEDUP_SPILL = `
DROP INDEX IF EXISTS incidents_by_fault_key;
CREATE TABLE dedup_spill (
  fault_key INTEGER NOT NULL,
  seq       INTEGER NOT NULL,
  PRIMARY KEY (fault_key, seq)
) WITHOUT ROWID;
`;

/**
 * Schema version 12: the intake journal moves to a file of its own (`journal-file.ts`), where an
 * append is one write instead of a transaction; `intake_mark` is how far the file is built, written in
 * each build's transaction. The mark starts below the rows `event_log` still holds (the store moves
 * them into the file at its next open, with their `seq`s, and deletes them), or at the last `seq` it gave.
 */
const INTAKE_MARK = `
CREATE TABLE intake_mark (
  id            INTEGER PRIMARY KEY CHECK (id = 1),
  built_through INTEGER NOT NULL
);
INSERT INTO intake_mark (id, built_through) VALUES (1, coalesce(
  (SELECT min(seq) - 1 FROM event_log),
  (SELECT seq FROM sqlite_sequence WHERE name = 'event_log'),
  0
));
`;

/**
 * Forward migrations, oldest first: entry `n` takes a database from version `n` to `n + 1`.
 * Released entries never change what they create (a comment may be added); a schema change
 * appends a new one. The status and reason lists in the CHECK constraints are those of
 * `model.ts`; a test holds the two equal.
 */
export const MIGRATIONS: readonly Migration[] = [
  V1,
  V2,
  V3,
  AGENT_OUTPUT_AND_OUTBOX,
  RETENTION_INDEX,
  CLUSTER_LIVENESS,
  COUNT_NEW_INCIDENTS_PER_BATCH,
  rebuildIncidentsForIngest,
  rebuildWithOrChecks,
  INTAKE_JOURNAL,
  DEDUP_SPILL,
  INTAKE_MARK,
];

/** The schema version this build reads and writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** A database whose schema is newer than this build knows: it was written by a later faultline. */
export class NewerSchemaError extends Error {
  constructor(readonly found: number) {
    super(
      `database schema version ${found} is newer than this faultline supports (${SCHEMA_VERSION}); ` +
        "run a newer faultline or move the database aside",
    );
    this.name = "NewerSchemaError";
  }
}

/** The schema version recorded in the database (0 for a new, empty one). */
export function schemaVersion(db: SqlDatabase): number {
  const row = db.query<{ user_version: number }>("PRAGMA user_version").get();
  return row?.user_version ?? 0;
}

/**
 * Applies every migration the database lacks, in one IMMEDIATE transaction (so two processes
 * opening the same new file do not both migrate it). Returns the versions before and after.
 * Throws {@link NewerSchemaError} for a database from a newer faultline, leaving it untouched.
 */
export function migrate(db: SqlDatabase): { from: number; to: number } {
  return db.immediate((): { from: number; to: number } => {
    const from = schemaVersion(db);
    if (from > SCHEMA_VERSION) throw new NewerSchemaError(from);
    for (const migration of MIGRATIONS.slice(from)) {
      if (typeof migration === "string") db.exec(migration);
      else migration(db);
    }
    if (from < SCHEMA_VERSION) db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    return { from, to: SCHEMA_VERSION };
  });
}
