/**
 * The incident store's read side for the HTTP API and `faultline incidents`: incident listings,
 * one incident with its events, runs (with their outputs) and notifications, and the per-cluster
 * counts health and metrics show.
 * Plain reads: they never change the database, and SQLite errors reach the caller as they are.
 */
import type { FaultEvent } from "../events/fault.ts";
import type { SqlDatabase } from "../runtime/sqlite.ts";
import { seqOfIncidentId } from "./id.ts";
import {
  DEFAULT_EVENT_LIMIT,
  DEFAULT_LIST_LIMIT,
  type Incident,
  type IncidentDetail,
  type IncidentFilter,
  type IncidentSkipReason,
  type IncidentStatus,
  MAX_LIST_LIMIT,
} from "./model.ts";
import type { NotificationOutbox } from "./outbox.ts";
import {
  type CountRow,
  type EventRow,
  type IdLookup,
  type IncidentRow,
  type RunRow,
  SELECT_EVENTS,
  SELECT_INCIDENT_BY_ID,
  SELECT_INCIDENTS,
  SELECT_RUNS,
  toAgentRun,
  toIncident,
  toIncidentStatus,
  toSkipReason,
  toStoredEvent,
} from "./rows.ts";
import { prepareRunOutputStatements, runOutputsOf } from "./run-outputs.ts";

/** Every statement the read queries run, compiled once when the store opens. */
function prepareQueries(db: SqlDatabase) {
  const newestFirst = "ORDER BY seq DESC LIMIT $limit";
  return {
    incidentById: db.prepare<IncidentRow, IdLookup>(SELECT_INCIDENT_BY_ID),
    listAll: db.prepare<IncidentRow, { limit: number }>(`${SELECT_INCIDENTS} ${newestFirst}`),
    listByCluster: db.prepare<IncidentRow, { cluster: string; limit: number }>(
      `${SELECT_INCIDENTS} WHERE cluster = $cluster ${newestFirst}`,
    ),
    listByStatus: db.prepare<IncidentRow, { status: string; limit: number }>(
      `${SELECT_INCIDENTS} WHERE status = $status ${newestFirst}`,
    ),
    listByClusterAndStatus: db.prepare<IncidentRow, { cluster: string; status: string; limit: number }>(
      `${SELECT_INCIDENTS} WHERE cluster = $cluster AND status = $status ${newestFirst}`,
    ),
    recentEvents: db.prepare<EventRow, { seq: number; limit: number }>(
      `SELECT * FROM (${SELECT_EVENTS} WHERE incident_seq = $seq ORDER BY id DESC LIMIT $limit) ORDER BY id`,
    ),
    runsOfIncident: db.prepare<RunRow, { seq: number }>(
      `${SELECT_RUNS} WHERE r.incident_seq = $seq ORDER BY r.id`,
    ),
    counts: db.prepare<CountRow, []>(
      "SELECT cluster, status, skip_reason, n FROM incident_counts WHERE n > 0 ORDER BY cluster",
    ),
  };
}

/** The read queries of one open database. */
export class IncidentQueries {
  readonly #statements: ReturnType<typeof prepareQueries>;
  readonly #outputs: ReturnType<typeof prepareRunOutputStatements>;
  readonly #outbox: NotificationOutbox;

  /** Compiles the queries against `db` (which must have the current schema); `outbox` is its outbox. */
  constructor(db: SqlDatabase, outbox: NotificationOutbox) {
    this.#statements = prepareQueries(db);
    this.#outputs = prepareRunOutputStatements(db);
    this.#outbox = outbox;
  }

  /** Incidents, newest first, optionally of one cluster and/or status; the limit is clamped. */
  list(filter: IncidentFilter): Incident[] {
    const limit = clampLimit(filter.limit);
    const { cluster, status } = filter;
    const s = this.#statements;
    let rows: IncidentRow[];
    if (cluster !== undefined && status !== undefined) {
      rows = s.listByClusterAndStatus.all({ cluster, status, limit });
    } else if (cluster !== undefined) rows = s.listByCluster.all({ cluster, limit });
    else if (status !== undefined) rows = s.listByStatus.all({ status, limit });
    else rows = s.listAll.all({ limit });
    return rows.map(toIncident);
  }

  /** An incident with its most recent events (at most `eventLimit`) and all its runs; null if unknown. */
  detail(id: string, eventLimit: number = DEFAULT_EVENT_LIMIT): IncidentDetail | null {
    const limit = Math.max(1, Math.floor(eventLimit));
    const row = this.#statements.incidentById.get({ id, seq: seqOfIncidentId(id) });
    if (row === null) return null;
    const events = this.#statements.recentEvents.all({ seq: row.seq, limit });
    const runs = this.#statements.runsOfIncident.all({ seq: row.seq });
    const outputs = runOutputsOf(this.#outputs, row.seq);
    return {
      incident: toIncident(row),
      events: events.map((event) => toStoredEvent(event, row.id)),
      runs: runs.map((run) => ({ ...toAgentRun(run), output: outputs.get(run.id) ?? null })),
      notifications: this.#outbox.ofIncident(row.seq),
    };
  }

  /** The newest event of the incident numbered `seq`, or null when it has none. */
  newestEvent(seq: number, id: string): FaultEvent | null {
    const [row] = this.#statements.recentEvents.all({ seq, limit: 1 });
    return row ? toStoredEvent(row, id).event : null;
  }

  /** The non-zero rows of `incident_counts`: incidents per cluster, status and skip reason. */
  countRows(): CountRow[] {
    return this.#statements.counts.all();
  }

  /** Releases the compiled statements (before the database closes). */
  finalize(): void {
    for (const statement of Object.values(this.#statements)) statement.finalize();
    for (const statement of Object.values(this.#outputs)) statement.finalize();
  }
}

/** Incident counts per cluster and status (statuses with none are left out), from {@link IncidentQueries.countRows}. */
export function countsByCluster(
  rows: readonly CountRow[],
): Map<string, Partial<Record<IncidentStatus, number>>> {
  return tally(rows, (row) => toIncidentStatus(row.status));
}

/** Skipped-incident counts per cluster and reason, from {@link IncidentQueries.countRows}. */
export function skipsByCluster(
  rows: readonly CountRow[],
): Map<string, Partial<Record<IncidentSkipReason, number>>> {
  return tally(rows, (row) => (row.status === "skipped" ? toSkipReason(row.skip_reason) : null));
}

/** Sums `n` per cluster and per the key `keyOf` gives a row (rows it gives null are left out). */
function tally<K extends string>(
  rows: readonly CountRow[],
  keyOf: (row: CountRow) => K | null,
): Map<string, Partial<Record<K, number>>> {
  const counts = new Map<string, Partial<Record<K, number>>>();
  for (const row of rows) {
    const key = keyOf(row);
    if (key === null) continue;
    const perKey: Partial<Record<K, number>> = counts.get(row.cluster) ?? {};
    perKey[key] = (perKey[key] ?? 0) + row.n;
    counts.set(row.cluster, perKey);
  }
  return counts;
}

/** A listing limit: the default when absent, else an integer from 1 to {@link MAX_LIST_LIMIT}. */
export function clampLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_LIST_LIMIT;
  return Math.min(MAX_LIST_LIMIT, Math.max(1, Math.floor(limit)));
}
