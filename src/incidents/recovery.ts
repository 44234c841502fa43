/**
 * Start-up recovery: ends what is left of agents a crashed faultline left running, marks their incidents
 * `interrupted`, and queues them again while they have had fewer than `agent.max_attempts` runs.
 */
import { endOrphanedAgent } from "../agent/orphans.ts";
import type { AgentConfig } from "../config/types.ts";
import { logger } from "../log.ts";
import type { IncidentStore } from "./store.ts";

const log = logger({ component: "recovery" });

/** Recovers the store left by a previous faultline; call after taking the state_dir lock, before dispatching. */
export async function recoverInterruptedRuns(store: IncidentStore, agent: AgentConfig | null): Promise<void> {
  for (const run of store.openRuns()) {
    if (run.pid === null) continue;
    const ended = await endOrphanedAgent(run.pid, run.incident_id);
    if (ended > 0)
      log.warn("ended an agent left running by a previous faultline", {
        incident_id: run.incident_id,
        pid: run.pid,
      });
  }
  store.recoverInterrupted({
    retry: agent?.retry_interrupted ?? false,
    maxAttempts: agent?.max_attempts ?? 1,
  });
}
