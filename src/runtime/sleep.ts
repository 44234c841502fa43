/** A wait that ends early when its signal aborts (retry loops that must stop at shutdown). */

/** The longest delay a timer can hold (2^31 - 1 ms, about 24.8 days); longer ones would fire at once. */
export const MAX_SLEEP_MS = 2 ** 31 - 1;

/**
 * Resolves after `ms` milliseconds, or as soon as `signal` aborts (at once if it already has), and
 * removes its abort listener either way. Like Deno std's `delay(ms, { signal })`, except that an
 * abort resolves instead of rejecting: its callers are retry loops that check their signal right
 * after, so stopping is not an error to them. Delays beyond {@link MAX_SLEEP_MS} wait that long.
 *
 * @example
 * ```ts
 * const stopping = new AbortController();
 * while (!stopping.signal.aborted) {
 *   if (await tryOnce()) break;
 *   await sleep(backoff.next(), stopping.signal); // stop() aborts: the loop ends without waiting
 * }
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, Math.min(Math.max(0, ms), MAX_SLEEP_MS));
    signal?.addEventListener("abort", done, { once: true });
  });
}
