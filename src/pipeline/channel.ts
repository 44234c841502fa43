/**
 * A bounded single-consumer channel: the fan-in point where every worker's events meet. Producers
 * `push` (never blocks; a full channel refuses and the caller counts the drop), the consumer
 * iterates with `for await`.
 */

/** How {@link Channel.take} waits for more once something is queued. */
export interface TakeOptions<T> {
  /**
   * Once something arrives, wait one more event-loop turn, so that everything arriving in the same turn
   * (e.g. a burst of messages from several workers) is taken together.
   */
  gather?: boolean;
  /**
   * Coalescing: keep waiting for more until `until(first)` (epoch ms, as `Date.now()`), `first` being the
   * oldest item queued, but never longer than `maxMs` from now; ends as soon as `max` items are queued or
   * the channel closes. An item that is already late waits for nothing.
   */
  linger?: { until: (first: T) => number; maxMs: number };
}

/** Bounded FIFO with async iteration. */
export class Channel<T> implements AsyncIterable<T> {
  #items: T[] = [];
  #head = 0;
  #closed = false;
  #wake: (() => void) | null = null;
  #accepted = 0;
  /** While a {@link take} lingers: how many items end the wait, and how to end it. */
  #lingering: { max: number; end: () => void } | null = null;

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
    if (this.#lingering !== null && this.size >= this.#lingering.max) this.#lingering.end();
    return true;
  }

  /** No more pushes; the consumer drains what is queued, then its loop ends. */
  close(): void {
    this.#closed = true;
    this.#wake?.();
    this.#lingering?.end();
  }

  /**
   * Takes up to `max` queued items at once (for batched consumers); waits while empty. Empty = closed.
   * `options` make it wait a little for more once something is queued (see {@link TakeOptions}).
   */
  async take(max: number, options: TakeOptions<T> = {}): Promise<T[]> {
    let waited = false;
    while (this.size === 0) {
      if (this.#closed) return [];
      waited = true;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = null;
    }
    const lingered = options.linger ? await this.#linger(max, options.linger) : false;
    if (options.gather && waited && !lingered) await new Promise<void>((resolve) => setImmediate(resolve));
    const end = Math.min(this.#items.length, this.#head + max);
    const batch = this.#items.slice(this.#head, end);
    this.#head = end;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return batch;
  }

  /**
   * Waits until an item is queued or the channel closes (true), or `ms` pass first (false). For the
   * one consumer, between its takes.
   */
  async waitForItem(ms: number): Promise<boolean> {
    if (this.size > 0 || this.#closed) return true;
    return await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve(false);
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve(true);
      };
    });
  }

  /** Waits as {@link TakeOptions.linger} says; true when it waited at all. */
  async #linger(max: number, linger: NonNullable<TakeOptions<T>["linger"]>): Promise<boolean> {
    if (this.size >= max || this.#closed) return false;
    const wait = Math.min(linger.until(this.#items[this.#head] as T) - Date.now(), linger.maxMs);
    if (!(wait > 0)) return false;
    await new Promise<void>((resolve) => {
      const end = (): void => {
        clearTimeout(timer);
        this.#lingering = null;
        resolve();
      };
      const timer = setTimeout(end, wait);
      this.#lingering = { max, end };
    });
    return true;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    while (true) {
      const batch = await this.take(256);
      if (batch.length === 0) return;
      yield* batch;
    }
  }
}
