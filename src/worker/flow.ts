/**
 * Backpressure for event streams. When the main thread falls behind (its fan-in channel past a
 * high-water mark) it asks every worker to hold: the workers stop reading their event streams, so
 * TCP flow control holds the servers back instead of faultline dropping what it already accepted.
 */

/** Whether this thread's event streams may be read now. */
export class Flow {
  #held: PromiseWithResolvers<void> | null = null;

  /** Stops reading (until {@link release}). */
  hold(): void {
    this.#held ??= Promise.withResolvers<void>();
  }

  /** Reads again. */
  release(): void {
    this.#held?.resolve();
    this.#held = null;
  }

  /** Undefined while flowing; while held, a promise that resolves on release. */
  ready(): Promise<void> | undefined {
    return this.#held?.promise;
  }
}
