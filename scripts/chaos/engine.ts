/**
 * The chaos itself: faults flow at a steady rate into random clusters while seeded schedules drop sessions,
 * take servers down and up, SIGKILL and restart simulator processes, and SIGKILL and restart faultline.
 *
 * What "sent while subscribed" means is kept exact by two rules:
 * - before the harness disrupts a server (drop, down, kill) it stops injecting into it and waits
 *   {@link QUIET_MS} after the last inject answered, so that a fault the simulator counted as delivered
 *   was written to the socket, not cut off inside the simulator by the harness's own disruption;
 * - faultline is never killed or started while an inject is in flight, so each fault is known to have been
 *   sent while faultline's process was alive or while it was not (no quiet period: what faultline held
 *   when it was killed is its own to keep).
 */
import { errorMessage } from "../../src/log.ts";
import { type ActionRecord, appendJsonLine, type SentFault } from "./ledger.ts";
import type { SeededRandom } from "./random.ts";
import type { ReturnTracker } from "./returns.ts";
import type { SimProcess } from "./sim-fleet.ts";

/** Quiet time before the harness disrupts a server it was injecting into (ms). */
export const QUIET_MS = 100;

/** How long a reserved simulator process may take to have idle clusters before its kill is skipped (ms). */
const SIM_IDLE_WAIT_MS = 6000;

/** The simulator's fault profiles; each fault gets one at random (its resource kind follows). */
const FAULT_TYPES = ["CrashLoop", "PodCrash", "NodeUnhealthy", "DeploymentFailure", "JobFailure"] as const;

/** One cluster as the engine tracks it. */
interface ClusterSlot {
  name: string;
  sim: SimProcess;
  /** No injects now (a disruption is about to hit it, or its process is dead). */
  quiet: boolean;
  /** A disruption of it is in progress. */
  busy: boolean;
  inflight: Set<Promise<void>>;
}

/**
 * What the engine needs of faultline: one process ({@link FaultlineRunner}) or, in replica mode, the
 * replicas together (scripts/chaos/replicas.ts).
 */
export interface FaultlineSide {
  /** Whether faultline is up (replica mode: no replica exited without the harness stopping it). */
  readonly running: boolean;
  /** Processes started so far. */
  readonly starts: number;
  /** Replica mode: whether any replica runs (a start then does not bring every cluster up from nothing). */
  readonly anyRunning?: boolean;
  /** Starts what is down; returns the wall-clock ms just before the (first) spawn. */
  start(): number;
  /** SIGKILL; resolves once gone. */
  kill(): Promise<void>;
  /** Replica mode: the live replica holding `cluster` now, or null (one process: it holds all while up). */
  holder?(cluster: string): string | null;
}

/** Which disruptions run, and how the engine reaches everything. */
export interface EngineSetup {
  rng: SeededRandom;
  sims: readonly SimProcess[];
  faultline: FaultlineSide;
  returns: ReturnTracker;
  /** Faults per second over all clusters. */
  rate: number;
  sessionDrops: boolean;
  outages: boolean;
  simKills: boolean;
  faultlineKills: boolean;
  /** `sent.jsonl` and `actions.jsonl` of the run. */
  sentFile: string;
  actionsFile: string;
}

/** Runs the chaos; {@link ChaosEngine.errors} collects what went wrong in the harness itself. */
export class ChaosEngine {
  readonly errors: string[] = [];
  readonly #setup: EngineSetup;
  readonly #slots: ClusterSlot[];
  readonly #busySims = new Set<SimProcess>();
  readonly #tasks = new Set<Promise<void>>();
  #seq = 0;
  /** No new injects (faultline is being killed or started). */
  #paused = false;
  /** A faultline kill or start is in progress. */
  #faultlineBusy = false;
  readonly #extra: Array<{ minMs: number; maxMs: number; start: () => Promise<void> | null }> = [];

  constructor(setup: EngineSetup) {
    this.#setup = setup;
    this.#slots = setup.sims.flatMap((sim) =>
      sim.names.map((name) => ({ name, sim, quiet: false, busy: false, inflight: new Set<Promise<void>>() })),
    );
  }

  /**
   * Starts faultline (no inject in flight meanwhile) and measures each idle cluster from the spawn to active
   * (replica mode: only when no replica was running).
   */
  async startFaultline(note?: string): Promise<number> {
    this.#paused = true;
    await this.#drainAll();
    const fresh = !(this.#setup.faultline.anyRunning ?? false);
    const spawnedMs = this.#setup.faultline.start();
    this.#paused = false;
    this.action("start-faultline", `life ${this.#setup.faultline.starts}`, note);
    for (const slot of this.#slots) {
      if (fresh && !slot.busy && slot.sim.alive)
        this.#setup.returns.returned(slot.name, "faultline-start", spawnedMs);
    }
    return spawnedMs;
  }

  /**
   * Runs `work` with no inject in flight and none starting meanwhile (so that each fault is known to have
   * been sent before or after it), e.g. a replica's SIGKILL.
   */
  async quietly<T>(work: () => Promise<T>): Promise<T> {
    this.#paused = true;
    try {
      await this.#drainAll();
      return await work();
    } finally {
      this.#paused = false;
    }
  }

  /** Whether `cluster` is being disrupted now (its server dropped, down or its simulator killed). */
  disturbed(cluster: string): boolean {
    return this.#slots.some((slot) => slot.name === cluster && (slot.busy || slot.quiet));
  }

  /** Adds a disruption that {@link run} starts every `minMs`-`maxMs` (e.g. replica kills). */
  addDisruption(minMs: number, maxMs: number, start: () => Promise<void> | null): void {
    this.#extra.push({ minMs, maxMs, start });
  }

  /** Faults and disruptions for `seconds`; then waits until every disruption has been undone. */
  async run(seconds: number): Promise<void> {
    const setup = this.#setup;
    const deadline = Date.now() + seconds * 1000;
    const loops: Array<Promise<void>> = [this.#injectLoop(deadline), this.#watchdog(deadline)];
    if (setup.sessionDrops || setup.outages)
      loops.push(this.#every(150, 600, deadline, () => this.#clusterDisruption()));
    if (setup.simKills && setup.sims.length > 0)
      loops.push(this.#every(2500, 6000, deadline, () => this.#simKill()));
    if (setup.faultlineKills) loops.push(this.#every(5000, 10_000, deadline, () => this.#faultlineKill()));
    for (const { minMs, maxMs, start } of this.#extra) loops.push(this.#every(minMs, maxMs, deadline, start));
    await Promise.all(loops);
    while (this.#tasks.size > 0) await Promise.all([...this.#tasks]);
    await this.#drainAll();
    if (!setup.faultline.running) await this.startFaultline();
  }

  // --- faults ----------------------------------------------------------------------------------------------

  async #injectLoop(deadline: number): Promise<void> {
    const intervalMs = 1000 / this.#setup.rate;
    let next = Date.now();
    while (Date.now() < deadline) {
      next += intervalMs;
      if (!this.#paused) {
        const slot = this.#setup.rng.pick(this.#slots.filter((s) => !s.quiet && s.sim.alive));
        if (slot) this.#inject(slot);
      }
      await Bun.sleep(Math.max(0, next - Date.now()));
    }
  }

  #inject(slot: ClusterSlot): void {
    const seq = ++this.#seq;
    const { faultline } = this.#setup;
    const holder = faultline.holder?.(slot.name);
    const fault: SentFault = {
      seq,
      cluster: slot.name,
      name: `fault-${seq}`,
      at_ms: Date.now(),
      delivered: null,
      faultline_up: holder === undefined ? faultline.running : holder !== null,
      ...(holder === undefined ? {} : { holder }),
    };
    const faultType = this.#setup.rng.pick(FAULT_TYPES) ?? "CrashLoop";
    const sending: Promise<void> = slot.sim
      .inject(slot.name, fault.name, faultType)
      .then(
        (delivered) => {
          fault.delivered = delivered;
        },
        (error: unknown) => {
          fault.error = errorMessage(error);
        },
      )
      .finally(() => {
        appendJsonLine(this.#setup.sentFile, fault);
        slot.inflight.delete(sending);
      });
    slot.inflight.add(sending);
  }

  /** Waits until no inject is in flight to `slots`. */
  async #drain(slots: readonly ClusterSlot[]): Promise<void> {
    for (;;) {
      const pending = slots.flatMap((slot) => [...slot.inflight]);
      if (pending.length === 0) return;
      await Promise.all(pending);
    }
  }

  async #drainAll(): Promise<void> {
    await this.#drain(this.#slots);
  }

  /** No more injects into `slots`; resolves {@link QUIET_MS} after the last one answered. */
  async #quiesce(slots: readonly ClusterSlot[]): Promise<void> {
    for (const slot of slots) {
      slot.quiet = true;
      this.#setup.returns.disrupted(slot.name);
    }
    await this.#drain(slots);
    await Bun.sleep(QUIET_MS);
  }

  // --- disruptions -----------------------------------------------------------------------------------------

  /** Runs `start()` every `minMs`-`maxMs` until the deadline; each start may begin a task (not awaited). */
  async #every(
    minMs: number,
    maxMs: number,
    deadline: number,
    start: () => Promise<void> | null,
  ): Promise<void> {
    for (;;) {
      const delayMs = this.#setup.rng.between(minMs, maxMs);
      await Bun.sleep(Math.max(0, Math.min(delayMs, deadline - Date.now())));
      if (Date.now() >= deadline) return;
      const task = start();
      if (!task) continue;
      const tracked: Promise<void> = task
        .catch((error: unknown) => {
          this.errors.push(errorMessage(error));
        })
        .finally(() => this.#tasks.delete(tracked));
      this.#tasks.add(tracked);
    }
  }

  #returned(slot: ClusterSlot, kind: "up" | "sim-restart" | "drop"): void {
    const { faultline } = this.#setup;
    const held = faultline.holder ? faultline.holder(slot.name) !== null : faultline.running;
    if (held && !this.#faultlineBusy) this.#setup.returns.returned(slot.name, kind, Date.now());
  }

  #clusterDisruption(): Promise<void> | null {
    const { rng, sessionDrops, outages, returns } = this.#setup;
    const idle = this.#slots.filter(
      (s) => !s.busy && s.sim.alive && !this.#busySims.has(s.sim) && !returns.waiting(s.name),
    );
    const slot = rng.pick(idle);
    if (!slot) return null;
    const drop = sessionDrops && (!outages || rng.next() < 0.5);
    slot.busy = true;
    return (drop ? this.#dropSessions(slot) : this.#outage(slot)).finally(() => {
      slot.busy = false;
      slot.quiet = false;
    });
  }

  async #dropSessions(slot: ClusterSlot): Promise<void> {
    await this.#quiesce([slot]);
    await slot.sim.control(slot.name, "drop-sessions");
    this.action("drop-sessions", slot.name);
    this.#returned(slot, "drop");
  }

  async #outage(slot: ClusterSlot): Promise<void> {
    await this.#quiesce([slot]);
    await slot.sim.control(slot.name, "down");
    this.action("down", slot.name);
    slot.quiet = false; // faults sent while it is down reach its event log (a backfill can find them)
    await Bun.sleep(this.#setup.rng.between(300, 3000));
    slot.quiet = true;
    await this.#drain([slot]);
    await slot.sim.control(slot.name, "up");
    this.action("up", slot.name);
    this.#returned(slot, "up");
  }

  /** Whether none of `sim`'s clusters is being disrupted or waiting to be active again. */
  #simIdle(sim: SimProcess): boolean {
    return this.#slots.every((s) => s.sim !== sim || (!s.busy && !this.#setup.returns.waiting(s.name)));
  }

  /**
   * SIGKILLs a simulator process and restarts it. The process is reserved first (no new disruption of its
   * clusters starts), and killed once its clusters are idle, so that kills are not starved by the more
   * frequent cluster disruptions; when they do not become idle within {@link SIM_IDLE_WAIT_MS}, no kill.
   */
  #simKill(): Promise<void> | null {
    const sim = this.#setup.rng.pick(this.#setup.sims.filter((p) => p.alive && !this.#busySims.has(p)));
    if (!sim) return null;
    const slots = this.#slots.filter((s) => s.sim === sim);
    this.#busySims.add(sim);
    let killed = false;
    return (async () => {
      const deadline = Date.now() + SIM_IDLE_WAIT_MS;
      while (!this.#simIdle(sim)) {
        if (Date.now() > deadline) return;
        await Bun.sleep(50);
      }
      killed = true;
      for (const slot of slots) slot.busy = true;
      await this.#quiesce(slots);
      await sim.kill();
      this.action("kill-sim", `simulator ${sim.index}`);
      await Bun.sleep(this.#setup.rng.between(300, 2000));
      await sim.restart();
      this.action("restart-sim", `simulator ${sim.index}`);
      for (const slot of slots) this.#returned(slot, "sim-restart");
    })().finally(() => {
      this.#busySims.delete(sim);
      if (!killed) return;
      for (const slot of slots) {
        slot.busy = false;
        slot.quiet = false;
      }
    });
  }

  #faultlineKill(): Promise<void> | null {
    if (this.#faultlineBusy || !this.#setup.faultline.running) return null;
    this.#faultlineBusy = true;
    return (async () => {
      this.#paused = true;
      await this.#drainAll();
      await this.#setup.faultline.kill();
      this.#setup.returns.faultlineKilled();
      this.#paused = false;
      this.action("kill-faultline", `life ${this.#setup.faultline.starts}`);
      await Bun.sleep(this.#setup.rng.between(200, 2000));
      await this.startFaultline();
    })().finally(() => {
      this.#paused = false;
      this.#faultlineBusy = false;
    });
  }

  /** Restarts faultline when it exited on its own (a crash: recorded by the runner, reported as a failure). */
  async #watchdog(deadline: number): Promise<void> {
    while (Date.now() < deadline) {
      await Bun.sleep(250);
      const { faultline, returns } = this.#setup;
      if (faultline.running || this.#faultlineBusy) continue;
      this.#faultlineBusy = true;
      try {
        returns.faultlineKilled();
        await this.startFaultline("after an unexpected exit");
      } finally {
        this.#faultlineBusy = false;
      }
    }
  }

  /** Records a disruption in `actions.jsonl`. */
  action(action: ActionRecord["action"], target: string, note?: string): void {
    const record: ActionRecord = { at_ms: Date.now(), action, target, ...(note ? { note } : {}) };
    appendJsonLine(this.#setup.actionsFile, record);
  }
}
