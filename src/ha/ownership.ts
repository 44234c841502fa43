/**
 * Ownership: turns "the live set plus the owner rows" into the keys (clusters, sinks) this replica
 * holds, and tells a {@link OwnedHost} what to start and stop. Cluster assignment is decided here and
 * nowhere else. Each {@link Ownership.reconcile}:
 * 1. keys whose row no longer names this replica (another took them after this one was presumed dead)
 *    are stopped at once (`lost`);
 * 2. keys rendezvous hashing now gives to another replica, or that left the config, are stopped first
 *    and only then released (row set to NULL), so two replicas never use one key at once;
 * 3. keys hashing gives to this replica are taken (the conditional update) and then started; a key
 *    still held by a live replica is left for a later tick, once that replica released it. Before the
 *    take, the host settles what it still has of an earlier hold of them ({@link OwnedHost.beforeTake}):
 *    a key dropped here (fenced, lost) and taken again must not have its old events written after it.
 */
import { errorMessage, logger } from "../log.ts";
import type { OwnedKind, OwnerRows } from "./owner-rows.ts";
import { keysOwnedBy } from "./rendezvous.ts";

const log = logger({ component: "ha" });

/** Why a key stops being held here. */
export type ReleaseReason = "moved" | "removed" | "lost" | "fenced" | "stopping";

/** What runs the owned keys: starts and stops them (the cluster supervisor, the notifier). */
export interface OwnedHost {
  /** Start using these keys (subscribe the clusters, serve the sinks). */
  take(keys: readonly string[]): Promise<void> | void;
  /** Stop using these keys; resolves once they are stopped (unsubscribed). */
  release(keys: readonly string[], reason: ReleaseReason): Promise<void> | void;
  /**
   * Called before these keys are taken (their rows updated): resolves once nothing this host received
   * under an earlier hold of theirs can still be written after the take (the clusters' events still on
   * their way are stored, or refused as no longer owned). Optional.
   */
  beforeTake?(keys: readonly string[]): Promise<void> | void;
}

/** A hand-over seen by this replica, for metrics. */
export type HandoverDirection = "taken" | "released";

/** Holds one kind of key (clusters or sinks) for one replica. */
export class Ownership {
  readonly kind: OwnedKind;
  readonly #rows: OwnerRows;
  readonly #host: OwnedHost;
  readonly #replica: string;
  readonly #held = new Set<string>();
  /** Counts {@link drop}s: a reconcile that was overtaken by one starts nothing. */
  #generation = 0;
  readonly #onHandover: (direction: HandoverDirection, count: number) => void;

  constructor(
    kind: OwnedKind,
    rows: OwnerRows,
    host: OwnedHost,
    replica: string,
    onHandover: (direction: HandoverDirection, count: number) => void = () => {},
  ) {
    this.kind = kind;
    this.#rows = rows;
    this.#host = host;
    this.#replica = replica;
    this.#onHandover = onHandover;
  }

  /** The keys held (started) now. */
  get held(): ReadonlySet<string> {
    return this.#held;
  }

  /**
   * One step towards holding exactly the keys of `keys` that hashing over `live` gives this replica.
   *
   * @example
   * ```ts
   * await clusters.reconcile(enabledClusterNames, await heartbeat.live());
   * ```
   */
  async reconcile(keys: readonly string[], live: readonly string[]): Promise<void> {
    const generation = this.#generation;
    const configured = new Set(keys);
    const desired = keysOwnedBy(this.#replica, configured, live);
    const rows = await this.#rows.mine();
    const lost = [...this.#held].filter((k) => !rows.has(k));
    if (lost.length > 0) {
      for (const key of lost)
        log.warn(`${this.#noun} taken by another replica; stopped here`, this.#field(key));
      await this.#stop(lost, "lost");
    }
    const leaving = [...this.#held].filter((k) => !desired.has(k));
    if (leaving.length > 0) {
      const removed = leaving.filter((k) => !configured.has(k));
      const moved = leaving.filter((k) => configured.has(k));
      if (removed.length > 0) await this.#stop(removed, "removed");
      if (moved.length > 0) await this.#stop(moved, "moved");
      await this.#rows.release(leaving);
    }
    // Rows left ours by an earlier process of this replica (not held here) are released too.
    const stale = [...rows].filter((k) => !this.#held.has(k) && !desired.has(k) && !leaving.includes(k));
    if (stale.length > 0) await this.#rows.release(stale);
    const wanted = [...desired].filter((k) => !this.#held.has(k));
    if (wanted.length === 0) return;
    await this.#host.beforeTake?.(wanted);
    const taken = [...(await this.#rows.take(wanted))];
    if (taken.length === 0 || generation !== this.#generation) return;
    for (const key of taken) this.#held.add(key);
    this.#onHandover("taken", taken.length);
    for (const key of taken) log.info(`${this.#noun} taken`, this.#field(key));
    await this.#host.take(taken);
  }

  /** Stops every held key without touching the database (fenced: it may be unreachable). */
  async drop(reason: ReleaseReason): Promise<void> {
    this.#generation++;
    await this.#stop([...this.#held], reason);
  }

  /** Stops every held key, then releases their rows (a graceful stop). */
  async releaseAll(): Promise<void> {
    const keys = [...this.#held];
    await this.#stop(keys, "stopping");
    try {
      await this.#rows.release(keys);
    } catch (error) {
      log.warn(`cannot release ${this.kind}; they move once the lease expires`, {
        error: errorMessage(error),
      });
    }
  }

  /** What one key is called in logs. */
  get #noun(): "cluster" | "sink" {
    return this.kind === "clusters" ? "cluster" : "sink";
  }

  /** The log field naming `key`: `{ cluster }` or `{ sink }`. */
  #field(key: string): Record<string, string> {
    return { [this.#noun]: key };
  }

  async #stop(keys: readonly string[], reason: ReleaseReason): Promise<void> {
    if (keys.length === 0) return;
    for (const key of keys) this.#held.delete(key);
    this.#onHandover("released", keys.length);
    for (const key of keys) log.info(`${this.#noun} released`, { ...this.#field(key), reason });
    await this.#host.release(keys, reason);
  }
}
