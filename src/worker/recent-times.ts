/**
 * A bounded memory of the latest time per key, in two generations: remembering writes to the young one;
 * once it holds `capacity` keys it becomes the old one and the previous old one is dropped whole. So the
 * `capacity` most recently remembered keys are always kept (at most twice as many in all), at one or two
 * map lookups and one write a call: no delete and re-insert to keep an order, no search for the oldest
 * (measured: the per-event cost of a push feed's memory of pushed faults).
 *
 * @example
 * ```ts
 * const times = new RecentTimes(256);
 * times.remember("Pod/default/web", Date.parse("2026-11-25T03:15:05Z"));
 * times.get("Pod/default/web"); // 1795576505000
 * ```
 */
export class RecentTimes {
  readonly #capacity: number;
  #young = new Map<string, number>();
  #old = new Map<string, number>();

  /** A memory that keeps at least the `capacity` most recently remembered keys, and at most twice as many. */
  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** The latest time remembered for `key`, if it is still remembered. */
  get(key: string): number | undefined {
    return this.#young.get(key) ?? this.#old.get(key);
  }

  /** Keys held now (a key in both generations counts twice): never more than twice the capacity. */
  get size(): number {
    return this.#young.size + this.#old.size;
  }

  /**
   * Remembers that `key` had a time `at` (epoch ms), keeping the latest (and never less than 0); a time
   * that is not finite is ignored.
   */
  remember(key: string, at: number): void {
    if (!Number.isFinite(at)) return;
    const young = this.#young.get(key);
    if (young !== undefined) {
      if (at > young) this.#young.set(key, at);
      return;
    }
    this.#young.set(key, Math.max(at, this.#old.get(key) ?? 0));
    if (this.#young.size >= this.#capacity) {
      this.#old = this.#young;
      this.#young = new Map();
    }
  }
}
