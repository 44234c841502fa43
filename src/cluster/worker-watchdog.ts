/**
 * Finds worker threads that stopped answering. A worker that is still running but whose event loop no
 * longer turns (a runaway loop, a native call that never returns) reports nothing and crashes nothing:
 * its clusters would only go stale, all together, and stay so. The supervisor hears every message a
 * worker posts; when one has been silent for a while it sends a `watch`, which a live worker answers at
 * once. Silent past the hang timeout, the worker is ended and restarted like one that crashed.
 */

/** What the watchdog does about one worker at one tick. */
export type WatchVerdict = "quiet" | "ask" | "hung";

/** How often the watchdog looks at the workers, for a hang timeout of `hangMs`: four looks per timeout, at most every 5 s. */
export function watchIntervalMs(hangMs: number): number {
  return Math.max(10, Math.min(5000, Math.floor(hangMs / 4)));
}

/**
 * The verdict on a worker last heard from `silentMs` ago: hung once the silence reaches `hangMs`; asked
 * to answer once it reaches one watch interval; otherwise left alone (a busy worker talks anyway).
 *
 * @example
 * ```ts
 * watchVerdict(1_000, 30_000); // "quiet"
 * watchVerdict(8_000, 30_000); // "ask": post { type: "watch" }
 * watchVerdict(30_000, 30_000); // "hung": terminate it, the supervisor restarts it
 * ```
 */
export function watchVerdict(silentMs: number, hangMs: number): WatchVerdict {
  if (silentMs >= hangMs) return "hung";
  return silentMs >= watchIntervalMs(hangMs) ? "ask" : "quiet";
}
