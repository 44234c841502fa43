/**
 * Agent runs on PostgreSQL once claimed: their end (with the agent's output and the notifications it
 * causes, one transaction), their pid, the runs a replica left open, and recovery of a replica's
 * interrupted runs (this one's at start-up, or a dead one's when its lease expired).
 */
import { logger } from "../../log.ts";
import {
  type Incident,
  IncidentStateError,
  type OpenRun,
  type RecoverOptions,
  type RunEnd,
  type RunStatus,
  runStatusOf,
} from "../model.ts";
import type { NotifyTrigger } from "../outbox.ts";
import {
  INCIDENT_COLUMNS,
  type IncidentRow,
  type RunRow,
  SELECT_RUNS,
  toAgentRun,
  toIncident,
} from "../rows.ts";
import { toRunOutputRow } from "../run-outputs.ts";
import type { Settings } from "../settings.ts";
import type { RecoverResult } from "../store-api.ts";
import type { PgClient, PgTransaction } from "./connect.ts";
import { allocateIds, enqueueNotifications } from "./outbox.ts";

const log = logger({ component: "incident-store" });

/** The notification a run's end causes: succeeded → triaged; failed and timed out → failed. */
const TRIGGER_OF_RUN: Partial<Record<RunStatus, NotifyTrigger>> = {
  succeeded: "triaged",
  failed: "failed",
  timed_out: "failed",
};

const SELECT_INCIDENT = `SELECT ${INCIDENT_COLUMNS.join(", ")} FROM incidents WHERE seq = $1`;

/**
 * Inside `tx`: records how run `runId` ended and what its agent left, sets its incident's status and
 * queues the notifications that causes. A run already closed is left as it is (warned). Throws
 * {@link IncidentStateError} for an unknown run.
 */
export async function finishRun(
  tx: PgTransaction,
  runId: number,
  outcome: RunEnd,
  settings: Settings,
): Promise<Incident> {
  const run = await runRow(tx, runId);
  const status = runStatusOf(outcome);
  const now = settings.now().getTime();
  const started = parseTime(outcome.started_at) ?? run.started_ms;
  const finished = parseTime(outcome.finished_at) ?? now;
  const closed = await tx`
    UPDATE runs SET status = ${status}, exit_code = ${outcome.exit_code}, signal = ${outcome.signal},
      started_ms = ${started}, finished_ms = ${finished}, duration_ms = ${Math.round(outcome.duration_ms)},
      workspace = COALESCE(NULLIF(${outcome.workspace}, ''), workspace), error = ${outcome.error}
    WHERE id = ${runId} AND finished_ms IS NULL`;
  if (closed.count === 0) {
    log.warn("agent run already closed, outcome not recorded", {
      incident_id: run.incident_id,
      run_id: runId,
      recorded_status: run.status,
      outcome_status: status,
    });
    return toIncident(await incidentRow(tx, run.incident_seq));
  }
  if (outcome.output) {
    const o = toRunOutputRow(runId, outcome.output);
    await tx`
      INSERT INTO run_outputs (run_id, report, report_status, report_bytes, report_truncated, report_error,
        summary, summary_status, summary_error)
      VALUES (${o.run_id}, ${o.report}, ${o.report_status}, ${o.report_bytes}, ${o.report_truncated === 1},
        ${o.report_error}, ${o.summary}, ${o.summary_status}, ${o.summary_error})
      ON CONFLICT (run_id) DO UPDATE SET report = excluded.report, report_status = excluded.report_status,
        report_bytes = excluded.report_bytes, report_truncated = excluded.report_truncated,
        report_error = excluded.report_error, summary = excluded.summary,
        summary_status = excluded.summary_status, summary_error = excluded.summary_error`;
  }
  const changed = await tx`
    UPDATE incidents SET status = ${status}, workspace = COALESCE(NULLIF(${outcome.workspace}, ''), workspace),
      updated_ms = ${now}
    WHERE seq = ${run.incident_seq} AND status = 'running'`;
  const incident = toIncident(await incidentRow(tx, run.incident_seq));
  const trigger = TRIGGER_OF_RUN[status];
  if (changed.count > 0 && trigger && settings.notify) {
    const closedRun = { ...toAgentRun(await runRow(tx, runId)), output: outcome.output ?? null };
    const planned = settings.notify({ trigger, incident, run: closedRun });
    if (planned.length > 0) {
      const messages = new Set(planned.map((p) => p.message)).size;
      const ids = await allocateIds(tx, { incidents: 0, events: 0, messages });
      const entries = planned.map((p) => ({ seqOf: () => run.incident_seq, trigger, planned: p }));
      await enqueueNotifications(tx, entries, ids.messages, now);
    }
  }
  return incident;
}

/**
 * Inside `tx`: closes `replica`'s open runs as interrupted (except `keepRunIds`), marks running
 * incidents left without an open run interrupted, and requeues interrupted incidents within
 * `maxAttempts` when `retry`.
 */
export async function recoverInterrupted(
  tx: PgTransaction,
  options: RecoverOptions,
  replica: string,
  now: number,
): Promise<RecoverResult> {
  const keep = [...(options.keepRunIds ?? [])];
  await tx`
    UPDATE runs SET status = 'interrupted', finished_ms = ${now},
      duration_ms = GREATEST(0, ${now}::int8 - started_ms), error = 'faultline stopped while the agent was running'
    WHERE finished_ms IS NULL AND replica = ${replica} AND NOT (id = ANY(${keep}::int8[]))`;
  const interrupted = await tx`
    UPDATE incidents AS i SET status = 'interrupted', updated_ms = ${now}
    WHERE i.status = 'running'
      AND NOT EXISTS (SELECT 1 FROM runs AS r WHERE r.incident_seq = i.seq AND r.finished_ms IS NULL)`;
  const requeued = options.retry
    ? await tx`
        UPDATE incidents SET status = 'queued', updated_ms = ${now}
        WHERE status = 'interrupted' AND attempts < ${options.maxAttempts}`
    : { count: 0 };
  return { interrupted: interrupted.count, requeued: requeued.count };
}

/** The runs `replica` started that have no recorded end, oldest first. */
export async function openRuns(sql: PgClient, replica: string): Promise<OpenRun[]> {
  return sql<OpenRun[]>`
    SELECT r.id AS run_id, i.id AS incident_id, i.cluster, r.pid, r.workspace, r.started_ms
    FROM runs AS r JOIN incidents AS i ON i.seq = r.incident_seq
    WHERE r.finished_ms IS NULL AND r.replica = ${replica}
    ORDER BY r.id`;
}

async function runRow(tx: PgTransaction, id: number): Promise<RunRow> {
  const [row] = await tx.unsafe<RunRow[]>(`${SELECT_RUNS} WHERE r.id = $1`, [id]);
  if (row === undefined) throw new IncidentStateError(`no agent run ${id}`);
  return row;
}

async function incidentRow(tx: PgTransaction, seq: number): Promise<IncidentRow> {
  const [row] = await tx.unsafe<IncidentRow[]>(SELECT_INCIDENT, [seq]);
  if (row === undefined) throw new IncidentStateError(`no incident #${seq}`);
  return row;
}

function parseTime(text: string): number | null {
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}
