/**
 * faultline's side of a supervised agent run: waits for the agent supervisor (its own child, or one
 * a previous faultline started and this one adopted) to end, asks it to stop on abort, and reads
 * the outcome it wrote. The supervisor enforces the timeout itself; faultline only steps in when
 * the supervisor is stuck or gone: it then ends every process carrying the run's tag itself.
 */
import type { Logger } from "../log.ts";
import { endTaggedProcesses } from "./orphans.ts";
import { type AgentResult, readResultFile, writeResultFile } from "./outcome.ts";

/** How long past its own deadline a supervisor may take to report before faultline ends the run itself. */
export const SUPERVISOR_SLACK_MS = 10_000;

/** The run being watched. */
export interface WatchedRun {
  incident_id: string;
  cluster: string;
  run_id: number;
  workspace: string;
  /** When the run started (epoch ms). */
  started_ms: number;
}

/** How to watch one supervisor. */
export interface WatchOptions {
  /** Settles once the supervisor process has ended. */
  exited: Promise<unknown>;
  /**
   * Settles once the supervisor has written its result (it exits next): the result is read then,
   * without waiting for the process to exit. Absent: read once it has exited.
   */
  finished?: Promise<unknown>;
  /**
   * Settles once the supervisor has taken charge of the agent (until then a stop request would kill
   * it before it can pass the stop on); absent: it already has.
   */
  ready?: Promise<unknown>;
  /** Sends a signal to the supervisor process (a no-op once it has ended). */
  kill(signal: NodeJS.Signals): void;
  /** `agent.timeout_seconds` in ms: the supervisor ends the agent then. */
  timeoutMs: number;
  /** Between SIGTERM and SIGKILL when the agent is ended early. */
  graceMs: number;
  /** Aborting asks the supervisor to end the agent (recorded as interrupted). */
  abort?: AbortSignal;
  log: Logger;
}

/**
 * Waits for the supervisor of `run` and resolves with the run's result: the one it wrote, or, when
 * it ended without one or had to be killed, one faultline writes (interrupted or timed out).
 */
export async function watchSupervisor(run: WatchedRun, options: WatchOptions): Promise<AgentResult> {
  const { log, graceMs } = options;
  let forced: "timeout" | "abort" | null = null;
  let forceTimer: ReturnType<typeof setTimeout> | undefined;
  const force = (reason: "timeout" | "abort"): void => {
    forced ??= reason;
    log.error("agent supervisor did not finish in time, ending the run", {
      incident_id: run.incident_id,
      run_id: run.run_id,
      reason,
    });
    options.kill("SIGKILL");
  };
  const onAbort = (): void => {
    void Promise.race([options.ready, options.exited]).then(() => options.kill("SIGTERM"));
    clearTimeout(forceTimer);
    forceTimer = setTimeout(() => force("abort"), graceMs + SUPERVISOR_SLACK_MS);
  };
  const deadline = run.started_ms + options.timeoutMs + graceMs + SUPERVISOR_SLACK_MS;
  forceTimer = setTimeout(() => force("timeout"), Math.max(0, deadline - Date.now()));
  if (options.abort?.aborted) onAbort();
  else options.abort?.addEventListener("abort", onAbort, { once: true });
  try {
    const early = await Promise.race([
      options.exited.then(() => null),
      (options.finished ?? options.exited).then(() =>
        readResultFile(run.workspace, run.incident_id, run.run_id),
      ),
    ]);
    // The supervisor ended the agent and its leftovers before it wrote this.
    if (early && forced === null) return early;
    await options.exited;
  } finally {
    clearTimeout(forceTimer);
    options.abort?.removeEventListener("abort", onAbort);
  }
  const leftovers = await endTaggedProcesses(run.incident_id, run.workspace);
  if (leftovers > 0) {
    log.warn("agent left processes behind, killed them", { incident_id: run.incident_id, count: leftovers });
  }
  const written = forced === null ? readResultFile(run.workspace, run.incident_id, run.run_id) : null;
  if (written) return written;
  if (forced === null) {
    log.warn("agent supervisor ended without recording an outcome: the run counts as interrupted", {
      incident_id: run.incident_id,
      run_id: run.run_id,
    });
  }
  return recordResult(run, { timed_out: forced === "timeout", interrupted: forced !== "timeout" });
}

/** Writes (best effort) and returns the result of a run whose supervisor recorded none. */
function recordResult(run: WatchedRun, how: { timed_out: boolean; interrupted: boolean }): AgentResult {
  const finished = Date.now();
  const result: AgentResult = {
    incident_id: run.incident_id,
    cluster: run.cluster,
    run_id: run.run_id,
    exit_code: null,
    signal: null,
    ...how,
    duration_ms: Math.max(0, finished - run.started_ms),
    started_at: new Date(run.started_ms).toISOString(),
    finished_at: new Date(finished).toISOString(),
    error: null,
  };
  try {
    writeResultFile(run.workspace, result);
  } catch {
    // The store records it anyway.
  }
  return result;
}
