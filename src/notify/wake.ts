/**
 * A wait that another part of the program can cut short: {@link Wake.wait} resolves after its time,
 * on {@link Wake.wake}, or when its signal aborts. A wake with no one waiting is kept for the next
 * wait, so a wake-up that comes just before the wait is never lost.
 */
import { MAX_SLEEP_MS } from "../runtime/sleep.ts";

/** A wake-up call for one waiter at a time. */
export class Wake {
  #pending = false;
  #resolve: (() => void) | null = null;

  /**
   * Resolves after `ms`, on {@link wake}, or when `signal` aborts, whichever comes first (at once
   * when a wake came since the last wait).
   *
   * @example
   * ```ts
   * const wake = new Wake();
   * setTimeout(() => wake.wake(), 10);
   * await wake.wait(60_000, signal); // after ~10 ms
   * ```
   */
  wait(ms: number, signal: AbortSignal): Promise<void> {
    if (this.#pending || signal.aborted) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.#resolve = null;
        resolve();
      };
      const timer = setTimeout(done, Math.min(Math.max(0, ms), MAX_SLEEP_MS));
      signal.addEventListener("abort", done, { once: true });
      this.#resolve = done;
    });
  }

  /** Ends the current wait, or the next one if no one waits now. */
  wake(): void {
    if (this.#resolve) this.#resolve();
    else this.#pending = true;
  }
}
