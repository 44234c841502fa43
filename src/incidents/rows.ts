/**
 * The incident tables as SQLite returns them, and their conversion to the store's model. Each
 * table has ONE column list, checked against its row type at compile time; the SELECT lists, the
 * INSERT columns and placeholders, the UPDATE assignments and their parameters all derive from it.
 *
 * Times are integer milliseconds (`*_ms`) in rows and RFC 3339 strings in the model; statuses,
 * reasons and severities are checked against their lists on the way out, so a row a newer or
 * damaged database holds never passes as a valid value.
 */

import { type FaultEvent, type FaultResource, SEVERITIES, type Severity } from "../events/fault.ts";
import type { SqlDatabase } from "../runtime/sqlite.ts";
import { exhaustiveList } from "./exhaustive.ts";
import {
  type AgentRun,
  type ClusterLiveness,
  INCIDENT_SKIP_REASONS,
  INCIDENT_STATUSES,
  type Incident,
  type IncidentFacts,
  type IncidentSkipReason,
  type IncidentStatus,
  type OpenRun,
  RUN_STATUSES,
  type RunStatus,
  type StoredEvent,
} from "./model.ts";

/** `incidents` as SQLite returns it. */
export interface IncidentRow {
  seq: number;
  id: string;
  cluster: string;
  fault_id: string;
  fault_type: string;
  severity: string;
  resource: string;
  status: string;
  skip_reason: string | null;
  count: number;
  first_seen_ms: number;
  last_seen_ms: number;
  attempts: number;
  workspace: string | null;
  created_ms: number;
  updated_ms: number;
}

/** An `incidents` row about to be inserted (the backend assigns `seq`). */
export type NewIncidentRow = Omit<IncidentRow, "seq">;

/**
 * The parameters of the SQLite store's insert of a new incident: the row's facts, its `seq` (which its
 * id embeds) and its fault key. What every new row has alike (count 1, no attempt, no workspace) is
 * written into the statement, and each time it holds twice (first and last seen, created and updated)
 * is bound once: each bound value costs (measured, bun:sqlite: 17 bound → 12, ~2 µs less per insert).
 */
export type SqliteIncidentInsert = Pick<
  IncidentRow,
  "seq" | "id" | "cluster" | "fault_id" | "fault_type" | "severity" | "resource" | "status" | "skip_reason"
> & { received_ms: number; now: number; fault_key: number };

/** `events` as SQLite returns it (without the incident it belongs to). */
export interface EventRow {
  id: number;
  received_ms: number;
  event: string;
}

/** An `events` row about to be inserted: the event as JSON, and its incident. */
export type NewEventRow = {
  incident_seq: number;
  received_ms: number;
  event: string;
};

/** `runs` as SQLite returns it (with its incident's public id). */
export interface RunRow {
  id: number;
  incident_seq: number;
  incident_id: string;
  attempt: number;
  status: string;
  exit_code: number | null;
  signal: string | null;
  started_ms: number;
  finished_ms: number | null;
  duration_ms: number | null;
  workspace: string;
  error: string | null;
}

/** A `runs` row about to be inserted, when its agent starts. */
export type NewRunRow = Pick<RunRow, "incident_seq" | "attempt" | "status" | "started_ms" | "workspace">;

/** `incident_counts` as SQLite returns it. */
export interface CountRow {
  cluster: string;
  status: string;
  skip_reason: string;
  n: number;
}

/** Every `incidents` column, in table order. */
export const INCIDENT_COLUMNS = exhaustiveList<keyof IncidentRow>()([
  "seq",
  "id",
  "cluster",
  "fault_id",
  "fault_type",
  "severity",
  "resource",
  "status",
  "skip_reason",
  "count",
  "first_seen_ms",
  "last_seen_ms",
  "attempts",
  "workspace",
  "created_ms",
  "updated_ms",
]);
/** The `events` columns a read returns. */
const EVENT_COLUMNS = exhaustiveList<keyof EventRow>()(["id", "received_ms", "event"]);
/** The `events` columns an insert sets. */
const NEW_EVENT_COLUMNS = exhaustiveList<keyof NewEventRow>()(["incident_seq", "received_ms", "event"]);
/** The `runs` columns a read returns (`incident_id` comes from the joined incident). */
const RUN_COLUMNS = exhaustiveList<keyof RunRow>()([
  "id",
  "incident_seq",
  "incident_id",
  "attempt",
  "status",
  "exit_code",
  "signal",
  "started_ms",
  "finished_ms",
  "duration_ms",
  "workspace",
  "error",
]);
/** The `runs` columns an insert sets. */
const NEW_RUN_COLUMNS = exhaustiveList<keyof NewRunRow>()([
  "incident_seq",
  "attempt",
  "status",
  "started_ms",
  "workspace",
]);
/** The `incidents` columns a repeat of its fault changes. */
export const ABSORB_COLUMNS = [
  "count",
  "last_seen_ms",
  "severity",
  "status",
  "skip_reason",
  "updated_ms",
] as const;

/** `SELECT <every incidents column> FROM incidents`, to be followed by a WHERE or ORDER BY. */
export const SELECT_INCIDENTS = `SELECT ${INCIDENT_COLUMNS.join(", ")} FROM incidents`;
/** `SELECT <every events column> FROM events`. */
export const SELECT_EVENTS = `SELECT ${EVENT_COLUMNS.join(", ")} FROM events`;
/** `SELECT <every runs column> FROM runs AS r JOIN incidents AS i`, to be followed by a WHERE. */
export const SELECT_RUNS = `SELECT ${RUN_COLUMNS.map((c) => (c === "incident_id" ? "i.id AS incident_id" : `r.${c}`)).join(", ")}
  FROM runs AS r JOIN incidents AS i ON i.seq = r.incident_seq`;

/**
 * `INSERT INTO table (a, b) VALUES ($a, $b)`: the columns and their named parameters.
 *
 * @example
 * ```ts
 * insertInto("events", ["incident_seq", "event"]);
 * // "INSERT INTO events (incident_seq, event) VALUES ($incident_seq, $event)"
 * ```
 */
function insertInto(table: string, columns: readonly string[]): string {
  return `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map((c) => `$${c}`).join(", ")})`;
}

/** `a = $a, b = $b`: an UPDATE's assignments of the named parameters to their columns. */
function assignments(columns: readonly string[]): string {
  return columns.map((c) => `${c} = $${c}`).join(", ");
}

/** The named parameters `columns` take from `row`, and only those (strict binding refuses extras). */
export function pick<Row, const K extends keyof Row>(row: Row, columns: readonly K[]): Pick<Row, K> {
  const picked = {} as Pick<Row, K>;
  for (const column of columns) picked[column] = row[column];
  return picked;
}

/** Every statement the store's writes and queue run, compiled once when it opens. */
export function prepareStatements(db: SqlDatabase) {
  return {
    incidentById: db.prepare<IncidentRow, IdLookup>(SELECT_INCIDENT_BY_ID),
    incidentBySeq: db.prepare<IncidentRow, { seq: number }>(`${SELECT_INCIDENTS} WHERE seq = $seq`),
    // A fault the dedup window let go past its bound (`dedup_spill`, by its integer key: few rows), then
    // the exact fault and the window.
    spilledIncident: db.prepare<
      Pick<IncidentRow, "seq">,
      { fault_key: number; cluster: string; fault_id: string; since: number }
    >(
      `SELECT i.seq FROM dedup_spill s JOIN incidents i ON i.seq = s.seq
       WHERE s.fault_key = $fault_key AND i.cluster = $cluster AND i.fault_id = $fault_id
         AND i.last_seen_ms >= $since
       ORDER BY i.last_seen_ms DESC LIMIT 1`,
    ),
    // An entry the dedup window drops past its bound, kept (again: a fault may be dropped more than once).
    spill: db.prepare<never, { fault_key: number; seq: number }>(
      "INSERT OR IGNORE INTO dedup_spill (fault_key, seq) VALUES ($fault_key, $seq)",
    ),
    // Spilled entries no lookup can need any more: their incident is gone, or last seen before `since`.
    pruneSpill: db.prepare<never, { since: number }>(
      `DELETE FROM dedup_spill WHERE NOT EXISTS
         (SELECT 1 FROM incidents i WHERE i.seq = dedup_spill.seq AND i.last_seen_ms >= $since)`,
    ),
    // The `seq` the next new incident gets (the store assigns it, inside its write transaction).
    nextSeq: db.prepare<{ seq: number }, []>("SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM incidents"),
    insertIncident: db.prepare<never, SqliteIncidentInsert>(INSERT_NEW_INCIDENT),
    absorbEvent: db.prepare<never, Pick<IncidentRow, "seq" | (typeof ABSORB_COLUMNS)[number]>>(
      `UPDATE incidents SET ${assignments(ABSORB_COLUMNS)} WHERE seq = $seq`,
    ),
    // A repeat joins its incident: counted, `last_seen` moved, the worse severity kept; the row as it now is.
    absorbRepeat: db.prepare<
      IncidentRow,
      { seq: number; received_ms: number; severity: string; updated_ms: number }
    >(
      `UPDATE incidents SET count = count + 1, last_seen_ms = MAX(last_seen_ms, $received_ms),
         severity = CASE
           WHEN severity = 'critical' OR $severity = 'critical' THEN 'critical'
           WHEN severity = 'warning' OR $severity = 'warning' THEN 'warning'
           ELSE 'info' END,
         updated_ms = $updated_ms
       WHERE seq = $seq
       RETURNING ${INCIDENT_COLUMNS.join(", ")}`,
    ),
    // New incidents are counted once per batch (a per-row trigger cost more than the rest of the insert).
    countIncidents: db.prepare<never, { cluster: string; status: string; skip_reason: string; n: number }>(
      `INSERT INTO incident_counts (cluster, status, skip_reason, n) VALUES ($cluster, $status, $skip_reason, $n)
       ON CONFLICT DO UPDATE SET n = n + excluded.n`,
    ),
    // Changes when another connection (another process) has written the database since this one last looked.
    dataVersion: db.prepare<{ data_version: number }, []>("PRAGMA data_version"),
    // The dedup window's start: the incidents last seen since a moment (a scan of the covering index).
    seenSince: db.prepare<
      Pick<IncidentRow, "seq" | "cluster" | "fault_id" | "last_seen_ms">,
      { since: number }
    >("SELECT seq, cluster, fault_id, last_seen_ms FROM incidents WHERE last_seen_ms >= $since"),
    insertEvent: db.prepare<never, NewEventRow>(insertInto("events", NEW_EVENT_COLUMNS)),
    queueDepth: db.prepare<{ n: number }, []>(
      "SELECT COALESCE(SUM(n), 0) AS n FROM incident_counts WHERE status = 'queued'",
    ),
    // The oldest queued incident of the cluster served least recently (never served first; ties go
    // to the cluster whose head is older).
    nextQueued: db.prepare<IncidentRow, []>(
      `${SELECT_INCIDENTS} WHERE seq = (
         SELECT head.seq FROM (
           SELECT cluster, MIN(seq) AS seq FROM incidents WHERE status = 'queued' GROUP BY cluster
         ) AS head
         LEFT JOIN cluster_turns AS turn ON turn.cluster = head.cluster
         ORDER BY COALESCE(turn.last_served, 0), head.seq
         LIMIT 1)`,
    ),
    startIncident: db.prepare<never, { seq: number; workspace: string; now: number }>(
      `UPDATE incidents SET status = 'running', attempts = attempts + 1, workspace = $workspace,
         updated_ms = $now
       WHERE seq = $seq AND status = 'queued'`,
    ),
    insertRun: db.prepare<never, NewRunRow>(insertInto("runs", NEW_RUN_COLUMNS)),
    recordTurn: db.prepare<never, { cluster: string; run_id: number }>(
      `INSERT INTO cluster_turns (cluster, last_served) VALUES ($cluster, $run_id)
       ON CONFLICT DO UPDATE SET last_served = excluded.last_served`,
    ),
    runById: db.prepare<RunRow, { id: number }>(`${SELECT_RUNS} WHERE r.id = $id`),
    finishRun: db.prepare<
      never,
      Pick<RunRow, "id" | "status" | "exit_code" | "signal" | "started_ms" | "workspace" | "error"> & {
        finished_ms: number;
        duration_ms: number;
      }
    >(
      `UPDATE runs SET status = $status, exit_code = $exit_code, signal = $signal, started_ms = $started_ms,
         finished_ms = $finished_ms, duration_ms = $duration_ms,
         workspace = COALESCE(NULLIF($workspace, ''), workspace), error = $error
       WHERE id = $id AND finished_ms IS NULL`,
    ),
    finishIncident: db.prepare<never, { seq: number; status: string; workspace: string; now: number }>(
      `UPDATE incidents SET status = $status, workspace = COALESCE(NULLIF($workspace, ''), workspace),
         updated_ms = $now
       WHERE seq = $seq AND status = 'running'`,
    ),
    // Runs whose id is in $keep (a JSON array: runs adopted, still going) stay open.
    interruptOpenRuns: db.prepare<never, { now: number; error: string; keep: string }>(
      `UPDATE runs SET status = 'interrupted', finished_ms = $now,
         duration_ms = MAX(0, $now - started_ms), error = $error
       WHERE finished_ms IS NULL AND id NOT IN (SELECT value FROM json_each($keep))`,
    ),
    interruptRunning: db.prepare<never, { now: number }>(
      `UPDATE incidents SET status = 'interrupted', updated_ms = $now
       WHERE status = 'running' AND seq NOT IN (SELECT incident_seq FROM runs WHERE finished_ms IS NULL)`,
    ),
    requeueInterrupted: db.prepare<never, { max_attempts: number; now: number }>(
      `UPDATE incidents SET status = 'queued', updated_ms = $now
       WHERE status = 'interrupted' AND attempts < $max_attempts`,
    ),
    recordPid: db.prepare<never, { id: number; pid: number }>("UPDATE runs SET pid = $pid WHERE id = $id"),
    openRuns: db.prepare<OpenRun, []>(
      `SELECT r.id AS run_id, i.id AS incident_id, i.cluster, r.pid, r.workspace, r.started_ms
       FROM runs r JOIN incidents i ON i.seq = r.incident_seq
       WHERE r.finished_ms IS NULL ORDER BY r.id`,
    ),
    recordLiveness: db.prepare<never, ClusterLiveness>(
      `INSERT INTO cluster_liveness (cluster, last_alive_ms, session_id)
       VALUES ($cluster, $last_alive_ms, $session_id)
       ON CONFLICT DO UPDATE SET last_alive_ms = excluded.last_alive_ms, session_id = excluded.session_id`,
    ),
    liveness: db.prepare<ClusterLiveness, []>(
      "SELECT cluster, last_alive_ms, session_id FROM cluster_liveness ORDER BY cluster",
    ),
    // The newest event of each of a cluster's incidents seen since a moment, newest first.
    recentEvents: db.prepare<{ event: string }, { cluster: string; since: number; limit: number }>(
      `SELECT e.event FROM incidents AS i
       JOIN events AS e ON e.id = (SELECT max(id) FROM events WHERE incident_seq = i.seq)
       WHERE i.cluster = $cluster AND i.last_seen_ms >= $since AND e.received_ms >= $since
       ORDER BY e.id DESC LIMIT $limit`,
    ),
    recordOpened: db.prepare<never, { now: string }>(
      `INSERT INTO store_meta (key, value) VALUES ('last_opened_at', $now)
       ON CONFLICT DO UPDATE SET value = excluded.value`,
    ),
  };
}

/** A new incident's values by column (see {@link SqliteIncidentInsert}): every `incidents` column, and `fault_key`. */
const NEW_INCIDENT_VALUES: Record<keyof IncidentRow | "fault_key", string> = {
  seq: "$seq",
  id: "$id",
  cluster: "$cluster",
  fault_id: "$fault_id",
  fault_type: "$fault_type",
  severity: "$severity",
  resource: "$resource",
  status: "$status",
  skip_reason: "$skip_reason",
  count: "1",
  first_seen_ms: "$received_ms",
  last_seen_ms: "$received_ms",
  attempts: "0",
  workspace: "NULL",
  created_ms: "$now",
  updated_ms: "$now",
  fault_key: "$fault_key",
};

/** The SQLite store's insert of a new incident (the row {@link newIncidentRow} describes, and its fault key). */
const INSERT_NEW_INCIDENT = `INSERT INTO incidents (${Object.keys(NEW_INCIDENT_VALUES).join(", ")})
  VALUES (${Object.values(NEW_INCIDENT_VALUES).join(", ")})`;

/** What an incident is looked up by: its id, and the `seq` the id ends in (-1 if none: see `id.ts`). */
export interface IdLookup {
  id: string;
  seq: number;
}

/**
 * One incident by id through the primary key: the `seq` of a legacy id (made before ids ended in their
 * `seq`) from `incident_legacy_ids`, else the `seq` the id ends in; the whole id compared all the same.
 */
export const SELECT_INCIDENT_BY_ID = `${SELECT_INCIDENTS}
  WHERE seq = COALESCE((SELECT seq FROM incident_legacy_ids WHERE id = $id), $seq) AND id = $id`;

/** The statements {@link prepareStatements} compiles, by name. */
export type Statements = ReturnType<typeof prepareStatements>;

/**
 * The row of an incident `event` starts (received at `received`, recorded at `now`, both epoch ms), with
 * its `seq` and the id its backend made (see `id.ts`; PostgreSQL numbers it on insert: pass 0), in the
 * triage state the router and the queue gave it.
 */
export function newIncidentRow(
  event: IncidentFacts,
  seq: number,
  id: string,
  received: number,
  now: number,
  triage: { status: IncidentStatus; skip_reason: IncidentSkipReason | null },
): IncidentRow {
  return {
    seq,
    id,
    cluster: event.cluster,
    fault_id: event.fault_id,
    fault_type: event.fault_type,
    severity: event.severity,
    resource: JSON.stringify(event.resource),
    status: triage.status,
    skip_reason: triage.skip_reason,
    count: 1,
    first_seen_ms: received,
    last_seen_ms: received,
    attempts: 0,
    workspace: null,
    created_ms: now,
    updated_ms: now,
  };
}

/** The parameters of the SQLite store's insert of the new incident `row` (see {@link newIncidentRow}), keyed `faultKey`. */
export function newIncidentInsert(row: IncidentRow, faultKey: number): SqliteIncidentInsert {
  return {
    seq: row.seq,
    id: row.id,
    cluster: row.cluster,
    fault_id: row.fault_id,
    fault_type: row.fault_type,
    severity: row.severity,
    resource: row.resource,
    status: row.status,
    skip_reason: row.skip_reason,
    received_ms: row.first_seen_ms,
    now: row.created_ms,
    fault_key: faultKey,
  };
}

/** An incident row as the model's {@link Incident}. */
export function toIncident(row: IncidentRow): Incident {
  return withResource(row, parseJson<FaultResource>(row.resource));
}

/** A row just inserted from an event, as an {@link Incident} with the event's `resource` (no JSON parsed). */
export function toNewIncident(row: IncidentRow, resource: FaultResource): Incident {
  return withResource(row, resource);
}

function withResource(row: IncidentRow, resource: FaultResource): Incident {
  return {
    id: row.id,
    cluster: row.cluster,
    fault_id: row.fault_id,
    fault_type: row.fault_type,
    severity: toSeverity(row.severity),
    resource,
    status: toIncidentStatus(row.status),
    skip_reason: row.skip_reason === null ? null : toSkipReason(row.skip_reason),
    count: row.count,
    first_seen: iso(row.first_seen_ms),
    last_seen: iso(row.last_seen_ms),
    attempts: row.attempts,
    workspace: row.workspace,
    created_at: iso(row.created_ms),
    updated_at: iso(row.updated_ms),
  };
}

/** An event row of incident `incidentId` as the model's {@link StoredEvent}. */
export function toStoredEvent(row: EventRow, incidentId: string): StoredEvent {
  return {
    id: row.id,
    incident_id: incidentId,
    received_at: iso(row.received_ms),
    event: parseJson<FaultEvent>(row.event),
  };
}

/** A stored event's JSON (the store wrote it from a validated event) as a {@link FaultEvent}. */
export function parseStoredEvent(text: string): FaultEvent {
  return parseJson<FaultEvent>(text);
}

/** A run row as the model's {@link AgentRun}; its output (another table, see `run-outputs.ts`) is null here. */
export function toAgentRun(row: RunRow): AgentRun {
  return {
    id: row.id,
    incident_id: row.incident_id,
    attempt: row.attempt,
    status: toRunStatus(row.status),
    exit_code: row.exit_code,
    signal: row.signal,
    started_at: iso(row.started_ms),
    finished_at: row.finished_ms === null ? null : iso(row.finished_ms),
    duration_ms: row.duration_ms,
    workspace: row.workspace,
    error: row.error,
    output: null,
  };
}

/** The last two times formatted (an ingested batch repeats them: `created`/`updated`, `first`/`last_seen`). */
const isoCache = { ms: [Number.NaN, Number.NaN], text: ["", ""], next: 0 };

function iso(ms: number): string {
  const cache = isoCache;
  if (cache.ms[0] === ms) return cache.text[0] as string;
  if (cache.ms[1] === ms) return cache.text[1] as string;
  const text = new Date(ms).toISOString();
  cache.ms[cache.next] = ms;
  cache.text[cache.next] = text;
  cache.next = 1 - cache.next;
  return text;
}

/** JSON the store wrote itself from a value of type `T`. */
function parseJson<T>(text: string): T {
  return JSON.parse(text) as T;
}

/** `value` when it is one of `allowed`; else throws naming `what` (a value a newer or damaged database holds). */
export function oneOf<T extends string>(allowed: readonly T[], value: string, what: string): T {
  if (!(allowed as readonly string[]).includes(value))
    throw new Error(`unexpected ${what} in the incident store: ${JSON.stringify(value)}`);
  return value as T;
}

/** A stored severity, checked against {@link SEVERITIES}. */
export function toSeverity(value: string): Severity {
  return oneOf(SEVERITIES, value, "severity");
}

/** A stored incident status, checked against {@link INCIDENT_STATUSES}. */
export function toIncidentStatus(value: string): IncidentStatus {
  return oneOf(INCIDENT_STATUSES, value, "incident status");
}

function toRunStatus(value: string): RunStatus {
  return oneOf(RUN_STATUSES, value, "run status");
}

/** A stored skip reason, checked against {@link INCIDENT_SKIP_REASONS}. */
export function toSkipReason(value: string): IncidentSkipReason {
  return oneOf(INCIDENT_SKIP_REASONS, value, "skip reason");
}
