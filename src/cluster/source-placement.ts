/**
 * Where the sources (the cluster connections, src/worker) run: in worker threads, or on the main thread
 * itself (`workers.threads`). On one usable core a worker thread cannot run beside the main thread
 * anyway, and handing every batch across costs both of them (an encode, a decode, a wake-up each): there
 * `auto` runs the one source on the main thread (docs/performance.md, ninth pass).
 */
import { availableParallelism } from "node:os";

/** The values of `workers.threads`. */
export const SOURCE_THREADS = ["auto", "always", "never"] as const;
/** One of {@link SOURCE_THREADS}: `always` worker threads, `never` (one source on the main thread), `auto`. */
export type SourceThreads = (typeof SOURCE_THREADS)[number];

/**
 * Whether the sources run on the main thread, from `workers.threads` and `workers.max`: `never` says so;
 * `auto` only where a thread cannot gain anything: one usable core (`cores`, default
 * `availableParallelism()`, which follows the CPU affinity) and `workers.max` 1.
 *
 * @example
 * ```ts
 * sourcesInline({ threads: "auto", max: 1 }, 1); // true
 * sourcesInline({ threads: "auto", max: 1 }, 2); // false: the worker thread runs beside the main thread
 * sourcesInline({ threads: "never", max: 8 });   // true
 * ```
 */
export function sourcesInline(
  workers: { threads: SourceThreads; max: number },
  cores = availableParallelism(),
): boolean {
  if (workers.threads === "never") return true;
  if (workers.threads === "always") return false;
  return cores === 1 && workers.max === 1;
}
