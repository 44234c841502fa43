/**
 * Adopting agent runs a previous faultline left: its agent supervisors outlive it (they run in their
 * own session), so after a crash a run may still be going. {@link findSupervisor} tells whether it
 * is, and {@link adoptRun} waits for it like for a run this faultline started (up to its timeout).
 */
import { readFileSync } from "node:fs";
import type { AgentConfig } from "../config/types.ts";
import { logger } from "../log.ts";
import { isRunning } from "../runtime/process.ts";
import { sleep } from "../runtime/sleep.ts";
import type { AgentOutcome } from "./runner.ts";
import { DEFAULT_KILL_GRACE_MS } from "./runner.ts";
import { SUPERVISOR_COMMAND } from "./supervisor-args.ts";
import { type WatchedRun, watchSupervisor } from "./watch.ts";

/** How often an adopted supervisor (not our child: no exit event) is checked. */
const POLL_MS = 100;

/** A run recorded as started whose end is not recorded, as recovery sees it. */
export interface UnfinishedRun extends WatchedRun {
  /** The recorded pid: the agent supervisor's (an older faultline recorded the agent's own). */
  pid: number | null;
}

/**
 * True when `pid` is alive and is the agent supervisor of run `runId` of `incidentId` (its command
 * line says so, so a reused pid never passes). Without `/proc`, a live pid is taken at its word.
 */
export function isSupervisorOf(pid: number, incidentId: string, runId: number): boolean {
  if (!isRunning(pid)) return false;
  let cmdline: string[];
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return process.platform !== "linux";
  }
  const after = (flag: string): string | undefined => cmdline[cmdline.indexOf(flag) + 1];
  return (
    cmdline.includes(SUPERVISOR_COMMAND) &&
    after("--incident") === incidentId &&
    after("--run-id") === String(runId)
  );
}

/** The live supervisor of `run`, or null: then the run is finished (its result says how) or lost. */
export function findSupervisor(run: UnfinishedRun): number | null {
  return run.pid !== null && isSupervisorOf(run.pid, run.incident_id, run.run_id) ? run.pid : null;
}

/**
 * Waits for an adopted run's supervisor `pid` to end (it still ends the agent at its timeout;
 * faultline steps in if it does not) and resolves with the run's outcome. Aborting asks it to end
 * the agent, as for any run at shutdown.
 */
export async function adoptRun(
  run: UnfinishedRun & { pid: number },
  agent: AgentConfig,
  options: { abort?: AbortSignal; killGraceMs?: number } = {},
): Promise<AgentOutcome> {
  const log = logger({ cluster: run.cluster });
  log.info("adopted an agent run left by a previous faultline", {
    incident_id: run.incident_id,
    run_id: run.run_id,
    pid: run.pid,
  });
  const exited = (async () => {
    while (isSupervisorOf(run.pid, run.incident_id, run.run_id)) await sleep(POLL_MS);
  })();
  const result = await watchSupervisor(run, {
    exited,
    kill: (signal) => {
      if (isSupervisorOf(run.pid, run.incident_id, run.run_id)) process.kill(run.pid, signal);
    },
    timeoutMs: agent.timeout_seconds * 1000,
    graceMs: options.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
    abort: options.abort,
    log,
  });
  return { ...result, workspace: run.workspace };
}
