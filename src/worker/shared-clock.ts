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
 * @example
 * ```ts
 * const clock = new SharedClock();
 * const stop = clock.every(15_000, () => void client.ping());
 * stop(); // no more runs
 * ```
 */

/** The longest a job may run late. */
export const MAX_SLACK_MS = 1000;

/** The longest one turn of the event loop runs due jobs; the rest run in the turns that follow. */
export const SLICE_MS = 2;

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
   */
  every(intervalMs: number, run: (dueMs: number) => void): () => void {
    const job: Job = {
      intervalMs,
      slackMs: Math.min(MAX_SLACK_MS, intervalMs / 10),
      due: performance.now() + intervalMs,
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
        // A thread that was stalled for several intervals runs a job once, not once per missed interval.
        if (job.due <= now) job.due = now + job.intervalMs;
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
