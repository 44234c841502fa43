/**
 * The backpressure stage: asks the workers to hold their event streams once the fan-in channel reaches
 * {@link HOLD_AT} queued events, or at once when the store fails, and to read again once the channel is
 * back under {@link RELEASE_AT}. Holding a stream pushes back to the servers; nothing is dropped.
 */
import { logger } from "../log.ts";
import type { FlowMessage } from "../worker/protocol.ts";

/** Queued events at which the workers are asked to hold their event streams. */
export const HOLD_AT = 5_000;
/** Queued events at which they may read again. */
export const RELEASE_AT = 1_000;

const log = logger({ stage: "backpressure" });

/** Holds and releases the workers' event streams from the channel's depth. */
export class Backpressure {
  #holding = false;

  /**
   * @param depth the channel's current size.
   * @param broadcast sends `hold` / `release` to every worker.
   */
  constructor(
    readonly depth: () => number,
    readonly broadcast: (message: FlowMessage) => void,
  ) {}

  /** True while the workers are told to hold. */
  get holding(): boolean {
    return this.#holding;
  }

  /** Holds the streams now (the store is failing), whatever the depth. */
  hold(): void {
    if (this.#holding) return;
    this.#holding = true;
    this.broadcast({ type: "hold" });
    log.warn("store behind: holding event streams", { queued: this.depth() });
  }

  /** Re-checks the depth; call after every change of the channel's size. */
  check(): void {
    const queued = this.depth();
    if (!this.#holding && queued >= HOLD_AT) this.hold();
    else if (this.#holding && queued <= RELEASE_AT) {
      this.#holding = false;
      this.broadcast({ type: "release" });
      log.info("store caught up: event streams released", { queued });
    }
  }
}
