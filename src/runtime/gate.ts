/**
 * A counting semaphore: at most `limit` holders at once, waiters served in arrival order.
 * Bounds how many connection attempts a worker runs at once so a fleet does not stampede at start-up.
 */

/**
 * Limits concurrent holders (a counting semaphore, in the manner of Deno std's `Semaphore`). A limit
 * below 1 is taken as 1, a fractional one rounded down. `acquire` hands out a release function rather
 * than a `release()` method, so a holder can only give back its own slot, and only once.
 *
 * @example
 * ```ts
 * const gate = new Gate(2);
 * const release = await gate.acquire(); // waits while two others hold a slot
 * try {
 *   await connect();
 * } finally {
 *   release(); // the next waiter, in arrival order, gets the slot; a second call does nothing
 * }
 * ```
 */
export class Gate {
  #free: number;
  readonly #waiting: Array<() => void> = [];

  /** A gate with `limit` slots. */
  constructor(readonly limit: number) {
    this.#free = Math.max(1, Math.floor(limit));
  }

  /** Waits for a slot; call the returned function exactly once to give it back (later calls are ignored). */
  async acquire(): Promise<() => void> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    };
  }

  /** Attempts waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }
}
