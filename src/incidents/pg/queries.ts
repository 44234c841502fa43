/**
 * The PostgreSQL store's read side: incident listings, one incident with its events, runs (with their
 * outputs) and notifications, and the fleet-wide counts (summed from the count deltas) health, metrics
 * and the queue bound read. Plain reads over the pool; each answer is one statement's snapshot (a
 * detail is read in one read-only transaction).
 */
import { OUTPUT_STATUSES, type RunOutput, type TriageSummary } from "../../agent/output.ts";
import { DEFAULT_EVENT_LIMIT, type Incident, type IncidentDetail, type IncidentFilter } from "../model.ts";
import { clampLimit } from "../queries.ts";
import {
  type CountRow,
  type EventRow,
  INCIDENT_COLUMNS,
  type IncidentRow,
  oneOf,
  type RunRow,
  SELECT_RUNS,
  toAgentRun,
  toIncident,
  toStoredEvent,
} from "../rows.ts";
import type { PgClient } from "./connect.ts";
import { notificationsOf } from "./outbox.ts";

const SELECT_INCIDENTS = `SELECT ${INCIDENT_COLUMNS.join(", ")} FROM incidents`;

/** Incidents, newest first, optionally of one cluster and/or status; the limit is clamped. */
export async function listIncidents(sql: PgClient, filter: IncidentFilter): Promise<Incident[]> {
  const rows = await sql.unsafe<IncidentRow[]>(
    `${SELECT_INCIDENTS} WHERE ($1::text IS NULL OR cluster = $1) AND ($2::text IS NULL OR status = $2)
     ORDER BY seq DESC LIMIT $3`,
    [filter.cluster ?? null, filter.status ?? null, clampLimit(filter.limit)],
  );
  return rows.map(toIncident);
}

/** An incident with its most recent events (at most `eventLimit`), its runs and notifications; null if unknown. */
export function incidentDetail(
  sql: PgClient,
  id: string,
  eventLimit: number = DEFAULT_EVENT_LIMIT,
): Promise<IncidentDetail | null> {
  const limit = Math.max(1, Math.floor(eventLimit));
  return sql.begin("isolation level repeatable read read only", async (tx) => {
    const [row] = await tx.unsafe<IncidentRow[]>(`${SELECT_INCIDENTS} WHERE id = $1`, [id]);
    if (row === undefined) return null;
    const [events, runs, outputs, notifications] = await Promise.all([
      tx.unsafe<EventRow[]>(
        `SELECT * FROM (SELECT id, received_ms, event FROM events WHERE incident_seq = $1
           ORDER BY id DESC LIMIT $2) AS newest ORDER BY id`,
        [row.seq, limit],
      ),
      tx.unsafe<RunRow[]>(`${SELECT_RUNS} WHERE r.incident_seq = $1 ORDER BY r.id`, [row.seq]),
      tx.unsafe<OutputRow[]>(
        "SELECT o.* FROM run_outputs AS o JOIN runs AS r ON r.id = o.run_id WHERE r.incident_seq = $1",
        [row.seq],
      ),
      notificationsOf(tx, row.seq),
    ]);
    const byRun = new Map(outputs.map((o) => [o.run_id, toRunOutput(o)]));
    return {
      incident: toIncident(row),
      events: events.map((event) => toStoredEvent(event, row.id)),
      runs: runs.map((run) => ({ ...toAgentRun(run), output: byRun.get(run.id) ?? null })),
      notifications,
    };
  });
}

/** Incidents per cluster, status and skip reason (non-zero sums of the count deltas). */
export function countRows(sql: PgClient): Promise<CountRow[]> {
  return sql<CountRow[]>`
    SELECT cluster, status, skip_reason, sum(n)::int8 AS n FROM incident_count_deltas
    GROUP BY cluster, status, skip_reason HAVING sum(n) <> 0 ORDER BY cluster`;
}

/** Queued incidents across every replica (a count over the queue's partial index). */
export async function queueDepth(sql: PgClient): Promise<number> {
  const [row] = await sql<{ n: number }[]>`SELECT count(*) AS n FROM incidents WHERE status = 'queued'`;
  return row?.n ?? 0;
}

interface OutputRow {
  run_id: number;
  report: string | null;
  report_status: string;
  report_bytes: number | null;
  report_truncated: boolean;
  report_error: string | null;
  summary: string | null;
  summary_status: string;
  summary_error: string | null;
}

function toRunOutput(row: OutputRow): RunOutput {
  return {
    report: row.report,
    report_status: oneOf(OUTPUT_STATUSES, row.report_status, "report status"),
    report_bytes: row.report_bytes,
    report_truncated: row.report_truncated,
    report_error: row.report_error,
    // Stored by the store itself from a validated summary.
    summary: row.summary === null ? null : (JSON.parse(row.summary) as TriageSummary),
    summary_status: oneOf(OUTPUT_STATUSES, row.summary_status, "summary status"),
    summary_error: row.summary_error,
  };
}
