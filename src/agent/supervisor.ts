/**
 * The agent supervisor: what runs inside `faultline __agent-supervisor` (see `cli/agent-supervisor.ts`),
 * one small process per agent run, between faultline and the agent. It starts the agent, ends it at
 * its timeout or when told to stop (SIGTERM), ends whatever the agent leaves behind (every process
 * carrying the run's tag, `setsid` escapees included), and writes the outcome atomically to
 * `result.json`, whether or not faultline is still there. That is what lets a faultline killed
 * with SIGKILL record, on its next start, the true exit code of an agent that finished meanwhile.
 *
 * While faultline listens, the supervisor tells it what happens as JSON lines on stdout
 * ({@link SupervisorNote}), the last one as soon as `result.json` is written (faultline records the
 * outcome then, not once this process has exited: a pod lost in between loses less); once faultline
 * is gone, writes fail (EPIPE) and are ignored.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { constants } from "node:os";
import { join } from "node:path";
import { errorMessage } from "../log.ts";
import { type Subprocess, spawnProcess } from "../runtime/spawn.ts";
import { type CapturedOutput, captureOutput } from "./capped-log.ts";
import { INCIDENT_VARIABLE } from "./env.ts";
import { endTaggedProcesses } from "./orphans.ts";
import { type AgentResult, writeResultFile } from "./outcome.ts";
import { AGENT_LOG_FILE, EVENT_FILE } from "./workspace.ts";

/** What one supervised run is: the agent's argv and the run's coordinates and limits. */
export interface SupervisorSpec {
  incident_id: string;
  cluster: string;
  run_id: number;
  /** Absolute path of the incident workspace (holding `event.json`). */
  workspace: string;
  /** The agent's argv. */
  command: string[];
  timeout_ms: number;
  /** Between SIGTERM and SIGKILL when the agent is ended early. */
  kill_grace_ms: number;
  /** `agent.log` is capped at this size (`agent.max_log_bytes`), with a marker. */
  max_log_bytes: number;
}

/** How long the agent's output may still flow into `agent.log` after it exited (its leftovers are ended by then). */
const OUTPUT_DRAIN_MS = 1000;

/** Why the agent was ended early. */
export type StopReason = "timeout" | "abort";

/** A line the supervisor writes on stdout for faultline to log. */
export type SupervisorNote =
  | { note: "started"; pid: number }
  | { note: "stopping"; reason: StopReason; pid: number }
  | { note: "killing"; pid: number }
  | { note: "leftovers"; count: number }
  /** `result.json` is written: faultline may record the outcome now, without waiting for this process to exit. */
  | { note: "finished" };

/**
 * Runs the agent of `spec` to its end and writes `result.json`; resolves with the result. The
 * agent's environment is this process's own (faultline gave it the agent's) plus the incident tag.
 * `stop` aborting (SIGTERM, in the supervisor process) ends the agent as interrupted.
 */
export async function superviseAgent(spec: SupervisorSpec, stop: AbortSignal): Promise<AgentResult> {
  const startedAt = new Date();
  const startedMs = performance.now();
  const finish = (fields: Partial<AgentResult>): AgentResult => {
    const result: AgentResult = {
      incident_id: spec.incident_id,
      cluster: spec.cluster,
      run_id: spec.run_id,
      exit_code: null,
      signal: null,
      timed_out: false,
      interrupted: false,
      duration_ms: Math.round(performance.now() - startedMs),
      started_at: startedAt.toISOString(),
      finished_at: new Date().toISOString(),
      error: null,
      ...fields,
    };
    writeResultFile(spec.workspace, result);
    tell({ note: "finished" });
    return result;
  };
  if (stop.aborted) return finish({ interrupted: true });
  let child: Subprocess;
  let output: CapturedOutput;
  try {
    ({ child, output } = await spawnAgent(spec));
  } catch (error) {
    const message = `cannot start agent: ${errorMessage(error)}`;
    appendToAgentLog(spec.workspace, `faultline: ${message}\n`);
    return finish({ error: message });
  }
  tell({ note: "started", pid: child.pid });
  const stopReason = await waitForAgent(child, spec, stop);
  const leftovers = await endTaggedProcesses(spec.incident_id, spec.workspace);
  if (leftovers > 0) tell({ note: "leftovers", count: leftovers });
  await output.close(OUTPUT_DRAIN_MS);
  return finish({
    exit_code: child.exitCode,
    signal: signalName(child.signalCode),
    timed_out: stopReason === "timeout",
    interrupted: stopReason === "abort",
  });
}

/**
 * Starts the agent in its own session, stdin from `event.json`, stdout+stderr captured into `agent.log`
 * (appended, capped at `max_log_bytes`: see capped-log.ts). The supervisor reads the pipes, so an agent
 * that prints after faultline died still has a reader.
 */
async function spawnAgent(spec: SupervisorSpec): Promise<{ child: Subprocess; output: CapturedOutput }> {
  const eventFd = openSync(join(spec.workspace, EVENT_FILE), "r");
  try {
    const child = await spawnProcess(spec.command, {
      cwd: spec.workspace,
      env: { ...process.env, [INCIDENT_VARIABLE]: spec.incident_id },
      stdin: eventFd,
      stdout: "pipe",
      stderr: "pipe",
      detached: true,
    });
    const output = captureOutput(
      [child.stdout, child.stderr].filter((stream) => stream !== null),
      join(spec.workspace, AGENT_LOG_FILE),
      spec.max_log_bytes,
    );
    return { child, output };
  } finally {
    closeSync(eventFd);
  }
}

/**
 * Waits for the agent to exit, ending it early at its timeout or on `stop`: SIGTERM to its process
 * group, SIGKILL after the grace. Resolves with why it was ended early, or null.
 */
async function waitForAgent(
  child: Subprocess,
  spec: SupervisorSpec,
  stop: AbortSignal,
): Promise<StopReason | null> {
  let stopReason: StopReason | null = null;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const end = (reason: StopReason): void => {
    if (stopReason !== null) return;
    stopReason = reason;
    tell({ note: "stopping", reason, pid: child.pid });
    signalGroup(child, "SIGTERM");
    killTimer = setTimeout(() => {
      tell({ note: "killing", pid: child.pid });
      signalGroup(child, "SIGKILL");
    }, spec.kill_grace_ms);
  };
  const timeoutTimer = setTimeout(() => end("timeout"), spec.timeout_ms);
  const onStop = (): void => end("abort");
  stop.addEventListener("abort", onStop, { once: true });
  try {
    await child.exited;
  } finally {
    clearTimeout(timeoutTimer);
    clearTimeout(killTimer);
    stop.removeEventListener("abort", onStop);
  }
  return stopReason;
}

/** Sends `signal` to the agent's whole process group, or to the agent alone if there is no group. */
function signalGroup(child: Subprocess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // No such group (or not ours): at least reach the agent itself; a no-op once it has exited.
    child.kill(signal);
  }
}

/** Writes a note for faultline; ignored once nobody reads (faultline died: EPIPE). */
function tell(note: SupervisorNote): void {
  try {
    writeSync(1, `${JSON.stringify(note)}\n`);
  } catch {
    // faultline is gone; result.json is what it will read.
  }
}

/** Appends `text` to the workspace's `agent.log`, best effort. */
export function appendToAgentLog(workspace: string, text: string): void {
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

/** A signal by name (as the runtime reports it), or by number for ones it cannot name. */
export function signalName(signal: string | number | null): string | null {
  if (signal === null || typeof signal === "string") return signal;
  const named = Object.entries(constants.signals).find(([, number]) => number === signal);
  return named ? named[0] : String(signal);
}
