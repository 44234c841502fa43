/**
 * Runs the triage agent: {@link runAgent} runs one job in its incident workspace and reports how it
 * ended (it never rejects). The incident dispatcher (`incidents/dispatcher.ts`) serves the durable
 * queue and calls it for each incident, at most `agent.max_concurrent` at a time.
 *
 * Each agent runs in its own process group (session), so a timeout or stop reaches everything it
 * started, and anything it leaves behind when it exits is killed.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { constants } from "node:os";
import { join, resolve } from "node:path";
import type { AgentConfig } from "../config/types.ts";
import type { FaultEvent } from "../events/fault.ts";
import { errorMessage, type Logger, logger } from "../log.ts";
import { type CapturedOutput, captureOutput } from "./capped-log.ts";
import { createWorkspace, EVENT_FILE, workspacePath } from "./workspace.ts";

/** File in the workspace that receives the agent's stdout and stderr (appended). */
export const AGENT_LOG_FILE = "agent.log";
/** File in the workspace that records how the agent ended ({@link AgentResult}). */
export const RESULT_FILE = "result.json";
/** How long the agent's output may still flow into `agent.log` after it exited (its group is gone by then). */
const OUTPUT_DRAIN_MS = 1000;
/** How long an agent gets between SIGTERM and SIGKILL, unless told otherwise. */
export const DEFAULT_KILL_GRACE_MS = 5000;

/** One agent run: which incident, which cluster's credentials, which event. */
export interface AgentJob {
  incident_id: string;
  cluster: { name: string; kubeconfig: string };
  event: FaultEvent;
}

/** What `result.json` holds: how one agent run ended. */
export interface AgentResult {
  incident_id: string;
  cluster: string;
  /** The agent's exit status; null when it was ended by a signal or never started. */
  exit_code: number | null;
  /** The signal that ended the agent (e.g. `SIGKILL`), else null. */
  signal: string | null;
  /** faultline ended it because it ran past `timeout_seconds`. */
  timed_out: boolean;
  /** faultline ended it (or never started it) because the run was aborted, e.g. on shutdown. */
  interrupted: boolean;
  duration_ms: number;
  /** RFC 3339. */
  started_at: string;
  /** RFC 3339. */
  finished_at: string;
  /** Why the agent could not run at all (workspace or spawn failure), else null. */
  error: string | null;
}

/** How one agent run ended, plus where it ran. */
export interface AgentOutcome extends AgentResult {
  /** Absolute path of the incident workspace. */
  workspace: string;
}

/** Options for {@link runAgent}. */
export interface RunAgentOptions {
  agent: AgentConfig;
  /** faultline's state directory; workspaces go under `<stateDir>/incidents/`. */
  stateDir: string;
  /** Milliseconds between SIGTERM and SIGKILL when the agent is ended early. */
  killGraceMs?: number;
  /** Aborting ends the agent now (SIGTERM, then SIGKILL after the grace) and marks it interrupted. */
  signal?: AbortSignal;
  /** Called once the agent process exists, with its pid (= its process-group id), e.g. to record it. */
  onSpawn?: (pid: number) => void;
}

/** Why faultline ended an agent early. */
type StopReason = "timeout" | "abort";

/** How the agent process ended. */
interface ProcessEnd {
  exit_code: number | null;
  signal: string | null;
  stopReason: StopReason | null;
}

/** A run whose agent could not be started. */
const NEVER_STARTED: ProcessEnd = { exit_code: null, signal: null, stopReason: null };
/** A run aborted before its agent was started. */
const ABORTED_BEFORE_START: ProcessEnd = { exit_code: null, signal: null, stopReason: "abort" };

/** The moments a run is measured between. */
interface RunClock {
  startedAt: Date;
  startedMs: number;
}

/**
 * Runs `job` to completion: creates its workspace (with `event.json`), runs `agent.command` there
 * with the cluster's kubeconfig, writes `agent.log` and `result.json`, logs the start and end, and
 * resolves with the outcome. Never rejects: a workspace or spawn failure is an outcome with `error`.
 */
export async function runAgent(job: AgentJob, opts: RunAgentOptions): Promise<AgentOutcome> {
  const log = logger({ cluster: job.cluster.name });
  const clock: RunClock = { startedAt: new Date(), startedMs: performance.now() };
  let workspace: string;
  try {
    workspace = await createWorkspace(opts.stateDir, job.incident_id, job.event);
  } catch (error) {
    const where = safeWorkspacePath(opts.stateDir, job.incident_id);
    return failedToStart(job, where, clock, `cannot create workspace: ${errorMessage(error)}`, log);
  }
  if (opts.signal?.aborted) {
    return report(finish(job, workspace, clock, ABORTED_BEFORE_START, null), log);
  }
  let child: Bun.Subprocess;
  let output: CapturedOutput;
  try {
    ({ child, output } = spawnAgent(job, workspace, opts.agent));
  } catch (error) {
    return failedToStart(job, workspace, clock, `cannot start agent: ${errorMessage(error)}`, log);
  }
  log.info("agent started", { incident_id: job.incident_id, pid: child.pid, workspace });
  opts.onSpawn?.(child.pid);
  const end = await supervise(child, job, opts, log);
  await output.close(OUTPUT_DRAIN_MS);
  return report(finish(job, workspace, clock, end, null), log);
}

/**
 * Starts the agent in its own session, stdin from `event.json`, stdout+stderr captured into `agent.log`
 * (appended, capped at `agent.max_log_bytes`: see capped-log.ts).
 */
function spawnAgent(
  job: AgentJob,
  workspace: string,
  agent: AgentConfig,
): { child: Bun.Subprocess; output: CapturedOutput } {
  const eventFd = openSync(join(workspace, EVENT_FILE), "r");
  try {
    const child = Bun.spawn(agent.command, {
      cwd: workspace,
      env: agentEnv(job, workspace),
      stdin: eventFd,
      stdout: "pipe",
      stderr: "pipe",
      detached: true,
    });
    const output = captureOutput(
      [child.stdout, child.stderr],
      join(workspace, AGENT_LOG_FILE),
      agent.max_log_bytes,
    );
    return { child, output };
  } finally {
    closeSync(eventFd);
  }
}

/** faultline's own environment plus the cluster's kubeconfig and the incident's coordinates. */
function agentEnv(job: AgentJob, workspace: string): Record<string, string | undefined> {
  return {
    ...process.env,
    KUBECONFIG: resolve(job.cluster.kubeconfig),
    FAULTLINE_CLUSTER: job.cluster.name,
    FAULTLINE_INCIDENT_ID: job.incident_id,
    FAULTLINE_WORKSPACE: workspace,
  };
}

/**
 * Waits for the agent to exit, ending it early on timeout or abort: SIGTERM to its process group,
 * then SIGKILL after the grace. Once it has exited, anything left in its group is killed.
 */
async function supervise(
  child: Bun.Subprocess,
  job: AgentJob,
  opts: RunAgentOptions,
  log: Logger,
): Promise<ProcessEnd> {
  const graceMs = opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  let stopReason: StopReason | null = null;
  let killTimer: Timer | undefined;
  const stop = (reason: StopReason): void => {
    if (stopReason !== null) return;
    stopReason = reason;
    const message = reason === "timeout" ? "agent timed out, terminating" : "agent interrupted, terminating";
    log.warn(message, { incident_id: job.incident_id, pid: child.pid, kill_grace_ms: graceMs });
    signalGroup(child, "SIGTERM");
    killTimer = setTimeout(() => {
      log.warn("agent still running after SIGTERM, killing", {
        incident_id: job.incident_id,
        pid: child.pid,
      });
      signalGroup(child, "SIGKILL");
    }, graceMs);
  };
  const timeoutTimer = setTimeout(() => stop("timeout"), opts.agent.timeout_seconds * 1000);
  const onAbort = (): void => stop("abort");
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await child.exited;
  } finally {
    clearTimeout(timeoutTimer);
    clearTimeout(killTimer);
    opts.signal?.removeEventListener("abort", onAbort);
  }
  if (killLeftovers(child.pid)) {
    log.warn("agent left processes behind, killed them", { incident_id: job.incident_id, pid: child.pid });
  }
  return { exit_code: child.exitCode, signal: signalName(child.signalCode), stopReason };
}

/** Sends `signal` to the agent's whole process group, or to the agent alone if there is no group. */
function signalGroup(child: Bun.Subprocess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // No such group (or not ours): at least reach the agent itself; a no-op once it has exited.
    child.kill(signal);
  }
}

/** SIGKILLs whatever is still in the (exited) agent's process group. True if anything was there. */
function killLeftovers(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    // Gone in the meantime.
  }
  return true;
}

/** Bun reports a signal by name, or by number for ones it cannot name. */
function signalName(signal: NodeJS.Signals | number | null): string | null {
  if (signal === null || typeof signal === "string") return signal;
  const named = Object.entries(constants.signals).find(([, number]) => number === signal);
  return named ? named[0] : String(signal);
}

/** The workspace path for reporting, even when the incident id is unusable. */
function safeWorkspacePath(stateDir: string, incidentId: string): string {
  try {
    return workspacePath(stateDir, incidentId);
  } catch {
    return "";
  }
}

/** The outcome of a run that never got going, also noted in `agent.log` when the workspace exists. */
async function failedToStart(
  job: AgentJob,
  workspace: string,
  clock: RunClock,
  error: string,
  log: Logger,
): Promise<AgentOutcome> {
  log.error("agent failed to start", { incident_id: job.incident_id, workspace, error });
  if (workspace !== "") appendToAgentLog(workspace, `faultline: ${error}\n`);
  const outcome = finish(job, workspace, clock, NEVER_STARTED, error);
  return report(outcome, log, false);
}

function appendToAgentLog(workspace: string, text: string): void {
  try {
    const fd = openSync(join(workspace, AGENT_LOG_FILE), "a");
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
  } catch {
    // The workspace itself is what failed; the outcome carries the error.
  }
}

/**
 * The outcome of a run that never started, with why in `error`: for callers that cannot even build a
 * job (e.g. the incident's cluster is no longer configured).
 */
export function notStarted(
  incident: { incident_id: string; cluster: string },
  workspace: string,
  error: string,
): AgentOutcome {
  const clock: RunClock = { startedAt: new Date(), startedMs: performance.now() };
  return finish(
    { incident_id: incident.incident_id, cluster: { name: incident.cluster } },
    workspace,
    clock,
    NEVER_STARTED,
    error,
  );
}

function finish(
  job: { incident_id: string; cluster: { name: string } },
  workspace: string,
  clock: RunClock,
  end: ProcessEnd,
  error: string | null,
): AgentOutcome {
  return {
    incident_id: job.incident_id,
    cluster: job.cluster.name,
    workspace,
    exit_code: end.exit_code,
    signal: end.signal,
    timed_out: end.stopReason === "timeout",
    interrupted: end.stopReason === "abort",
    duration_ms: Math.round(performance.now() - clock.startedMs),
    started_at: clock.startedAt.toISOString(),
    finished_at: new Date().toISOString(),
    error,
  };
}

/** Writes `result.json` (when there is a workspace) and, unless already logged, the "agent finished" line. */
async function report(outcome: AgentOutcome, log: Logger, logFinished = true): Promise<AgentOutcome> {
  if (outcome.workspace !== "") await writeResult(outcome, log);
  if (logFinished) {
    const succeeded = outcome.exit_code === 0 && !outcome.timed_out && !outcome.interrupted;
    (succeeded ? log.info : log.warn)("agent finished", {
      incident_id: outcome.incident_id,
      exit_code: outcome.exit_code,
      signal: outcome.signal,
      timed_out: outcome.timed_out,
      interrupted: outcome.interrupted,
      duration_ms: outcome.duration_ms,
    });
  }
  return outcome;
}

async function writeResult(outcome: AgentOutcome, log: Logger): Promise<void> {
  const { workspace, ...result } = outcome;
  try {
    await writeFile(
      join(workspace, RESULT_FILE),
      `${JSON.stringify(result satisfies AgentResult, null, 2)}\n`,
    );
  } catch (error) {
    log.error("cannot write result.json", { incident_id: outcome.incident_id, error: errorMessage(error) });
  }
}
