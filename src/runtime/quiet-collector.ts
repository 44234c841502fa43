/**
 * Gives a thread's memory back once a spell of work is over. faultline's re-executed process turns Bun's
 * own GC timer off (see http-capacity.ts), which otherwise collected every second in every thread an idle
 * fleet's pings touch; JavaScriptCore still collects as a heap grows, but a heap that stopped allocating
 * after a burst kept its peak. So the threads that carry events (the worker sending batches, the main
 * thread's sink) report work here, and once none has come for {@link QUIET_COLLECT_MS}, the thread runs
 * one full collection; at most one per {@link MIN_COLLECT_INTERVAL_MS}. While nothing happens, nothing
 * runs: no timer is armed until work comes. Where Bun's GC timer still runs (a process that was not
 * re-executed: fleets under ~100 clusters), or the runtime has no `gc` to call (Deno), it does nothing.
 */
import { GC_TIMER_VARIABLE } from "./http-capacity.ts";

/** Quiet this long after work, a thread collects once. */
export const QUIET_COLLECT_MS = 5000;
/** Collections triggered here are at least this far apart (sporadic events cost at most one a minute). */
export const MIN_COLLECT_INTERVAL_MS = 60_000;

/** A full collection of this thread's heap; undefined where the runtime offers none or its own GC timer runs. */
function runtimeCollect(): (() => void) | undefined {
  const bun = (globalThis as { Bun?: { gc?: (force: boolean) => void } }).Bun;
  if (!bun?.gc || process.env[GC_TIMER_VARIABLE] === undefined) return undefined;
  return () => bun.gc?.(true);
}

/** Options for {@link QuietCollector} (tests). */
export interface QuietCollectorOptions {
  collect?: () => void;
  quietMs?: number;
  minIntervalMs?: number;
  now?: () => number;
}

/**
 * One per thread: `activity()` after each piece of work; the collection follows the quiet.
 *
 * @example
 * ```ts
 * const collector = new QuietCollector();
 * collector.activity(); // after storing a batch: a collection once 5 s pass without another
 * ```
 */
export class QuietCollector {
  readonly #collect: (() => void) | undefined;
  readonly #quietMs: number;
  readonly #minIntervalMs: number;
  readonly #now: () => number;
  #lastWorkMs = 0;
  #lastCollectMs = Number.NEGATIVE_INFINITY;
  #timer: ReturnType<typeof setTimeout> | null = null;
  /** Collections run so far. */
  collections = 0;

  constructor(options: QuietCollectorOptions = {}) {
    this.#collect = options.collect ?? runtimeCollect();
    this.#quietMs = options.quietMs ?? QUIET_COLLECT_MS;
    this.#minIntervalMs = options.minIntervalMs ?? MIN_COLLECT_INTERVAL_MS;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Some work was done: a collection follows once the thread has been quiet long enough. */
  activity(): void {
    if (!this.#collect) return;
    this.#lastWorkMs = this.#now();
    if (this.#timer === null) this.#arm(this.#quietMs);
  }

  /** Forgets pending work (the thread is stopping). */
  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #arm(delayMs: number): void {
    this.#timer = setTimeout(() => this.#check(), delayMs);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  #check(): void {
    this.#timer = null;
    const now = this.#now();
    const quietFor = now - this.#lastWorkMs;
    if (quietFor < this.#quietMs) {
      this.#arm(this.#quietMs - quietFor);
      return;
    }
    const sinceLast = now - this.#lastCollectMs;
    if (sinceLast < this.#minIntervalMs) {
      this.#arm(this.#minIntervalMs - sinceLast);
      return;
    }
    this.#lastCollectMs = now;
    this.collections++;
    this.#collect?.();
  }
}

/** This thread's collector (each thread loads its own copy of this module). */
export const threadCollector = new QuietCollector();
