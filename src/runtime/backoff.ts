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
    const delay = backoffDelay(this.#attempt, this.initialMs, this.maxMs, this.random);
    if (this.initialMs * 2 ** this.#attempt < this.maxMs) this.#attempt++;
    return delay;
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

/**
 * The delay before retry number `attempt` (0 for the first retry): `initialMs` doubled `attempt`
 * times, never above `maxMs`, plus 0-20 % jitter (still never above `maxMs`). For retries whose
 * count is stored (e.g. a notification's attempts) rather than held in a {@link Backoff}.
 *
 * @example
 * ```ts
 * backoffDelay(3, 1000, 60_000, () => 0); // 8000
 * ```
 */
export function backoffDelay(
  attempt: number,
  initialMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(maxMs, initialMs * 2 ** attempt);
  return Math.min(maxMs, Math.round(base * (1 + 0.2 * random())));
}
