/**
 * A bounded single-consumer channel: the fan-in point where every worker's events meet. Producers
 * `push` (never blocks; a full channel refuses and the caller counts the drop), the consumer
 * iterates with `for await`.
 */

/** Bounded FIFO with async iteration. */
export class Channel<T> implements AsyncIterable<T> {
  #items: T[] = [];
  #head = 0;
  #closed = false;
  #wake: (() => void) | null = null;
  #accepted = 0;

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`channel capacity must be at least 1, got ${capacity}`);
  }

  /** Items waiting. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Items accepted by {@link push} since the channel was made (taken or not). */
  get accepted(): number {
    return this.#accepted;
  }

  /** Adds an item; false when the channel is full or closed (nothing is queued then). */
  push(item: T): boolean {
    if (this.#closed || this.size >= this.capacity) return false;
    this.#items.push(item);
    this.#accepted += 1;
    this.#wake?.();
    return true;
  }

  /** No more pushes; the consumer drains what is queued, then its loop ends. */
  close(): void {
    this.#closed = true;
    this.#wake?.();
  }

  /**
   * Takes up to `max` queued items at once (for batched consumers); waits while empty. Empty = closed.
   * With `gather`, once something arrives it waits one more event-loop turn, so that everything
   * arriving in the same turn (e.g. a burst of messages from several workers) is taken together.
   */
  async take(max: number, options: { gather?: boolean } = {}): Promise<T[]> {
    let waited = false;
    while (this.size === 0) {
      if (this.#closed) return [];
      waited = true;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = null;
    }
    if (options.gather && waited) await new Promise<void>((resolve) => setImmediate(resolve));
    const end = Math.min(this.#items.length, this.#head + max);
    const batch = this.#items.slice(this.#head, end);
    this.#head = end;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return batch;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    while (true) {
      const batch = await this.take(256);
      if (batch.length === 0) return;
      yield* batch;
    }
  }
}
