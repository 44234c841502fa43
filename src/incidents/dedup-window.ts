/**
 * The dedup window held in memory: for each fault (cluster, `fault_id`) seen within the window, its
 * latest incident and when that incident last saw an event. The store asks it instead of running an
 * index search per event; it is warmed from the database the first time it is needed and kept by the
 * store's own writes (only ingesting moves `last_seen_ms`).
 *
 * Bounded: past `maxEntries` the oldest entries are dropped, and a lookup reaching back to them asks the
 * database. The database keeps no index of every incident by fault for that (a new incident would write
 * one at a random place: measured, the biggest share of a steady rate's build, `scripts/bench/index-cost.ts`):
 * an entry dropped past the bound is **spilled** ({@link DedupWindow.takeSpilled}), and the store writes
 * it to `dedup_spill` in the same transaction. So every incident last seen since {@link
 * DedupWindow.coveredFromMs} is in the window or in the spill; an event reaching back further (it waited
 * longer than the slack between its worker and the store, or a previous run journaled it) makes the store
 * warm the window again from further back.
 */

/** A fault's latest incident, as the window knows it. */
export interface WindowEntry {
  /** The incident's `seq`. */
  seq: number;
  /** The incident's `last_seen_ms`. */
  lastSeenMs: number;
}

/** An entry dropped past the bound, for the store to keep in the database (`dedup_spill`). */
export interface SpilledEntry extends WindowEntry {
  cluster: string;
  faultId: string;
}

/** What the window says about a fault: its incident, none within the window, or ask the database. */
export type WindowLookup = WindowEntry | "none" | "unknown";

/** Entries kept at most by default: a storm of distinct faults far past this asks the database. */
export const DEFAULT_MAX_WINDOW_ENTRIES = 200_000;

/** How much older than the window entries are kept (events may wait a while between worker and store). */
export const WINDOW_SLACK_MS = 60_000;

/**
 * Faults seen within the dedup window, oldest update first. It is complete from a moment on: every
 * incident last seen since then is in it; a lookup reaching further back answers `"unknown"`, and the
 * database answers it from the spill as long as it reaches no further back than {@link coveredFromMs}.
 *
 * @example
 * ```ts
 * const window = new DedupWindow(300_000);
 * window.warm(rowsSeenSince(now - 300_000 - WINDOW_SLACK_MS), now - 300_000 - WINDOW_SLACK_MS);
 * const found = window.lookup("prod", "f-1", receivedMs); // entry, "none", or "unknown"
 * ```
 */
export class DedupWindow {
  /** Key `cluster \0 fault_id` (cluster names cannot hold a NUL) → entry; map order = least recently seen first. */
  readonly #entries = new Map<string, WindowEntry>();
  #windowMs: number;
  readonly #maxEntries: number;
  /** Every incident last seen at or after this moment is in {@link #entries}. */
  #completeFromMs = Number.POSITIVE_INFINITY;
  /** Every incident last seen at or after this moment is in {@link #entries} or was spilled. */
  #coveredFromMs = Number.POSITIVE_INFINITY;
  /** Entries dropped past the bound since the last {@link takeSpilled}. */
  #spilled: SpilledEntry[] = [];
  #warm = false;

  constructor(windowMs: number, maxEntries = DEFAULT_MAX_WINDOW_ENTRIES) {
    this.#windowMs = windowMs;
    this.#maxEntries = Math.max(1, maxEntries);
  }

  /** Whether {@link warm} has run (since the last {@link reset}). */
  get warmed(): boolean {
    return this.#warm;
  }

  /** Faults known. */
  get size(): number {
    return this.#entries.size;
  }

  /** The window length. */
  get windowMs(): number {
    return this.#windowMs;
  }

  /**
   * Every incident last seen at or after this moment is in the window or was spilled (+Infinity before
   * {@link warm}): a lookup reaching back further needs the window warmed again from further back.
   */
  get coveredFromMs(): number {
    return this.#coveredFromMs;
  }

  /** The entries dropped past the bound since the last call (the store writes them to `dedup_spill`). */
  takeSpilled(): SpilledEntry[] {
    const spilled = this.#spilled;
    this.#spilled = [];
    return spilled;
  }

  /** Forgets everything, with a window of `windowMs`: {@link warm} runs again before the next lookup. */
  reset(windowMs: number): void {
    this.#windowMs = windowMs;
    this.#entries.clear();
    this.#completeFromMs = Number.POSITIVE_INFINITY;
    this.#coveredFromMs = Number.POSITIVE_INFINITY;
    this.#spilled = [];
    this.#warm = false;
  }

  /**
   * Loads every incident last seen at or after `sinceMs` (the rows, in any order): complete from then on,
   * or, when there are more than the bound, from just after the newest it had to drop (those are spilled,
   * and older lookups ask the database); covered from `sinceMs`.
   */
  warm(
    rows: Iterable<{ seq: number; cluster: string; fault_id: string; last_seen_ms: number }>,
    sinceMs: number,
  ): void {
    const sorted = [...rows].sort((a, b) => a.last_seen_ms - b.last_seen_ms || a.seq - b.seq);
    // Set first: an entry dropped past the bound while loading moves it later (see #drop).
    this.#completeFromMs = sinceMs;
    this.#coveredFromMs = sinceMs;
    for (const row of sorted) this.#put(row.cluster, row.fault_id, row.seq, row.last_seen_ms);
    this.#warm = true;
  }

  /**
   * The fault's incident if it was last seen at or after `receivedMs - window`; `"none"` when it has none
   * then; `"unknown"` when the window does not reach back that far (the database must say).
   */
  lookup(cluster: string, faultId: string, receivedMs: number): WindowLookup {
    const since = receivedMs - this.#windowMs;
    const entry = this.#entries.get(keyOf(cluster, faultId));
    // An entry is always the fault's latest incident.
    if (entry) return entry.lastSeenMs >= since ? entry : "none";
    return since >= this.#completeFromMs ? "none" : "unknown";
  }

  /** Records that incident `seq` is the fault's latest, last seen at `lastSeenMs`. */
  seen(cluster: string, faultId: string, seq: number, lastSeenMs: number): void {
    this.#put(cluster, faultId, seq, lastSeenMs);
  }

  /** Forgets the fault (its incident is gone from the database). */
  forget(cluster: string, faultId: string): void {
    this.#entries.delete(keyOf(cluster, faultId));
  }

  /**
   * Drops entries last seen before `nowMs - window - WINDOW_SLACK_MS` (oldest first), not spilled: the
   * window covers only what comes after that moment from now on (so the spill's older rows can go too).
   */
  prune(nowMs: number): void {
    const cutoff = nowMs - this.#windowMs - WINDOW_SLACK_MS;
    for (const [key, entry] of this.#entries) {
      if (entry.lastSeenMs >= cutoff) break;
      this.#drop(key, entry);
    }
    this.#coveredFromMs = Math.max(this.#coveredFromMs, cutoff);
  }

  #put(cluster: string, faultId: string, seq: number, lastSeenMs: number): void {
    const key = keyOf(cluster, faultId);
    this.#entries.delete(key); // re-inserted last: the map stays ordered by update
    this.#entries.set(key, { seq, lastSeenMs });
    if (this.#entries.size > this.#maxEntries) {
      const [oldestKey, oldest] = this.#entries.entries().next().value as [string, WindowEntry];
      this.#drop(oldestKey, oldest);
      // The key is `cluster \0 fault_id`, and a cluster name holds no NUL: the first one separates them.
      const separator = oldestKey.indexOf("\u0000");
      this.#spilled.push({
        cluster: oldestKey.slice(0, separator),
        faultId: oldestKey.slice(separator + 1),
        ...oldest,
      });
    }
  }

  /** Drops an entry: the window is complete only after it from now on. */
  #drop(key: string, entry: WindowEntry): void {
    this.#entries.delete(key);
    this.#completeFromMs = Math.max(this.#completeFromMs, entry.lastSeenMs + 1);
  }
}

/** The last key made: an event's lookup and its `seen` ask for the same one (built and hashed once). */
let lastKey = { cluster: "", faultId: "", key: "\u0000" };

function keyOf(cluster: string, faultId: string): string {
  const last = lastKey;
  if (last.cluster === cluster && last.faultId === faultId) return last.key;
  const key = `${cluster}\u0000${faultId}`;
  lastKey = { cluster, faultId, key };
  return key;
}
