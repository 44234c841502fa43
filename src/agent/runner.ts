/**
 * Runs the triage agent: {@link runAgent} runs one job in its incident workspace and reports how it
 * ended (it never rejects). The incident dispatcher (`incidents/dispatcher.ts`) serves the durable
 * queue and calls it for each incident, at most `agent.max_concurrent` at a time.
 *
 * Between faultline and the agent sits the agent supervisor (`supervisor.ts`, the faultline program
 * itself with a hidden command), in its own session: it ends the agent at its timeout or on stop,
 * ends everything carrying the run's tag once the agent is done, and writes `result.json`
 * atomically, so the outcome survives a faultline that dies meanwhile (see `adopt.ts`).
 */
import { closeSync, openSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import type { AgentConfig } from "../config/types.ts";
import type { FaultEvent } from "../events/fault.ts";
import { errorMessage, type Logger, logger } from "../log.ts";
import { type Subprocess, spawnProcess } from "../runtime/spawn.ts";
import { parseJsonAs } from "../validation/json.ts";
import { agentEnv, INCIDENT_VARIABLE } from "./env.ts";
import { type AgentResult, writeResultFile } from "./outcome.ts";
import { selfCommand } from "./self.ts";
import { appendToAgentLog, type SupervisorNote, type SupervisorSpec } from "./supervisor.ts";
import { supervisorArgs } from "./supervisor-args.ts";
import { watchSupervisor } from "./watch.ts";
import { AGENT_LOG_FILE, createWorkspace, workspacePath } from "./workspace.ts";

/** How long an agent gets between SIGTERM and SIGKILL, unless told otherwise. */
export const DEFAULT_KILL_GRACE_MS = 5000;

/** A supervisor note longer than this is not one (the line is dropped). */
const MAX_NOTE_BYTES = 4096;

/** One agent run: which incident, which cluster's credentials, which event, which stored run. */
export interface AgentJob {
  incident_id: string;
  cluster: { name: string; kubeconfig: string };
  event: FaultEvent;
  /** The store's id of this run; `result.json` carries it. 0 (the default) outside a store. */
  run_id?: number;
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
  /** Called once the agent supervisor exists, with its pid, e.g. to record it for recovery. */
  onSpawn?: (pid: number) => void;
}

/** A run that never got to an agent: why it ended early, if it did. */
interface EarlyEnd {
  interrupted: boolean;
}

/** A run whose agent could not be started. */
const NEVER_STARTED: EarlyEnd = { interrupted: false };
/** A run aborted before its agent was started. */
const ABORTED_BEFORE_START: EarlyEnd = { interrupted: true };

/** The notes a supervisor writes (checked: a line that is not one is ignored). */
const NoteSchema = v.variant("note", [
  v.object({ note: v.literal("started"), pid: v.number() }),
  v.object({ note: v.literal("stopping"), reason: v.picklist(["timeout", "abort"]), pid: v.number() }),
  v.object({ note: v.literal("killing"), pid: v.number() }),
  v.object({ note: v.literal("leftovers"), count: v.number() }),
  v.object({ note: v.literal("finished") }),
]);

/** The moments a run is measured between. */
interface RunClock {
  startedAt: Date;
  startedMs: number;
}

/**
 * Runs `job` to completion: creates its workspace (with `event.json`), starts the agent supervisor
 * (`faultline __agent-supervisor`, in its own session) which runs `agent.command` there with the
 * agent's environment and writes `result.json`, relays what the supervisor reports to the log, and
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
  const graceMs = opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  const spec: SupervisorSpec = {
    incident_id: job.incident_id,
    cluster: job.cluster.name,
    run_id: job.run_id ?? 0,
    workspace,
    command: opts.agent.command,
    timeout_ms: Math.round(opts.agent.timeout_seconds * 1000),
    kill_grace_ms: graceMs,
    max_log_bytes: opts.agent.max_log_bytes,
  };
  let supervisor: Subprocess;
  try {
    supervisor = await spawnSupervisor(job, spec, opts.agent);
  } catch (error) {
    return failedToStart(
      job,
      workspace,
      clock,
      `cannot start the agent supervisor: ${errorMessage(error)}`,
      log,
    );
  }
  opts.onSpawn?.(supervisor.pid);
  const started = Promise.withResolvers<void>();
  const finished = Promise.withResolvers<void>();
  const notes = relayNotes(supervisor.stdout ?? emptyStream(), job.incident_id, workspace, graceMs, log, {
    onStarted: started.resolve,
    onFinished: finished.resolve,
  });
  void notes.then(started.resolve);
  const result = await watchSupervisor(
    { ...spec, started_ms: clock.startedAt.getTime() },
    {
      exited: supervisor.exited,
      ready: started.promise,
      finished: finished.promise,
      kill: (signal) => supervisor.kill(signal),
      timeoutMs: spec.timeout_ms,
      graceMs,
      abort: opts.signal,
      log,
    },
  );
  await Promise.race([notes, finished.promise]); // no note comes after "finished"
  const outcome = { ...result, workspace };
  if (outcome.error !== null) {
    log.error("agent failed to start", { incident_id: job.incident_id, workspace, error: outcome.error });
    return outcome;
  }
  return report(outcome, log, true, false);
}

/**
 * Starts the agent supervisor for `spec` in its own session, with the agent's environment (without
 * the incident tag: the supervisor adds it for the agent, so ending the tagged processes never ends
 * the supervisor). Its stdout carries its notes; its stderr goes to `agent.log`.
 */
async function spawnSupervisor(job: AgentJob, spec: SupervisorSpec, agent: AgentConfig): Promise<Subprocess> {
  const env = agentEnv({
    incident_id: job.incident_id,
    cluster: job.cluster,
    workspace: spec.workspace,
    passthrough: agent.env_passthrough,
  });
  delete env[INCIDENT_VARIABLE];
  const logFd = openSync(join(spec.workspace, AGENT_LOG_FILE), "a");
  try {
    return await spawnProcess([...selfCommand(), ...supervisorArgs(spec)], {
      cwd: spec.workspace,
      env,
      stdin: "ignore",
      stdout: "pipe",
      stderr: logFd,
      detached: true,
    });
  } finally {
    closeSync(logFd);
  }
}

/** A stream that ends at once (a supervisor always has its stdout piped; this only satisfies the type). */
function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (controller) => controller.close() });
}

/** Logs the supervisor's notes (JSON lines on its stdout) as the run's own log lines. */
async function relayNotes(
  stdout: ReadableStream<Uint8Array>,
  incidentId: string,
  workspace: string,
  graceMs: number,
  log: Logger,
  on: { onStarted: () => void; onFinished: () => void },
): Promise<void> {
  const fields = { incident_id: incidentId };
  const relay = (note: SupervisorNote): void => {
    switch (note.note) {
      case "started":
        on.onStarted();
        log.info("agent started", { ...fields, pid: note.pid, workspace });
        return;
      case "stopping":
        log.warn(
          note.reason === "timeout" ? "agent timed out, terminating" : "agent interrupted, terminating",
          {
            ...fields,
            pid: note.pid,
            kill_grace_ms: graceMs,
          },
        );
        return;
      case "killing":
        log.warn("agent still running after SIGTERM, killing", { ...fields, pid: note.pid });
        return;
      case "leftovers":
        log.warn("agent left processes behind, killed them", { ...fields, count: note.count });
        return;
      case "finished":
        on.onFinished();
        return;
    }
  };
  let buffered = "";
  const decoder = new TextDecoder();
  try {
    for await (const chunk of stdout) {
      buffered += decoder.decode(chunk, { stream: true });
      let newline = buffered.indexOf("\n");
      while (newline >= 0) {
        const note = parseNote(buffered.slice(0, newline));
        if (note) relay(note);
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf("\n");
      }
      if (buffered.length > MAX_NOTE_BYTES) buffered = "";
    }
  } catch {
    // The supervisor is gone; its result file says the rest.
  }
}

/** A supervisor note, or null for a line that is not one. */
function parseNote(line: string): SupervisorNote | null {
  return parseJsonAs(NoteSchema, line);
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

/**
 * The outcome of a run that never started, with why in `error`: for callers that cannot even build a
 * job (e.g. the incident's cluster is no longer configured).
 */
export function notStarted(
  incident: { incident_id: string; cluster: string; run_id?: number },
  workspace: string,
  error: string,
): AgentOutcome {
  const clock: RunClock = { startedAt: new Date(), startedMs: performance.now() };
  return finish(
    { incident_id: incident.incident_id, cluster: { name: incident.cluster }, run_id: incident.run_id },
    workspace,
    clock,
    NEVER_STARTED,
    error,
  );
}

function finish(
  job: { incident_id: string; cluster: { name: string }; run_id?: number },
  workspace: string,
  clock: RunClock,
  end: EarlyEnd,
  error: string | null,
): AgentOutcome {
  return {
    incident_id: job.incident_id,
    cluster: job.cluster.name,
    run_id: job.run_id ?? 0,
    workspace,
    exit_code: null,
    signal: null,
    timed_out: false,
    interrupted: end.interrupted,
    duration_ms: Math.round(performance.now() - clock.startedMs),
    started_at: clock.startedAt.toISOString(),
    finished_at: new Date().toISOString(),
    error,
  };
}

/**
 * Writes `result.json` (unless the supervisor did: `write` false; or there is no workspace) and,
 * unless already logged, the "agent finished" line.
 */
async function report(
  outcome: AgentOutcome,
  log: Logger,
  logFinished = true,
  write = true,
): Promise<AgentOutcome> {
  if (write && outcome.workspace !== "") {
    const { workspace, ...result } = outcome;
    try {
      writeResultFile(workspace, result);
    } catch (error) {
      log.error("cannot write result.json", { incident_id: outcome.incident_id, error: errorMessage(error) });
    }
  }
  if (logFinished) logFinishedRun(outcome, log);
  return outcome;
}

/** The "agent finished" log line: info when it succeeded, warn otherwise. */
export function logFinishedRun(outcome: AgentResult, log: Logger): void {
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
