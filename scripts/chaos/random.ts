/** A small seeded random number generator, so that a chaos run's choices can be replayed from its seed. */

/** Random choices drawn from one seed (mulberry32: 32-bit state, fast, good enough for scheduling). */
export class SeededRandom {
  #state: number;

  /** A generator starting from `seed` (any integer; only its low 32 bits count). */
  constructor(readonly seed: number) {
    this.#state = seed >>> 0;
  }

  /** The next number in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /**
   * A number in [min, max).
   *
   * @example
   * ```ts
   * const delayMs = new SeededRandom(42).between(300, 2000);
   * ```
   */
  between(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** One element of `items` (undefined when it is empty). */
  pick<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[Math.floor(this.next() * items.length)];
  }
}

/** A fresh seed for a run that was given none (printed, so the run can be repeated). */
export function randomSeed(): number {
  return Math.floor(Math.random() * 0x7fffffff);
}
