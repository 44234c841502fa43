/**
 * Exponential backoff with jitter: the first delay is `initial`, each further one doubles, a random
 * 0-20 % is added so a fleet that failed together does not retry together, and no delay ever exceeds `max`.
 */

/** Delays between connection attempts. */
export class Backoff {
  #attempt = 0;

  constructor(
    readonly initialMs: number,
    readonly maxMs: number,
    readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt; each call doubles the base. */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * 2 ** this.#attempt);
    if (base < this.maxMs) this.#attempt++;
    return Math.min(this.maxMs, Math.round(base * (1 + 0.2 * this.random())));
  }

  /** Starts over from `initial` (after a successful subscribe). */
  reset(): void {
    this.#attempt = 0;
  }

  /** Attempts made since the last reset. */
  get attempts(): number {
    return this.#attempt;
  }
}
