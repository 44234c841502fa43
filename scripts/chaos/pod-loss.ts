/**
 * Replica mode: agent runs whose outcome died with their pod. A replica pod kill SIGKILLs faultline
 * with its agents and their supervisors, and takes the pod's disk (the workspace, `result.json`) with
 * it. An agent that had completed when the pod died, but whose outcome was not committed yet, left
 * nothing the fleet can read: a survivor settles the run as interrupted and runs it again. That second
 * run is the only way to a triage result, so the first counts as truly interrupted, but only when the
 * data proves the order:
 * - the agent recorded `end`, and then its replica was killed (`kill-replica` at or after the end);
 * - the run row is `interrupted` and was closed at or after that kill. Settling closes only runs still
 *   open, so the replica had not committed the outcome when it died; a run settled before the kill
 *   (a live replica's run closed by mistake) does not qualify.
 */
import type { AgentExecution } from "./agent.ts";
import type { LoadedRun, StoredRun } from "./load.ts";

/**
 * The completed executions of `executions` whose outcome died with their pod (see the module doc).
 *
 * @example
 * ```ts
 * const lost = outcomesLostWithPod(run, agentExecutions(run.agentRecords));
 * const completed = (e: AgentExecution) => e.ended === "end" && !lost.has(e);
 * ```
 */
export function outcomesLostWithPod(
  run: LoadedRun,
  executions: readonly AgentExecution[],
): Set<AgentExecution> {
  const lost = new Set<AgentExecution>();
  if (!run.meta.replicas) return lost;
  const kills = run.actions
    .filter((a) => a.action === "kill-replica")
    .map((a) => ({ replica: a.target, at: a.at_ms }));
  const seqOf = new Map(run.incidents.map((i) => [i.id, i.seq]));
  const rowsBySeq = new Map<number, StoredRun[]>();
  for (const row of run.runs)
    rowsBySeq.set(row.incident_seq, [...(rowsBySeq.get(row.incident_seq) ?? []), row]);
  for (const execution of executions) {
    const ended = execution.ended_ms;
    if (execution.ended !== "end" || ended === null) continue;
    const row = runOf(rowsBySeq.get(seqOf.get(execution.incident) ?? -1) ?? [], execution.started_ms);
    const closed = row?.finished_ms;
    if (row?.status !== "interrupted" || !row.replica || closed === null || closed === undefined) continue;
    if (kills.some((k) => k.replica === row.replica && k.at >= ended && k.at <= closed)) lost.add(execution);
  }
  return lost;
}

/** The run row an execution started at `startedMs` belongs to: the latest one started before it. */
function runOf(rows: readonly StoredRun[], startedMs: number): StoredRun | undefined {
  let found: StoredRun | undefined;
  for (const row of rows) {
    const at = row.started_ms;
    if (at === undefined || at > startedMs) continue;
    if (!found || at >= (found.started_ms ?? 0)) found = row;
  }
  return found;
}
