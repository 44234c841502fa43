/**
 * One timer for many connections' periodic work (their pings). A worker holding 500 connections that
 * each pinged on a timer of its own woke up for every ping: at 15 s intervals, 33 wake-ups a second,
 * each followed by its own answer. The clock lets a job run up to a tenth of its interval (1 s at most)
 * late, and runs every job due when it wakes: the pings of a second go out together, and so do their
 * answers. It runs them in slices of {@link SLICE_MS}, letting the event loop turn between slices, so
 * that hundreds of pings at once never hold the thread (the main thread, where the source runs there)
 * for longer than that. Average periods stay exact: a job's next run is due one interval after the
 * previous was due, however late that one ran.
 *
 * A job given a phase runs at moments of the wall clock that are that phase past a multiple of its
 * interval. A connection takes its phase from its cluster's name ({@link phaseFraction} of its ping
 * interval): the pings of 1000 clusters that all came up in the same second are spread over the interval
 * (at 15 s, ~67 a second, still one wake-up a second) instead of going out as one wave every interval,
 * and a cluster's jobs with intervals that are multiples of one another (its ping every 15 s, its
 * subscription check every 180 s) still fall due together.
 *
 * @example
 * ```ts
 * const clock = new SharedClock();
 * const stop = clock.every(15_000, () => void client.ping(), { phaseMs: phaseFraction("prod-east") * 15_000 });
 * stop(); // no more runs
 * ```
 */

/** The longest a job may run late. */
export const MAX_SLACK_MS = 1000;

/** The longest one turn of the event loop runs due jobs; the rest run in the turns that follow. */
export const SLICE_MS = 2;

/** How {@link SharedClock.every} places a job's runs. */
export interface EveryOptions {
  /**
   * Runs the job at wall-clock moments that are `phaseMs` past a multiple of its interval (Unix time,
   * ms): the first at the next such moment (within one interval), every run after on that grid. Without
   * it, the first run is one interval from now.
   */
  readonly phaseMs?: number;
}

/**
 * Where in an interval a job keyed `key` runs, in [0, 1): FNV-1a of the key's UTF-16 code units,
 * finalised as MurmurHash3's, over 2^32. Spread evenly enough over many keys, and the same on every thread and every start.
 *
 * @example
 * ```ts
 * phaseFraction("prod-east"); // the same number in [0, 1) every time
 * ```
 */
export function phaseFraction(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  // MurmurHash3's finaliser: FNV-1a alone leaves names that differ in their last character (cluster-10,
  // cluster-11) close together in the high bits.
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return ((hash ^ (hash >>> 16)) >>> 0) / 2 ** 32;
}

interface Job {
  readonly intervalMs: number;
  /** How late it may run: a tenth of its interval, at most {@link MAX_SLACK_MS}. */
  readonly slackMs: number;
  /** When its next run is due (`performance.now()` time). */
  due: number;
  readonly run: (dueMs: number) => void;
}

/** Periodic jobs on one timer; see the module's comment. */
export class SharedClock {
  readonly #jobs = new Set<Job>();
  #timer: ReturnType<typeof setTimeout> | null = null;
  /** When the armed timer fires (`performance.now()` time). */
  #timerAt = Number.POSITIVE_INFINITY;

  /**
   * Runs `run` every `intervalMs` (first one interval from now) until the returned function is called.
   * `run` is given the moment that run was due (`performance.now()` time; it runs up to its slack later).
   * With `options.phaseMs`, the runs fall on that phase of the interval instead ({@link EveryOptions}).
   */
  every(intervalMs: number, run: (dueMs: number) => void, options: EveryOptions = {}): () => void {
    const now = performance.now();
    const job: Job = {
      intervalMs,
      slackMs: Math.min(MAX_SLACK_MS, intervalMs / 10),
      due: options.phaseMs === undefined ? now + intervalMs : nextOnPhase(now, intervalMs, options.phaseMs),
      run,
    };
    this.#jobs.add(job);
    this.#arm(job.due + job.slackMs);
    return () => {
      this.#jobs.delete(job);
      if (this.#jobs.size === 0) this.#disarm();
    };
  }

  /** Jobs running now. */
  get size(): number {
    return this.#jobs.size;
  }

  #arm(at: number): void {
    if (at >= this.#timerAt) return;
    this.#disarm();
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#tick(), Math.max(0, at - performance.now()));
  }

  #disarm(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }

  #tick(): void {
    this.#timer = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    const due: Array<{ job: Job; dueMs: number }> = [];
    let next = Number.POSITIVE_INFINITY;
    for (const job of this.#jobs) {
      if (job.due <= now) {
        due.push({ job, dueMs: job.due });
        job.due += job.intervalMs;
        // A thread that was stalled for several intervals runs a job once, not once per missed interval;
        // its next run is the next one of its schedule (its phase kept).
        if (job.due <= now) job.due += (Math.floor((now - job.due) / job.intervalMs) + 1) * job.intervalMs;
      }
      next = Math.min(next, job.due + job.slackMs);
    }
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next);
    this.#run(due, 0);
  }

  /**
   * Runs `due` from `from` on, for at most {@link SLICE_MS} at a time: the rest follows in the next turn of
   * the event loop, after the I/O that waited (a source on the main thread reads and stores its events
   * between slices; 500 pings at once held that thread for tens of milliseconds).
   */
  #run(due: ReadonlyArray<{ job: Job; dueMs: number }>, from: number): void {
    const started = performance.now();
    for (let i = from; i < due.length; i++) {
      const { job, dueMs } = due[i] as { job: Job; dueMs: number };
      if (!this.#jobs.has(job)) continue; // stopped meanwhile (by a job that ran before it, or since)
      try {
        job.run(dueMs);
      } catch (error) {
        // As a timer of its own would have: the error reaches the thread's handlers; the others still run.
        queueMicrotask(() => {
          throw error;
        });
      }
      if (i + 1 < due.length && performance.now() - started >= SLICE_MS) {
        setImmediate(() => this.#run(due, i + 1));
        return;
      }
    }
  }
}

/**
 * The first moment after `now` (`performance.now()` time) that is `phaseMs` past a multiple of
 * `intervalMs` on the wall clock. Jobs of one phase and interval get the same moment, wherever in the
 * interval they were started.
 */
function nextOnPhase(now: number, intervalMs: number, phaseMs: number): number {
  const wallNow = performance.timeOrigin + now;
  const wallDue = (Math.floor((wallNow - phaseMs) / intervalMs) + 1) * intervalMs + phaseMs;
  return wallDue - performance.timeOrigin;
}
