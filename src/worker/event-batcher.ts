/**
 * Gathers a worker's events into batches for the main thread: the first event waits at most
 * {@link EVENT_BATCH_MS} for the ones that follow, a full batch goes at once. One message per batch
 * instead of one per event (see `EventBatchMessage` in protocol.ts).
 *
 * @example
 * ```ts
 * const batcher = new EventBatcher((events) => post(encodeEventBatch(events)));
 * batcher.add(event); // sent within EVENT_BATCH_MS, with whatever else arrived meanwhile
 * batcher.flush();    // or now (before another message, so the order is kept)
 * ```
 */
import type { FaultEvent } from "../events/fault.ts";
import { EVENT_BATCH_MS } from "./protocol.ts";

/** Most events sent in one message. */
export const MAX_EVENT_BATCH = 256;

/** Events waiting to cross to the main thread, sent in batches. */
export class EventBatcher {
  readonly #send: (events: FaultEvent[]) => void;
  readonly #waitMs: number;
  readonly #max: number;
  #pending: FaultEvent[] = [];
  /** Sends {@link pending} once the first of them has waited `waitMs`. */
  #timer: ReturnType<typeof setTimeout> | null = null;

  /** Batches sent through `send`: after `waitMs` from their first event, or at once at `max` events. */
  constructor(send: (events: FaultEvent[]) => void, waitMs = EVENT_BATCH_MS, max = MAX_EVENT_BATCH) {
    this.#send = send;
    this.#waitMs = waitMs;
    this.#max = max;
  }

  /** The events accepted and not sent yet (a dying worker counts them as lost). */
  get pending(): readonly FaultEvent[] {
    return this.#pending;
  }

  /** Accepts `event`; it is sent with its batch. */
  add(event: FaultEvent): void {
    this.#pending.push(event);
    if (this.#pending.length >= this.#max) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), this.#waitMs);
  }

  /** Sends what waits now. If `send` throws, the events stay pending (and counted by {@link pending}). */
  flush(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#pending.length === 0) return;
    this.#send(this.#pending);
    this.#pending = [];
  }
}
