/**
 * The worker's start-up gate: bounds how many connection attempts wait for `initialize` at once, so a
 * fleet does not stampede its servers (or the worker itself) at start-up.
 *
 * A slot is held until `initialize` answers. A server slower than its peers (hanging, blackholed) gives
 * its slot back early, after {@link MIN_SLOT_HOLD_MS}, so that it never queues the rest behind it for its
 * whole request timeout. But "slower than its peers" is judged against how long `initialize` takes right
 * now: when everything is slow (the node is busy and the worker gets little CPU, or every server is
 * loaded), a slot is held as long as a typical attempt takes. Were it given back after a fixed second
 * regardless, the gate would admit a fixed number of attempts per second whatever the capacity, the
 * attempts in flight would pile up until they hit their request timeout, and their retries would add
 * more work: a livelock (measured: 311 attempts in flight behind a gate of 64, 89 `initialize` timeouts
 * and 35 s to start 1000 clusters on a loaded machine).
 *
 * Slots given back early are bounded too, unless the recent answers came within the minimum hold (then a
 * slow attempt is a dead or hanging server, not a sign of a busy node, and many dead servers must not
 * hold the healthy ones back): at most `limit` attempts may be waiting for `initialize` outside the gate,
 * so never more than twice `limit` are in flight while `initialize` is slow or nothing is known yet.
 *
 * @example
 * ```ts
 * const gate = new StartupGate(64);
 * const slot = await gate.acquire();
 * try {
 *   await client.connect(transport);
 *   slot.answered(); // frees the slot; the time taken tells the gate how slow `initialize` is now
 *   await subscribe();
 * } finally {
 *   slot.done(); // frees whatever the attempt still holds (it failed, or was given back early)
 * }
 * ```
 */
import { Gate } from "../runtime/gate.ts";

/** The shortest time an attempt holds its slot before a server slower than its peers gives it back. */
export const MIN_SLOT_HOLD_MS = 1000;

/** A slot is given back early once its attempt has taken this many times the typical `initialize`. */
export const SLOWER_THAN_TYPICAL = 2;

/** How many recent `initialize` times make "typical" (their median). */
const RECENT_ANSWERS = 32;

/** One attempt's hold on the gate. */
export interface StartupSlot {
  /** `initialize` answered: records how long it took and frees the slot (once; later calls do nothing). */
  answered(): void;
  /** The attempt is over or past the handshake: frees whatever it still holds (safe to call again). */
  done(): void;
}

/** Bounds concurrent connection handshakes, adapting how long a slot is held to how slow they are now. */
export class StartupGate {
  /** Slots (`limit`) for attempts waiting for `initialize`. */
  readonly #gate: Gate;
  /** How many attempts may wait for `initialize` after giving their slot back early. */
  readonly #overflowLimit: number;
  readonly #minHoldMs: number;
  /** Attempts waiting for `initialize` that gave their slot back early. */
  #overflow = 0;
  /** The latest `initialize` times (ms), oldest first. */
  readonly #recent: number[] = [];

  /** A gate with `limit` slots; a slow attempt gives its slot back after `minHoldMs` at the earliest. */
  constructor(
    readonly limit: number,
    minHoldMs = MIN_SLOT_HOLD_MS,
  ) {
    this.#gate = new Gate(limit);
    this.#overflowLimit = Math.max(1, Math.floor(limit));
    this.#minHoldMs = minHoldMs;
  }

  /**
   * How long an attempt holds its slot before it counts as slower than its peers: {@link SLOWER_THAN_TYPICAL}
   * times the median of the recent `initialize` times, and never less than the minimum hold.
   */
  holdMs(): number {
    if (this.#recent.length === 0) return this.#minHoldMs;
    const sorted = this.#recent.toSorted((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
    return Math.max(this.#minHoldMs, SLOWER_THAN_TYPICAL * median);
  }

  /** Waits for a slot (in arrival order). */
  async acquire(): Promise<StartupSlot> {
    const release = await this.#gate.acquire();
    const startedMs = performance.now();
    let state: "holding" | "overflow" | "done" = "holding";
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = (ms: number) => {
      timer = setTimeout(check, ms);
    };
    // Gives the slot back early only when this attempt is slower than the typical one now, and while
    // few enough others already did.
    const check = () => {
      if (state !== "holding") return;
      const remaining = this.holdMs() - (performance.now() - startedMs);
      if (remaining > 0) return arm(remaining);
      if (this.#overflow >= this.#overflowLimit && !this.#peersAnswerFast()) return arm(this.#minHoldMs);
      state = "overflow";
      this.#overflow++;
      release();
    };
    const finish = () => {
      clearTimeout(timer);
      if (state === "holding") release();
      else if (state === "overflow") this.#overflow--;
      state = "done";
    };
    arm(this.#minHoldMs);
    return {
      answered: () => {
        if (state === "done") return;
        this.#record(performance.now() - startedMs);
        finish();
      },
      done: finish,
    };
  }

  /** Whether the recent `initialize` answers were typically faster than the minimum hold. */
  #peersAnswerFast(): boolean {
    return this.#recent.length > 0 && this.holdMs() <= this.#minHoldMs;
  }

  #record(ms: number): void {
    this.#recent.push(ms);
    if (this.#recent.length > RECENT_ANSWERS) this.#recent.shift();
  }
}
