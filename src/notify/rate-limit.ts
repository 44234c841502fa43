/**
 * A sink's own rate limit: at most `perMinute` messages a minute, spaced evenly, so a burst of
 * incidents never floods a receiver (Slack allows about one message a second per webhook). Each sink
 * has its own limiter and its own worker, so one sink's limit never slows another.
 */
import { sleep } from "../runtime/sleep.ts";

/** Spaces sends at least `60 / perMinute` seconds apart. */
export class RateLimiter {
  readonly #intervalMs: number;
  readonly #now: () => number;
  #nextAt = Number.NEGATIVE_INFINITY;

  constructor(perMinute: number, now: () => number = () => performance.now()) {
    if (!(perMinute > 0)) throw new RangeError(`perMinute must be > 0, got ${perMinute}`);
    this.#intervalMs = 60_000 / perMinute;
    this.#now = now;
  }

  /**
   * Waits for the next free slot and takes it; resolves at once when `signal` aborts (the caller
   * checks it).
   *
   * @example
   * ```ts
   * await limiter.take(stopping.signal);
   * if (!stopping.signal.aborted) await send();
   * ```
   */
  async take(signal: AbortSignal): Promise<void> {
    const wait = this.#nextAt - this.#now();
    if (wait > 0) await sleep(wait, signal);
    this.#nextAt = Math.max(this.#now(), this.#nextAt) + this.#intervalMs;
  }
}
