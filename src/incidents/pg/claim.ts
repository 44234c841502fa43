/**
 * Handing queued incidents to agents across replicas: one `FOR UPDATE SKIP LOCKED` pick in SQLite's
 * fairness order (the oldest queued incident of the cluster served least recently), so concurrent
 * claimers, in one process or in several replicas, each get a different incident and none waits for
 * another's pick. The run records the replica that claimed it.
 */

import type { Incident } from "../model.ts";
import {
  INCIDENT_COLUMNS,
  type IncidentRow,
  parseStoredEvent,
  type RunRow,
  toAgentRun,
  toIncident,
} from "../rows.ts";
import type { ClaimedRun } from "../store-api.ts";
import type { PgTransaction } from "./connect.ts";

/** The incident columns of `incidents AS i`, for RETURNING and SELECT lists. */
const INCIDENT_LIST = INCIDENT_COLUMNS.map((c) => `i.${c}`).join(", ");

/**
 * How many of the first queued incidents in fair order a claim tries to lock before it looks at the
 * whole queue: a bounded (top-N) sort instead of sorting the queue, and more candidates than replicas
 * claiming at once, so the whole-queue pick is only needed when every candidate was just taken.
 */
const CANDIDATES = 32;

/** The fair order: the cluster served least recently (never served first), then the oldest incident. */
const FAIR_ORDER = "ORDER BY COALESCE(t.last_served, 0), q.seq";

/**
 * Claims (status `running`, one more attempt) the first queued incident in fair order that no other
 * transaction holds, among the first `candidates` (null: the whole queue); undefined when none.
 */
async function pick(
  tx: PgTransaction,
  now: number,
  candidates: number | null,
): Promise<IncidentRow | undefined> {
  const among =
    candidates === null
      ? ""
      : `AND q.seq IN (SELECT c.seq FROM incidents AS c LEFT JOIN cluster_turns AS t ON t.cluster = c.cluster
           WHERE c.status = 'queued' ORDER BY COALESCE(t.last_served, 0), c.seq LIMIT ${candidates})`;
  const [row] = await tx.unsafe<IncidentRow[]>(
    `UPDATE incidents AS i SET status = 'running', attempts = i.attempts + 1, updated_ms = $1
     WHERE i.seq = (
       SELECT q.seq FROM incidents AS q LEFT JOIN cluster_turns AS t ON t.cluster = q.cluster
       WHERE q.status = 'queued' ${among}
       ${FAIR_ORDER}
       LIMIT 1 FOR UPDATE OF q SKIP LOCKED)
     AND i.status = 'queued'
     RETURNING ${INCIDENT_LIST}`,
    [now],
  );
  return row;
}

/**
 * Inside `tx`: claims the next queued incident for `replica` (status `running`, one more attempt), opens
 * its run in `workspaceOf(incident)` and records the cluster's turn; with the incident's newest event.
 * Null when nothing queued is free.
 */
export async function claimNext(
  tx: PgTransaction,
  replica: string,
  workspaceOf: (incident: Incident) => string,
  now: number,
): Promise<ClaimedRun | null> {
  const row = (await pick(tx, now, CANDIDATES)) ?? (await pick(tx, now, null));
  if (row === undefined) return null;
  const workspace = workspaceOf(toIncident(row));
  const newest = tx<{ event: string }[]>`
    SELECT event FROM events WHERE incident_seq = ${row.seq} ORDER BY id DESC LIMIT 1`;
  const opened = tx<{ id: number }[]>`
    WITH run AS (
      INSERT INTO runs (incident_seq, attempt, status, started_ms, workspace, replica)
      VALUES (${row.seq}, ${row.attempts}, 'running', ${now}, ${workspace}, ${replica})
      RETURNING id),
    incident AS (UPDATE incidents SET workspace = ${workspace} WHERE seq = ${row.seq}),
    turn AS (
      INSERT INTO cluster_turns (cluster, last_served) SELECT ${row.cluster}, id FROM run
      ON CONFLICT (cluster) DO UPDATE SET last_served = excluded.last_served)
    SELECT id FROM run`;
  const [[event], [run]] = await Promise.all([newest, opened]);
  if (run === undefined) throw new Error(`no run opened for incident ${row.id}`);
  const runRow: RunRow = {
    id: run.id,
    incident_seq: row.seq,
    incident_id: row.id,
    attempt: row.attempts,
    status: "running",
    exit_code: null,
    signal: null,
    started_ms: now,
    finished_ms: null,
    duration_ms: null,
    workspace,
    error: null,
  };
  return {
    incident: toIncident({ ...row, workspace }),
    run: toAgentRun(runRow),
    event: event === undefined ? null : parseStoredEvent(event.event),
  };
}
