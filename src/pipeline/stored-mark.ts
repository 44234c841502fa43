/**
 * How far the sink has got through the channel. The channel is first in, first out, and the sink takes
 * its events in order and, batch by batch, either stores them or gives up on them (`store_error`, only
 * while faultline stops). So "every event the channel accepted before now has left the sink" is one
 * count compared with another. A replica handing a cluster over waits for it before it frees the
 * cluster's row: the taker then reads, as already stored, every event this replica received, and its
 * backfill skips them instead of storing them a second time.
 */

/** The channel's side: how many events it has accepted since it was made. */
export interface CountingChannel {
  readonly accepted: number;
}

/** Counts the events the sink is done with, and lets callers wait for the ones accepted so far. */
export class StoredMark {
  readonly #channel: CountingChannel;
  #done = 0;
  #waiters: Array<{ target: number; resolve: () => void }> = [];

  constructor(channel: CountingChannel) {
    this.#channel = channel;
  }

  /** Events the sink is done with (stored, or given up on). */
  get done(): number {
    return this.#done;
  }

  /** The sink is done with `count` more events, in channel order. */
  advance(count: number): void {
    this.#done += count;
    const ready = this.#waiters.filter((w) => w.target <= this.#done);
    if (ready.length === 0) return;
    this.#waiters = this.#waiters.filter((w) => w.target > this.#done);
    for (const waiter of ready) waiter.resolve();
  }

  /**
   * Resolves once the sink is done with every event the channel had accepted when this was called.
   * Never rejects; it does not resolve while the sink is stuck (callers bound the wait).
   *
   * @example
   * ```ts
   * await supervisor.remove(["prod-east"]); // its worker's events are in the channel now
   * await mark.untilDone();                 // … and stored
   * ```
   */
  untilDone(): Promise<void> {
    const target = this.#channel.accepted;
    if (target <= this.#done) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ target, resolve }));
  }
}
