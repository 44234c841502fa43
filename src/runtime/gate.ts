/**
 * A counting semaphore: at most `limit` holders at once, waiters served in arrival order.
 * Bounds how many connection attempts a worker runs at once so a fleet does not stampede at start-up.
 */

/** Limits concurrent holders. */
export class Gate {
  #free: number;
  readonly #waiting: Array<() => void> = [];

  constructor(readonly limit: number) {
    this.#free = Math.max(1, Math.floor(limit));
  }

  /** Waits for a slot; call the returned function exactly once to give it back. */
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
