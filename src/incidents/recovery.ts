/**
 * Start-up recovery, before anything is dispatched: settles every run a previous faultline left open.
 *
 * - Its agent supervisor is still going: the run is adopted (returned; the dispatcher waits for it,
 *   up to its timeout) and its incident stays `running`.
 * - The supervisor is gone but recorded the outcome in `result.json`: the run is recorded as it
 *   ended (its true exit code), as if faultline had been there to see it.
 * - Neither (truly lost, e.g. the machine rebooted): whatever still carries the incident's tag is
 *   ended, the run and its incident become `interrupted`, and interrupted incidents are queued again
 *   while they have had fewer than `agent.max_attempts` runs.
 *
 * The supervisor is checked before the result file: a supervisor that ends in between has always
 * written its result before ending, so a run is never taken for lost while it finishes.
 */
import { findSupervisor, type UnfinishedRun } from "../agent/adopt.ts";
import { endOrphanedAgent, endTaggedProcesses } from "../agent/orphans.ts";
import { readResultFile } from "../agent/outcome.ts";
import { logFinishedRun } from "../agent/runner.ts";
import type { AgentConfig } from "../config/types.ts";
import { logger } from "../log.ts";
import type { IncidentStore } from "./store-api.ts";

const log = logger({ component: "recovery" });

/** A run left open whose supervisor is still going: for `Dispatcher.adopt`. */
export type AdoptedRun = UnfinishedRun & { pid: number };

/**
 * Recovers the store left by a previous faultline; call after taking the state_dir lock, before
 * dispatching. Resolves with the runs still going, to be adopted (none without an agent config).
 */
export async function recoverInterruptedRuns(
  store: IncidentStore,
  agent: AgentConfig | null,
): Promise<AdoptedRun[]> {
  const adopted: AdoptedRun[] = [];
  for (const run of await store.openRuns()) {
    const pid = findSupervisor(run);
    if (pid !== null && agent) {
      adopted.push({ ...run, pid });
      continue;
    }
    if (pid !== null) process.kill(pid, "SIGTERM"); // no agent configured any more: stop it
    const result = pid === null ? readResultFile(run.workspace, run.incident_id, run.run_id) : null;
    if (result) {
      const incident = await store.finishRun(run.run_id, { ...result, workspace: run.workspace });
      log.info("recorded an agent run that finished while faultline was down", {
        cluster: run.cluster,
        incident_id: run.incident_id,
        status: incident.status,
      });
      logFinishedRun(result, log.child({ cluster: run.cluster }));
      continue;
    }
    await endLostRun(run);
  }
  await store.recoverInterrupted({
    retry: agent?.retry_interrupted ?? false,
    maxAttempts: agent?.max_attempts ?? 1,
    keepRunIds: adopted.map((run) => run.run_id),
  });
  return adopted;
}

/** Ends whatever is left of a lost run's agent: every process with its tag, and its old process group. */
async function endLostRun(run: UnfinishedRun): Promise<void> {
  let ended = await endTaggedProcesses(run.incident_id, run.workspace, 5000);
  // A faultline from before the supervisor recorded the agent's own pid (its process group).
  if (run.pid !== null) ended += await endOrphanedAgent(run.pid, run.incident_id);
  if (ended > 0)
    log.warn("ended an agent left running by a previous faultline", {
      cluster: run.cluster,
      incident_id: run.incident_id,
      pid: run.pid,
      processes: ended,
    });
}
