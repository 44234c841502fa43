/**
 * The PostgreSQL store's schema and its forward migrations. PostgreSQL has no `PRAGMA user_version`: the
 * versions applied are rows of `schema_migrations`, and {@link migratePostgres} applies the missing ones
 * in one transaction under `pg_advisory_xact_lock`, so replicas starting together migrate once (the
 * others wait for the lock, then find nothing left to do).
 *
 * Times are epoch milliseconds in `bigint` columns (`*_ms`), like the SQLite store's, so both backends
 * share the row-to-model mapping (`../rows.ts`); the client parses `int8` to a JS number (epoch ms fit).
 * Shared-store specifics (docs/ha-design.md §3, §4):
 * - `fault_heads` holds each fault's latest incident and when it was last seen: ingest takes the head's
 *   row lock first, so two replicas seeing one fault at once join one incident.
 * - `runs.replica` says which replica ran what (claims, `openRuns`, `recoverInterrupted({ replica })`).
 * - Incident counts are append-only deltas (written by triggers), summed on read and compacted now
 *   and then, so no replica waits on a hot counter row.
 */
import type postgres from "postgres";

/** Version 1: the whole store as of issue 15 (the SQLite schema's tables, plus fault heads and replicas). */
const V1 = `
CREATE TABLE incidents (
  seq           bigserial PRIMARY KEY,
  id            text    NOT NULL UNIQUE,
  cluster       text    NOT NULL,
  fault_id      text    NOT NULL,
  fault_type    text    NOT NULL,
  severity      text    NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
  resource      text    NOT NULL,
  status        text    NOT NULL
    CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'timed_out', 'skipped', 'interrupted')),
  skip_reason   text
    CHECK (skip_reason IN ('below_threshold', 'triage_disabled', 'no_agent', 'queue_full')),
  count         integer NOT NULL CHECK (count >= 1),
  first_seen_ms bigint  NOT NULL,
  last_seen_ms  bigint  NOT NULL,
  attempts      integer NOT NULL DEFAULT 0,
  workspace     text,
  created_ms    bigint  NOT NULL,
  updated_ms    bigint  NOT NULL,
  CHECK ((status = 'skipped') = (skip_reason IS NOT NULL))
);
CREATE INDEX incidents_by_fault ON incidents (cluster, fault_id, last_seen_ms);
CREATE INDEX incidents_queued ON incidents (seq) WHERE status = 'queued';
CREATE INDEX incidents_by_status ON incidents (status, seq);
CREATE INDEX incidents_by_cluster ON incidents (cluster, seq);
CREATE INDEX incidents_finished_by_age ON incidents (updated_ms) WHERE status NOT IN ('queued', 'running');

-- Each fault's latest incident (NULL only inside the transaction that creates the head).
CREATE TABLE fault_heads (
  cluster      text   NOT NULL,
  fault_id     text   NOT NULL,
  incident_seq bigint,
  last_seen_ms bigint NOT NULL,
  PRIMARY KEY (cluster, fault_id)
);
CREATE INDEX fault_heads_by_incident ON fault_heads (incident_seq);

CREATE TABLE events (
  id           bigserial PRIMARY KEY,
  incident_seq bigint NOT NULL REFERENCES incidents (seq),
  received_ms  bigint NOT NULL,
  event        text   NOT NULL
);
CREATE INDEX events_by_incident ON events (incident_seq, id);

CREATE TABLE runs (
  id           bigserial PRIMARY KEY,
  incident_seq bigint  NOT NULL REFERENCES incidents (seq),
  attempt      integer NOT NULL,
  status       text    NOT NULL
    CHECK (status IN ('running', 'succeeded', 'failed', 'timed_out', 'interrupted')),
  exit_code    integer,
  signal       text,
  started_ms   bigint  NOT NULL,
  finished_ms  bigint,
  duration_ms  bigint,
  workspace    text    NOT NULL,
  error        text,
  pid          integer,
  replica      text    NOT NULL
);
CREATE INDEX runs_by_incident ON runs (incident_seq, id);
CREATE INDEX runs_open ON runs (replica, id) WHERE finished_ms IS NULL;

CREATE TABLE run_outputs (
  run_id           bigint PRIMARY KEY REFERENCES runs (id),
  report           text,
  report_status    text    NOT NULL CHECK (report_status IN ('ok', 'missing', 'invalid')),
  report_bytes     integer,
  report_truncated boolean NOT NULL DEFAULT false,
  report_error     text,
  summary          text,
  summary_status   text    NOT NULL CHECK (summary_status IN ('ok', 'missing', 'invalid')),
  summary_error    text
);

-- Fair queue: when each cluster was last given an agent slot (the id of that run).
CREATE TABLE cluster_turns (
  cluster     text   PRIMARY KEY,
  last_served bigint NOT NULL
);

-- Incident count changes per cluster, status and skip reason ('' unless skipped): appended by the
-- triggers below, summed on read, folded into one row per key by compaction.
CREATE TABLE incident_count_deltas (
  cluster     text   NOT NULL,
  status      text   NOT NULL,
  skip_reason text   NOT NULL,
  n           bigint NOT NULL
);
CREATE INDEX incident_count_deltas_by_key ON incident_count_deltas (cluster, status, skip_reason);

CREATE FUNCTION incidents_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO incident_count_deltas (cluster, status, skip_reason, n)
    SELECT cluster, status, COALESCE(skip_reason, ''), count(*) FROM new_rows GROUP BY 1, 2, 3;
  RETURN NULL;
END $$;
CREATE TRIGGER incidents_count_insert AFTER INSERT ON incidents
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION incidents_count_insert();

-- A status change is a row trigger with a WHEN: a repeat that changes no status (most of ingest's
-- updates) costs nothing.
CREATE FUNCTION incidents_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO incident_count_deltas (cluster, status, skip_reason, n) VALUES
    (OLD.cluster, OLD.status, COALESCE(OLD.skip_reason, ''), -1),
    (NEW.cluster, NEW.status, COALESCE(NEW.skip_reason, ''), 1);
  RETURN NULL;
END $$;
CREATE TRIGGER incidents_count_update AFTER UPDATE OF status, skip_reason ON incidents
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.skip_reason IS DISTINCT FROM NEW.skip_reason)
  EXECUTE FUNCTION incidents_count_update();

CREATE FUNCTION incidents_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO incident_count_deltas (cluster, status, skip_reason, n)
    SELECT cluster, status, COALESCE(skip_reason, ''), -count(*) FROM old_rows GROUP BY 1, 2, 3;
  RETURN NULL;
END $$;
CREATE TRIGGER incidents_count_delete AFTER DELETE ON incidents
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION incidents_count_delete();

CREATE TABLE notification_messages (
  id      bigserial PRIMARY KEY,
  message text NOT NULL
);

CREATE TABLE notifications (
  id              bigserial PRIMARY KEY,
  sink            text    NOT NULL,
  incident_seq    bigint  NOT NULL REFERENCES incidents (seq),
  trigger         text    NOT NULL CHECK (trigger IN ('opened', 'triaged', 'failed')),
  idempotency_key text    NOT NULL,
  message_id      bigint  NOT NULL REFERENCES notification_messages (id),
  status          text    NOT NULL CHECK (status IN ('pending', 'sent', 'dead')),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_ms bigint  NOT NULL,
  last_error      text,
  created_ms      bigint  NOT NULL,
  updated_ms      bigint  NOT NULL,
  UNIQUE (sink, idempotency_key)
);
CREATE INDEX notifications_due ON notifications (sink, next_attempt_ms, id) WHERE status = 'pending';
CREATE INDEX notifications_by_status ON notifications (status, id);
CREATE INDEX notifications_by_incident ON notifications (incident_seq, id);

CREATE TABLE cluster_liveness (
  cluster       text   PRIMARY KEY,
  last_alive_ms bigint NOT NULL,
  session_id    text
);

CREATE TABLE store_meta (
  key   text PRIMARY KEY,
  value text NOT NULL
);
`;

/**
 * Forward migrations, oldest first: entry `n` takes the database from version `n` to `n + 1`. Released
 * entries never change; a schema change appends one. The CHECK lists are `model.ts`'s (a test holds them equal).
 */
export const PG_MIGRATIONS: readonly string[] = [V1];

/** The PostgreSQL schema version this build reads and writes. */
export const PG_SCHEMA_VERSION = PG_MIGRATIONS.length;

/** The advisory lock key migrations run under (any constant; "faultline" as a number). */
const MIGRATION_LOCK = 0x6661756c74;

/** A database whose schema is newer than this build knows: it was written by a later faultline. */
export class NewerPostgresSchemaError extends Error {
  constructor(readonly found: number) {
    super(
      `database schema version ${found} is newer than this faultline supports (${PG_SCHEMA_VERSION}); ` +
        "run a newer faultline",
    );
    this.name = "NewerPostgresSchemaError";
  }
}

/**
 * Applies every migration the database lacks, in one transaction under an advisory lock (so replicas
 * opening the same new database migrate it once). Returns the versions before and after. Throws
 * {@link NewerPostgresSchemaError} for a database from a newer faultline, leaving it untouched.
 *
 * @example
 * ```ts
 * const { from, to } = await migratePostgres(sql); // { from: 0, to: 1 } on an empty database
 * ```
 */
export function migratePostgres(sql: postgres.Sql): Promise<{ from: number; to: number }> {
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    await tx.unsafe(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const [row] = await tx<
      { version: number }[]
    >`SELECT COALESCE(max(version), 0)::int AS version FROM schema_migrations`;
    const from = row?.version ?? 0;
    if (from > PG_SCHEMA_VERSION) throw new NewerPostgresSchemaError(from);
    for (let version = from; version < PG_SCHEMA_VERSION; version++) {
      await tx.unsafe(PG_MIGRATIONS[version] ?? "");
      await tx`INSERT INTO schema_migrations (version) VALUES (${version + 1})`;
    }
    return { from, to: PG_SCHEMA_VERSION };
  });
}
