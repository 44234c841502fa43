/**
 * Replica mode of the chaos run: N faultline replicas on one config with `store.postgres`, seen by the
 * engine as one {@link FaultlineSide} (who holds each cluster now), and the replica disruption: kill a
 * replica's "pod" (SIGKILL faultline and, as the container's end would, its agent supervisors and agents)
 * and restart it after its lease expired (its clusters must become active elsewhere meanwhile), or stop one
 * gracefully (SIGTERM: it hands its clusters over at once) and start it again.
 */
import { readdirSync, readFileSync } from "node:fs";
import { sleep } from "../../src/runtime/sleep.ts";
import type { ChaosEngine, FaultlineSide } from "./engine.ts";
import { FaultlineRunner, type StatusListener } from "./faultline.ts";
import type { SeededRandom } from "./random.ts";
import type { ReturnTracker } from "./returns.ts";

/** How long a graceful stop may take before the replica is SIGKILLed (and the stop counted as failed). */
const STOP_GRACE_MS = 30_000;
/** Share of replica disruptions that are graceful restarts (the rest are SIGKILLs). */
const GRACEFUL_SHARE = 0.3;

/**
 * Live processes (not this one) whose command line or environment names one of `markers`: a replica's
 * state directory names its agent supervisors (workspace argument) and agents (`FAULTLINE_WORKSPACE`);
 * its config file names a child faultline forked and had not exec'd yet (it still has faultline's
 * command line).
 */
export function processesNaming(markers: readonly string[]): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      const environ = readFileSync(`/proc/${entry}/environ`, "utf8");
      if (markers.some((m) => cmdline.includes(m) || environ.includes(m))) pids.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

/** Pause between two scans of {@link killNaming}. */
const KILL_SCAN_GAP_MS = 20;
/** Scans at most in one {@link killNaming} (~1 s). */
const KILL_SCANS_MAX = 50;

/**
 * SIGKILLs every process naming one of `markers`, and each one's process group (an agent leads its own), as a
 * container's end kills all it holds: scans again after a pause until two scans in a row find none. A
 * supervisor killed just after it forked leaves a child that is still exec'ing its agent (its `environ`
 * unreadable for that moment): scans back to back missed it, and the agent ran on after its pod's death
 * (a chaos run counted it as a second run of a completed one). Returns how many were killed.
 */
async function killNaming(markers: readonly string[]): Promise<number> {
  let killed = 0;
  let emptyScans = 0;
  for (let scan = 0; scan < KILL_SCANS_MAX && emptyScans < 2; scan++) {
    const pids = processesNaming(markers);
    emptyScans = pids.length === 0 ? emptyScans + 1 : 0;
    for (const pid of pids) {
      for (const target of [pid, -pid]) {
        try {
          process.kill(target, "SIGKILL");
          if (target > 0) killed++;
        } catch {
          // already gone, or no group of that id
        }
      }
    }
    await sleep(KILL_SCAN_GAP_MS);
  }
  return killed;
}

/** The replicas of a run, one {@link FaultlineRunner} each. */
export class ReplicaFleet implements FaultlineSide {
  readonly runners: FaultlineRunner[];
  readonly #stateDirs = new Map<FaultlineRunner, string>();
  /** Replicas the harness has stopped or killed and not started again. */
  readonly #down = new Set<FaultlineRunner>();
  /** Graceful stops that did not end with exit code 0. */
  readonly failedStops: string[] = [];

  /**
   * @param configs each replica's name, config file and state directory
   * @param onStatus receives every replica's `cluster status` lines, with the replica's name
   */
  constructor(
    command: readonly string[],
    configs: ReadonlyArray<{ name: string; config: string; stateDir: string }>,
    dir: string,
    onStatus: (replica: string, ...status: Parameters<StatusListener>) => void,
  ) {
    this.runners = configs.map(({ name, config, stateDir }) => {
      const runner = new FaultlineRunner(
        command,
        config,
        dir,
        (...status) => onStatus(name, ...status),
        name,
      );
      this.#stateDirs.set(runner, stateDir);
      return runner;
    });
  }

  /**
   * Ends `runner`'s pod: SIGKILLs faultline, then its agent supervisors and agents (processes naming its
   * state directory) and any child it forked that was not exec'd yet (naming its config); returns how many
   * of those there were.
   */
  async killPod(runner: FaultlineRunner): Promise<number> {
    await runner.kill();
    const stateDir = this.#stateDirs.get(runner);
    return stateDir ? await killNaming([`${stateDir}/`, runner.config]) : 0;
  }

  /** True unless a replica exited without the harness stopping it (the engine's watchdog restarts it). */
  get running(): boolean {
    return this.runners.every((runner) => runner.running || this.#down.has(runner));
  }

  /** Whether any replica runs. */
  get anyRunning(): boolean {
    return this.runners.some((runner) => runner.running);
  }

  /** Replica processes started so far. */
  get starts(): number {
    return this.runners.reduce((sum, runner) => sum + runner.starts, 0);
  }

  /** Starts every replica that is not running and not held down by the harness. */
  start(): number {
    const spawnedMs = Date.now();
    for (const runner of this.runners) if (!runner.running && !this.#down.has(runner)) runner.start();
    return spawnedMs;
  }

  /** SIGKILLs every replica (the engine's faultline kill; replica mode uses {@link ReplicaChaos} instead). */
  async kill(): Promise<void> {
    await Promise.all(this.runners.map((runner) => runner.kill()));
  }

  /** The live replica that holds `cluster` (took it and did not release it), or null. */
  holder(cluster: string): string | null {
    return this.runners.find((runner) => runner.holds(cluster))?.name ?? null;
  }

  /** Per cluster, the running replicas on which it was last logged active. */
  activeOn(): Map<string, string[]> {
    const where = new Map<string, string[]>();
    for (const runner of this.runners) {
      if (!runner.running) continue;
      for (const cluster of runner.activeClusters())
        where.set(cluster, [...(where.get(cluster) ?? []), runner.name ?? "?"]);
    }
    return where;
  }

  /** Holds `runner` down (the watchdog leaves it alone) until {@link up}. */
  down(runner: FaultlineRunner): void {
    this.#down.add(runner);
  }

  /** Starts `runner` again. */
  up(runner: FaultlineRunner): void {
    this.#down.delete(runner);
    if (!runner.running) runner.start();
  }

  /** Whether the harness holds `runner` down. */
  isDown(runner: FaultlineRunner): boolean {
    return this.#down.has(runner);
  }

  /** Stops every replica gracefully; resolves with each exit code (null: it had to be killed). */
  async stop(graceMs: number): Promise<Array<number | null>> {
    return Promise.all(this.runners.map((runner) => runner.stop(graceMs)));
  }

  /** Exits the harness did not cause, over all replicas. */
  get unexpectedExits(): string[] {
    return this.runners.flatMap((runner) => runner.unexpectedExits.map((exit) => `${runner.name}: ${exit}`));
  }
}

/**
 * The replica disruption: one at a time, a pod kill (restarted after the lease) or a graceful restart;
 * the first is always a pod kill.
 */
export class ReplicaChaos {
  #busy = false;
  #steps = 0;

  constructor(
    readonly fleet: ReplicaFleet,
    readonly engine: ChaosEngine,
    readonly rng: SeededRandom,
    readonly returns: ReturnTracker,
    readonly leaseSeconds: number,
  ) {}

  /** One disruption of a random running replica; null while one is in progress (or none runs). */
  step(): Promise<void> | null {
    if (this.#busy) return null;
    // Only replicas that have joined: a SIGTERM before faultline installs its handlers is not a graceful stop.
    const joined = this.fleet.runners.filter((r) => r.joined && !this.fleet.isDown(r));
    // One holding an active cluster no other disruption touches, where there is one: its clusters' move is
    // what a kill measures (on a loaded machine every replica may be between connections at times).
    const holding = joined.filter((r) => this.#victims(r).length > 0);
    const runner = this.rng.pick(holding.length > 0 ? holding : joined);
    if (!runner) return null;
    this.#busy = true;
    // The first is always a pod kill (a short run has one at least); the others are drawn.
    const graceful = this.#steps++ > 0 && this.rng.next() < GRACEFUL_SHARE;
    return (graceful ? this.#restart(runner) : this.#kill(runner)).finally(() => {
      this.#busy = false;
    });
  }

  /** Clusters `runner` holds that no other disruption is touching (the ones whose move is measured). */
  #victims(runner: FaultlineRunner): string[] {
    return runner.activeClusters().filter((cluster) => !this.engine.disturbed(cluster));
  }

  async #kill(runner: FaultlineRunner): Promise<void> {
    const name = runner.name ?? "?";
    const { victims, agents, killedMs } = await this.engine.quietly(async () => {
      const victims = this.#victims(runner);
      this.fleet.down(runner);
      const agents = await this.fleet.killPod(runner);
      return { victims, agents, killedMs: Date.now() };
    });
    this.engine.action(
      "kill-replica",
      name,
      `${victims.length} clusters active on it; ${agents} agent processes killed with it`,
    );
    for (const cluster of victims) this.returns.returned(cluster, "replica-kill", killedMs, name);
    // Down past its lease, so that its clusters move to the others before it comes back.
    await Bun.sleep(this.rng.between(this.leaseSeconds + 1, this.leaseSeconds + 3) * 1000);
    this.fleet.up(runner);
    this.engine.action("start-replica", name);
  }

  async #restart(runner: FaultlineRunner): Promise<void> {
    const name = runner.name ?? "?";
    const victims = this.#victims(runner);
    const stoppedMs = Date.now();
    for (const cluster of victims) this.returns.returned(cluster, "replica-stop", stoppedMs, name);
    this.fleet.down(runner);
    const code = await runner.stop(STOP_GRACE_MS);
    this.engine.action(
      "stop-replica",
      name,
      `exit ${code ?? "killed"}; ${victims.length} clusters active on it`,
    );
    if (code !== 0) this.fleet.failedStops.push(`${name}: graceful stop ended with ${code ?? "a kill"}`);
    await Bun.sleep(this.rng.between(500, 2000));
    this.fleet.up(runner);
    this.engine.action("start-replica", name);
  }
}
