/**
 * Serves the durable queue: takes queued incidents from the store (fairly across clusters, oldest
 * first), runs at most `agent.max_concurrent` agents, and records each run's outcome with what the
 * agent left in its workspace (`report.md`, `summary.json`: the output contract, `agent/output.ts`). The queue lives
 * in the database, so nothing waiting is lost when faultline stops or crashes.
 *
 * Incidents are taken with the store's `claimNext` (one step: the store hands each queued incident to
 * exactly one caller). One claim loop runs at a time: a {@link Dispatcher.kick} while it runs makes it
 * go round once more instead of starting a second one, so slots are never over-filled however the
 * store's answers interleave.
 */

import { adoptRun, type UnfinishedRun } from "../agent/adopt.ts";
import { noAgentOutput, readAgentOutput } from "../agent/output.ts";
import { type AgentOutcome, notStarted, runAgent } from "../agent/runner.ts";
import { workspacePath } from "../agent/workspace.ts";
import type { AgentConfig, ClusterConfig } from "../config/types.ts";
import { errorMessage, logger } from "../log.ts";
import type { AgentRun, Incident } from "./model.ts";
import type { ClaimedRun, IncidentStore } from "./store-api.ts";

const log = logger({ component: "dispatcher" });

/** Options for {@link Dispatcher}. */
export interface DispatcherOptions {
  store: IncidentStore;
  agent: AgentConfig;
  stateDir: string;
  clusters: ReadonlyMap<string, ClusterConfig>;
  /** Between SIGTERM and SIGKILL when an agent is ended early (timeout, shutdown). */
  killGraceMs?: number;
  /** Called after each run's outcome is recorded. */
  onOutcome?: (outcome: AgentOutcome, incident: Incident) => void;
}

interface RunningAgent {
  runId: number;
  abort: AbortController;
  done: Promise<void>;
}

/** Runs agents for queued incidents. */
export class Dispatcher {
  #options: DispatcherOptions;
  readonly #running = new Map<string, RunningAgent>();
  #stopping = false;
  #paused = false;
  /** A fenced replica (src/ha/) runs no agent until the fence is lifted. */
  #fenced = false;
  /** The claim loop running now, if any (never two at once). */
  #claiming: Promise<void> | null = null;
  /** Kicked since the claim loop last looked at the queue: it goes round (again). */
  #kicked = false;

  constructor(options: DispatcherOptions) {
    this.#options = options;
  }

  /** Agents running now. */
  get running(): number {
    return this.#running.size;
  }

  /** The runs of the agents running now or whose outcome is being recorded (a settle must keep them open). */
  get runIds(): number[] {
    return [...this.#running.values()].map((r) => r.runId);
  }

  /**
   * A replica cut off from the shared store (fenced, src/ha/coordinator.ts): starts no more agents and
   * ends the running ones (SIGTERM, then SIGKILL after the grace), so no incident runs here while another
   * replica may take it over. Resolves once they have exited and their outcomes are recorded (an agent
   * that had already ended keeps its real outcome; the others are interrupted) if the store answers,
   * else its run stays open for {@link unfence} (or the replica settling this one).
   */
  async fence(): Promise<void> {
    this.#fenced = true;
    if (this.#running.size > 0) log.warn("fenced: ending the running agents", { agents: this.#running.size });
    for (const running of this.#running.values()) running.abort.abort();
    await Promise.all([...this.#running.values()].map((r) => r.done));
  }

  /** The fence is lifted: agents start again. */
  unfence(): void {
    this.#fenced = false;
    void this.kick();
  }

  /**
   * Config reload: agents started from now on use `agent` (command, limits, timeout); running ones
   * finish as they started. Starts more agents if `max_concurrent` grew. Null (no agent configured any
   * more) starts none: queued incidents wait for an agent to be configured again.
   */
  setAgent(agent: AgentConfig | null): void {
    this.#paused = agent === null;
    if (agent) this.#options = { ...this.#options, agent };
    void this.kick();
  }

  /**
   * Takes over runs a previous faultline started whose supervisors are still going (see
   * `recovery.ts`): each holds its incident and an agent slot until it ends (at its timeout at the
   * latest), and its outcome is recorded like any other. Call before the first {@link kick}.
   */
  adopt(runs: ReadonlyArray<UnfinishedRun & { pid: number }>): void {
    for (const run of runs) {
      const abort = new AbortController();
      const outcome = adoptRun(run, this.#options.agent, {
        abort: abort.signal,
        killGraceMs: this.#options.killGraceMs,
      });
      const incident = { id: run.incident_id, cluster: run.cluster };
      const done = outcome.then((result) => this.#finish(incident, run.run_id, result));
      this.#running.set(run.incident_id, { runId: run.run_id, abort, done });
    }
  }

  /**
   * Starts agents for queued incidents while slots are free. Call after anything may have been queued.
   * A kick while the claim loop runs makes that loop go round once more (never a second loop).
   * Resolves when the loop has no more to do; never rejects.
   */
  kick(): Promise<void> {
    this.#kicked = true;
    this.#claiming ??= this.#claimLoop();
    return this.#claiming;
  }

  /** Fills the free slots, and again while kicks came in meanwhile; clears {@link #claiming} at its end. */
  async #claimLoop(): Promise<void> {
    try {
      do {
        this.#kicked = false;
        await this.#fillSlots();
      } while (this.#kicked && !this.#stopping);
    } catch (error) {
      log.error("dispatch failed", { error: errorMessage(error) });
    } finally {
      // Always after the first await above, so never before `kick` has stored this loop.
      this.#claiming = null;
    }
  }

  /** Claims and starts queued incidents while slots are free; stops at an empty queue or a store failure. */
  async #fillSlots(): Promise<void> {
    const { store, stateDir } = this.#options;
    while (
      !this.#stopping &&
      !this.#paused &&
      !this.#fenced &&
      this.#running.size < this.#options.agent.max_concurrent
    ) {
      let claimed: ClaimedRun | null;
      try {
        claimed = await store.claimNext((incident) => workspacePath(stateDir, incident.id));
      } catch (error) {
        // Nothing was claimed: the incident stays queued for the next kick.
        log.error("cannot start an incident", { error: errorMessage(error) });
        return;
      }
      if (!claimed) return;
      this.#start(claimed);
      // Fenced while the claim was in flight: the run ends at once (recorded as interrupted).
      if (this.#fenced) this.#running.get(claimed.incident.id)?.abort.abort();
    }
  }

  /**
   * Starts no more agents; lets running ones finish for up to `graceMs`, then ends them (recorded as
   * interrupted, queued again on the next start). Resolves once every agent has exited.
   */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    // A claim in flight still starts its agent: it is then waited for (or ended) like the others.
    await this.#claiming;
    const all = Promise.all([...this.#running.values()].map((r) => r.done));
    if (this.#running.size > 0)
      log.info("waiting for running agents", { agents: this.#running.size, grace_ms: graceMs });
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([all, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    if (this.#running.size > 0)
      log.warn("ending agents still running at shutdown", { agents: this.#running.size });
    for (const running of this.#running.values()) running.abort.abort();
    await all;
  }

  /** Starts a claimed incident's agent on its newest event (a run that cannot start is recorded failed). */
  #start({ incident, run, event }: ClaimedRun): void {
    const { agent, stateDir, clusters, killGraceMs } = this.#options;
    const cluster = clusters.get(incident.cluster);
    const abort = new AbortController();
    const job = cluster && event ? { incident_id: incident.id, cluster, event, run_id: run.id } : null;
    const outcome: Promise<AgentOutcome> = job
      ? runAgent(job, {
          agent,
          stateDir,
          killGraceMs,
          signal: abort.signal,
          onSpawn: (pid) => void this.#recordPid(incident, run, pid),
        })
      : Promise.resolve(
          notStarted(
            { incident_id: incident.id, cluster: incident.cluster, run_id: run.id },
            run.workspace,
            `cannot run an agent for this incident: ${cluster ? "its events are missing" : "its cluster is no longer configured"}`,
          ),
        );
    const done = outcome.then((result) => this.#finish(incident, run.id, result));
    this.#running.set(incident.id, { runId: run.id, abort, done });
  }

  /** Records the agent's pid for recovery; a failure is logged (recovery then finds it by its tag). */
  async #recordPid(incident: Incident, run: AgentRun, pid: number): Promise<void> {
    try {
      await this.#options.store.recordPid(run.id, pid);
    } catch (error) {
      log.error("cannot record an agent pid", {
        cluster: incident.cluster,
        incident_id: incident.id,
        run_id: run.id,
        error: errorMessage(error),
      });
    }
  }

  async #finish(
    incident: Pick<Incident, "id" | "cluster">,
    runId: number,
    outcome: AgentOutcome,
  ): Promise<void> {
    const output =
      outcome.workspace === ""
        ? noAgentOutput("the agent had no workspace")
        : await readAgentOutput(outcome.workspace);
    try {
      const finished = await this.#options.store.finishRun(runId, { ...outcome, output });
      this.#options.onOutcome?.(outcome, finished);
    } catch (error) {
      log.error("cannot record an agent run", {
        cluster: incident.cluster,
        incident_id: incident.id,
        error: errorMessage(error),
      });
    } finally {
      // Only now: until its outcome is recorded, a fence waits for it and a settle keeps its run open.
      this.#running.delete(incident.id);
    }
    void this.kick();
  }
}
