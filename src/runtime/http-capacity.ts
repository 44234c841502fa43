/**
 * Sizes Bun's process-wide cap on in-flight `fetch` requests for the configured fleet.
 *
 * Bun allows 256 in-flight fetches per process (all worker threads share them) unless
 * `BUN_CONFIG_MAX_HTTP_REQUESTS` is set before start-up; setting it at run time is too late. Every
 * cluster holds one standing event-stream request, so at 256+ clusters every further request would
 * queue silently forever. faultline therefore re-executes itself (`execve`: same pid, no extra
 * process) with the variable raised when the fleet needs it, and logs what it did.
 */

/** Bun's default cap. */
export const BUN_DEFAULT_MAX_HTTP_REQUESTS = 256;
/** Bun's maximum for the variable. */
export const BUN_MAX_HTTP_REQUESTS = 65_535;
/** The environment variable Bun reads at start-up. */
export const HTTP_LIMIT_VARIABLE = "BUN_CONFIG_MAX_HTTP_REQUESTS";
/** Set on the re-executed process so it never loops. */
export const REEXEC_MARKER = "FAULTLINE_HTTP_LIMIT_APPLIED";

/**
 * In-flight requests `clusters` connections may need at once: each one's standing event stream, plus
 * one request each in flight (ping, subscribe, initialize), plus headroom for everything else.
 */
export function requiredHttpRequests(clusters: number): number {
  return Math.min(BUN_MAX_HTTP_REQUESTS, clusters * 2 + 64);
}

/** The cap in force for this process, from its environment at start-up. */
export function currentHttpLimit(env: Record<string, string | undefined>): number {
  const value = Number(env[HTTP_LIMIT_VARIABLE]);
  return Number.isInteger(value) && value > 0 ? value : BUN_DEFAULT_MAX_HTTP_REQUESTS;
}

/** What to do about the cap: nothing, or re-execute with `limit`. */
export type HttpLimitPlan =
  | { action: "keep"; limit: number; required: number }
  | { action: "reexec"; limit: number; required: number; current: number }
  /** Already re-executed once and still short: the user set a lower value explicitly, or Bun ignored it. */
  | { action: "short"; limit: number; required: number };

/** Decides whether the process must re-execute to serve `clusters` connections. */
export function planHttpLimit(clusters: number, env: Record<string, string | undefined>): HttpLimitPlan {
  const required = requiredHttpRequests(clusters);
  const current = currentHttpLimit(env);
  if (current >= required) return { action: "keep", limit: current, required };
  if (env[REEXEC_MARKER]) return { action: "short", limit: current, required };
  return { action: "reexec", limit: required, required, current };
}

/**
 * The argv that starts this same program again: from source `bun <script> …args`, from a compiled
 * binary `<binary> …args` (whose `process.argv[1]` is the embedded `/$bunfs/…` entry, not an argument).
 */
export function selfArgv(argv: readonly string[], execPath: string): string[] {
  const compiled = argv[1]?.startsWith("/$bunfs/") ?? false;
  return compiled ? [execPath, ...argv.slice(2)] : [execPath, ...argv.slice(1)];
}

/**
 * An upper bound of the clusters a config file's text defines, without parsing it: every
 * `mcp_endpoint:` key, quoted or not (`"mcp_endpoint":` in a JSON file, which is YAML too), commented-out
 * and disabled ones too. Lets the re-exec happen before the config is parsed, so a large fleet's file is
 * parsed once, not twice (parsing a 1000-cluster file costs ~250-400 ms of start-up). YAML anchors can
 * hide keys from this count; the exact check after parsing still catches that.
 */
export function estimateClusters(configText: string): number {
  return configText.match(/mcp_endpoint["']?\s*:/g)?.length ?? 0;
}

/**
 * Set on the re-executed process (unless the user set Bun's GC timer variables already): turns off Bun's
 * own GC timer in each of faultline's JavaScript threads (main, cluster workers, WAL checkpointer). That
 * timer runs a collection every second in every thread whose heap changed since the last tick: an idle
 * fleet's pings touch the worker's heap and the `alives` reports the main thread's every second, so each
 * thread paid a collection a second (with the allocator's scavenger after it; idle at 100 clusters
 * ~0.15-0.2 s of CPU per minute, ~0.06 without). JavaScriptCore still collects as the heaps grow; a heap
 * that stopped allocating after a burst is collected once the thread has been quiet for a few seconds
 * (quiet-collector.ts): without that it kept its peak (RSS after load 327 MB at 1000 clusters against
 * 230 MB with the timer).
 */
export const GC_TIMER_VARIABLE = "BUN_GC_TIMER_DISABLE";

/**
 * Set on the re-executed process to `0` (unless the user set it): JavaScriptCore's fourth tier, the FTL
 * compiler, stays off; code is still compiled by the tiers below it (baseline JIT and DFG). faultline's
 * hot paths mostly call into native code (SQLite, JSON, streams), where FTL code runs no faster than DFG
 * code, but an FTL compile costs far more: the first burst after start-up is when the store's ingest and
 * the worker's event path first run hot, and their FTL compiles took 0.35-0.45 s of the JIT thread's CPU
 * in a 20,000-event burst, on the core the main and worker threads share (~25 % of the burst's CPU).
 * Measured side by side (bench, 100 and 1000 clusters): the JIT thread's burst CPU 0.45 → 0.08 s, the
 * main and worker threads' CPU per event unchanged in the burst and the steady phase.
 */
export const FTL_JIT_VARIABLE = "BUN_JSC_useFTLJIT";

/**
 * The environment of the re-executed process: `env` with the cap raised to `limit`, Bun's GC timer off
 * and JavaScriptCore's FTL tier off (see {@link GC_TIMER_VARIABLE}, {@link FTL_JIT_VARIABLE}; a value
 * the user set wins).
 */
export function reexecEnv(
  env: Record<string, string | undefined>,
  limit: number,
): Record<string, string | undefined> {
  const gcTimerSet = env[GC_TIMER_VARIABLE] !== undefined || env.BUN_GC_TIMER_INTERVAL !== undefined;
  return {
    ...env,
    [HTTP_LIMIT_VARIABLE]: String(limit),
    [REEXEC_MARKER]: "1",
    ...(gcTimerSet ? {} : { [GC_TIMER_VARIABLE]: "1" }),
    ...(env[FTL_JIT_VARIABLE] === undefined ? { [FTL_JIT_VARIABLE]: "0" } : {}),
  };
}

/** Replaces this process (same pid) with itself, the cap raised to `limit`. Returns only on failure. */
export function reexecWithLimit(limit: number): void {
  const env = reexecEnv(process.env, limit);
  const argv = selfArgv(process.argv, process.execPath);
  process.execve?.(process.execPath, argv, env);
}
