/**
 * The replica's coordination loop (docs/ha-design.md §2): heartbeats every `lease/3`, reads the live
 * set every tick (1 s), reconciles the clusters and the notification sinks this replica holds
 * ({@link Ownership}), and settles replicas whose lease expired (their open agent runs, exactly once).
 *
 * Self-fencing: a watchdog, independent of the loop (which may hang on an unreachable database),
 * drops every cluster and sink once no heartbeat succeeded for `lease_seconds - 1` s, so a replica cut
 * off from the database stops before the others can take over. It resumes when heartbeats succeed.
 */
import { errorMessage, logger } from "../log.ts";
import { sleep } from "../runtime/sleep.ts";
import type { HaSql } from "./database.ts";
import { Heartbeat, settleExpired } from "./heartbeat.ts";
import { OwnerRows } from "./owner-rows.ts";
import { type HandoverDirection, type OwnedHost, Ownership } from "./ownership.ts";

const log = logger({ component: "ha" });

/** How often the live set is read and ownership reconciled. */
export const HA_TICK_MS = 1000;

/** How often the fencing watchdog looks. */
const WATCHDOG_MS = 200;

/** Options of {@link Coordinator}. */
export interface CoordinatorOptions {
  sql: HaSql;
  /** This replica's name (`ha.replica`). */
  replica: string;
  /** `ha.lease_seconds`. */
  leaseSeconds: number;
  /** Where this replica serves HTTP, or null. */
  url: string | null;
  version: string;
  /** The enabled clusters' names now (a reload changes them). */
  clusters: () => readonly string[];
  /** The configured notification sinks' names now. */
  sinks: () => readonly string[];
  /** Subscribes and unsubscribes clusters. */
  clusterHost: OwnedHost;
  /** Serves and stops serving sinks. */
  sinkHost: OwnedHost;
  /** Settles a replica whose lease expired (its open runs); called by exactly one live replica. */
  settle?: (replica: string) => Promise<void>;
  /** Tick interval (tests shorten it). */
  tickMs?: number;
  /** What else a fence stops: the agents (see {@link FenceHooks}). */
  fencing?: FenceHooks;
}

/** What a replica does beyond its clusters and sinks when it is fenced and when the fence is lifted. */
export interface FenceHooks {
  /** Fenced: end the running agents and start none (may not reach the database). */
  fenced(): Promise<void>;
  /**
   * The fence is lifted (heartbeats succeed again), after {@link fenced} resolved: settle this
   * replica's runs left open and start agents again. Called again at the next tick while it throws.
   */
  lifted(): Promise<void>;
}

/** What the coordinator reports, for `/readyz` and metrics. */
export interface CoordinatorState {
  replica: string;
  /** No heartbeat for `lease_seconds - 1` s: nothing is held. */
  fenced: boolean;
  /** Live replicas at the last tick. */
  live: readonly string[];
  /** Clusters held now. */
  clusters: ReadonlySet<string>;
  /** Sinks served now. */
  sinks: ReadonlySet<string>;
  /** Clusters taken and released since start. */
  handovers: Readonly<Record<HandoverDirection, number>>;
}

/** Runs one replica's share of the fleet. */
export class Coordinator {
  readonly #options: CoordinatorOptions;
  readonly heartbeat: Heartbeat;
  readonly clusters: Ownership;
  readonly sinks: Ownership;
  readonly #handovers: Record<HandoverDirection, number> = { taken: 0, released: 0 };
  /** Ends the reconcile loop (a graceful stop: first). */
  readonly #stopping = new AbortController();
  /** Ends the heartbeats and the fencing watchdog (a graceful stop: once the handover is done). */
  readonly #beating = new AbortController();
  #live: string[] = [];
  #fenced = true;
  #loop: Promise<void> | null = null;
  #beats: Promise<void> | null = null;
  #watchdog: ReturnType<typeof setInterval> | null = null;
  #beatError: string | null = null;
  /** Set by a graceful {@link stop}: ends the hold on this replica's runs. */
  #leaving: (() => Promise<void>) | null = null;
  /** The agents' side of the last fence, while it is not lifted yet (see {@link FenceHooks}). */
  #agentsFenced: Promise<void> | null = null;

  constructor(options: CoordinatorOptions) {
    this.#options = options;
    const { sql, replica, leaseSeconds } = options;
    this.heartbeat = new Heartbeat(sql, {
      replica,
      leaseSeconds,
      url: options.url,
      version: options.version,
    });
    const count = (direction: HandoverDirection, n: number) => {
      this.#handovers[direction] += n;
    };
    this.clusters = new Ownership(
      "clusters",
      new OwnerRows(sql, "clusters", replica, leaseSeconds),
      options.clusterHost,
      replica,
      count,
    );
    this.sinks = new Ownership(
      "sinks",
      new OwnerRows(sql, "sinks", replica, leaseSeconds),
      options.sinkHost,
      replica,
    );
  }

  /** The state now. */
  get state(): CoordinatorState {
    return {
      replica: this.#options.replica,
      fenced: this.#fenced,
      live: this.#live,
      clusters: this.clusters.held,
      sinks: this.sinks.held,
      handovers: this.#handovers,
    };
  }

  /**
   * Writes the first heartbeat and takes this replica's first share (throws when the database cannot
   * be reached), then keeps going until {@link stop}.
   *
   * @example
   * ```ts
   * const coordinator = new Coordinator({ sql, replica: "faultline-0", leaseSeconds: 15, … });
   * await coordinator.start();
   * ```
   */
  async start(): Promise<void> {
    await this.heartbeat.beat();
    this.#fenced = false;
    await this.tick();
    const { signal } = this.#stopping;
    const beating = this.#beating.signal;
    const tickMs = this.#options.tickMs ?? HA_TICK_MS;
    this.#beats = (async () => {
      while (!beating.aborted) {
        // Due an interval after the last good one was sent, not after its answer: a slow database does
        // not stretch the cadence into a fence. After a failure: again a tick later.
        const failed = this.#beatError !== null;
        await sleep(
          failed ? Math.min(tickMs, this.heartbeat.intervalMs) : this.heartbeat.untilDueMs(),
          beating,
        );
        if (!beating.aborted) await this.#beat();
      }
    })();
    this.#loop = (async () => {
      while (!signal.aborted) {
        await sleep(tickMs, signal);
        if (!signal.aborted) await this.tick();
      }
    })();
    this.#watchdog = setInterval(() => void this.#checkFence(), WATCHDOG_MS);
    this.#watchdog.unref?.();
  }

  /** One reconciliation: live set, clusters, sinks, expired replicas. Never throws (logs instead). */
  async tick(): Promise<void> {
    if (await this.#checkFence()) return;
    if (!(await this.#liftAgents())) return;
    try {
      const live = await this.heartbeat.live();
      this.#live = live;
      if (this.#fenced || this.#stopping.signal.aborted) return;
      await this.clusters.reconcile(this.#options.clusters(), live);
      await this.sinks.reconcile(this.#options.sinks(), live);
      await this.#settleExpired();
    } catch (error) {
      log.warn("cannot reconcile cluster ownership; trying again", { error: errorMessage(error) });
    }
  }

  /**
   * Stops the loops, unsubscribes every held cluster and stops every sink, releases their rows, and
   * marks this replica gone so the others take over at their next tick. Its open agent runs stay its
   * own (no replica settles them) until {@link finish}: the hold on them ({@link Heartbeat.hold}) is
   * taken first, and heartbeats go on until the handover is done, so a handover slower than the lease
   * (a release waits for the intake to be stored) neither expires this replica nor lets another settle
   * runs still going here.
   */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#loop;
    let hold: (() => Promise<void>) | null = null;
    try {
      hold = await this.heartbeat.hold();
    } catch (error) {
      log.warn(
        "cannot hold this replica's runs while it hands over; they are its own while its lease lasts",
        {
          error: errorMessage(error),
        },
      );
    }
    await this.clusters.releaseAll();
    await this.sinks.releaseAll();
    this.#beating.abort();
    if (this.#watchdog) clearInterval(this.#watchdog);
    await this.#beats;
    try {
      await this.heartbeat.markGone();
    } catch (error) {
      log.warn("cannot mark this replica gone; the others take over once its lease expires", {
        error: errorMessage(error),
      });
    }
    this.#leaving ??= hold;
  }

  /** After {@link stop} and once this process's agent runs are over: lets the others settle what is left. */
  async finish(): Promise<void> {
    const done = this.#leaving;
    this.#leaving = null;
    await done?.().catch((error: unknown) => {
      log.warn("cannot end the hold on this replica's runs; it ends with the connection", {
        error: errorMessage(error),
      });
    });
  }

  async #beat(): Promise<void> {
    try {
      await this.heartbeat.beat();
      if (this.#beatError !== null) log.info("heartbeat written again", { replica: this.#options.replica });
      this.#beatError = null;
    } catch (error) {
      const message = errorMessage(error);
      if (message !== this.#beatError) log.warn("cannot write the heartbeat", { error: message });
      this.#beatError = message;
    }
  }

  /** Fences (drops everything) or lifts the fence as the heartbeat says; true while fenced. */
  async #checkFence(): Promise<boolean> {
    const fenced = this.heartbeat.fenced();
    if (fenced === this.#fenced) return fenced;
    this.#fenced = fenced;
    if (!fenced) {
      log.info("heartbeat current again: no longer fenced, taking this replica's share again");
      return false;
    }
    log.error(
      "no heartbeat within the lease: fenced, every cluster and sink dropped until heartbeats succeed",
      {
        replica: this.#options.replica,
        last_heartbeat_ms_ago: Math.round(this.heartbeat.sinceLastMs()),
      },
    );
    const fencing = this.#options.fencing;
    if (fencing && !this.#agentsFenced) {
      this.#agentsFenced = fencing.fenced().catch((error: unknown) => {
        log.error("cannot end the agents of a fenced replica", { error: errorMessage(error) });
      });
    }
    await Promise.all([this.clusters.drop("fenced"), this.sinks.drop("fenced")]);
    return true;
  }

  /** After a fence: once its agents ended, lifts it for them (true once done, or when there was none). */
  async #liftAgents(): Promise<boolean> {
    const fenced = this.#agentsFenced;
    if (!fenced || !this.#options.fencing) return true;
    await fenced;
    try {
      await this.#options.fencing.lifted();
      this.#agentsFenced = null;
      return true;
    } catch (error) {
      log.warn("cannot settle this replica's runs after a fence; trying again", {
        error: errorMessage(error),
      });
      return false;
    }
  }

  async #settleExpired(): Promise<void> {
    const settle = this.#options.settle;
    if (!settle) return;
    for (let i = 0; i < 8; i++) {
      const settled = await settleExpired(this.#options.sql, this.#options.leaseSeconds, async (dead) => {
        log.info("replica expired: settling its open agent runs", { dead_replica: dead });
        await settle(dead);
      });
      if (settled === null) return;
    }
  }
}
