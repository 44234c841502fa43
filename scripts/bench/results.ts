/** What the benchmark measures of one system at one fleet size, and the statistics it derives. */
import { QUIET_COLLECT_MS } from "../../src/runtime/quiet-collector.ts";
import type { Burst, BurstSummary } from "./burst-stats.ts";

/** The two systems compared. */
export type SystemName = "faultline" | "baseline";

/** Latency distribution in milliseconds. */
export interface Latency {
  samples: number;
  expected: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** Everything measured of one system at one N. */
export interface RunResult {
  system: SystemName;
  clusters: number;
  error: string | null;
  /** Process spawn → every cluster active (s), servers flushing their event streams' headers at once. */
  all_active_s: number | null;
  /** The same against servers that hold those headers until their first event (a start-up-only run). */
  all_active_hold_s: number | null;
  /** CPU while every cluster is idle (pings only), in CPU seconds per minute. */
  cpu_idle_per_min: number | null;
  /** VmRSS after all active plus the settle time (MB). */
  rss_active_mb: number | null;
  /** CPU (user+system, all threads) from spawn to all active (s). */
  cpu_startup_s: number | null;
  /** The burst phase: medians over its bursts and each burst's figure (see scripts/bench/burst-stats.ts). */
  burst: BurstSummary | null;
  /** Every burst, in order (the first is the coldest: the first load after start-up and the idle phase). */
  bursts: Burst[];
  /** The median of each burst's CPU, from its first send until it was all stored (s). */
  cpu_burst_s: number | null;
  /** Server send → stored (faultline: first poll seeing the row committed; baseline: handler). */
  latency: Latency | null;
  latency_source: string | null;
  /** faultline only: server send → `received_at` (the worker's receipt, ms precision). */
  received_latency: Latency | null;
  /** faultline: send → the event recorded as its incident's (built from the journal: dispatchable). */
  built_latency: Latency | null;
  steady_rate: number | null;
  /** CPU during the steady phase (s). */
  cpu_steady_s: number | null;
  /**
   * CPU of each steady window in the alternating rounds (both systems running, each on clusters of its
   * own, one window each per round, seconds apart; index i of both systems is round i) (s).
   */
  cpu_steady_alternating_s: number[];
  /**
   * Events a second of each burst in the alternating rounds (faultline: durable, 0 when a burst was not
   * all stored; the baseline: received), one burst each per round, as {@link cpu_steady_alternating_s}.
   */
  burst_alternating_eps: number[];
  /** The simulator's send time (first to last fault) of each of those bursts (s): a slow send is its. */
  burst_alternating_send_s: number[];
  /** VmRSS after the load phases (MB). */
  rss_after_mb: number | null;
  /** VmRSS {@link SETTLE_AFTER_LOAD_MS} after the load phases, with nothing sent meanwhile (MB). */
  rss_settled_mb: number | null;
  /** VmHWM at the end (MB). */
  rss_peak_mb: number | null;
  /** CPU seconds by thread group (see readThreadCpu) per phase (burst: each group's median over the bursts). */
  threads: {
    startup: Record<string, number>;
    idle: Record<string, number>;
    burst: Record<string, number>;
    steady: Record<string, number>;
  };
  notes: string[];
}

export function emptyResult(system: SystemName, clusters: number): RunResult {
  return {
    system,
    clusters,
    error: null,
    all_active_s: null,
    all_active_hold_s: null,
    cpu_idle_per_min: null,
    rss_active_mb: null,
    cpu_startup_s: null,
    burst: null,
    bursts: [],
    cpu_burst_s: null,
    latency: null,
    latency_source: null,
    received_latency: null,
    built_latency: null,
    steady_rate: null,
    cpu_steady_s: null,
    cpu_steady_alternating_s: [],
    burst_alternating_eps: [],
    burst_alternating_send_s: [],
    rss_after_mb: null,
    rss_settled_mb: null,
    rss_peak_mb: null,
    threads: { startup: {}, idle: {}, burst: {}, steady: {} },
    notes: [],
  };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export function latencyOf(values: number[], expected: number): Latency {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((total, v) => total + v, 0);
  return {
    samples: sorted.length,
    expected,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length > 0 ? (sorted[sorted.length - 1] as number) : Number.NaN,
    mean: sorted.length > 0 ? sum / sorted.length : Number.NaN,
  };
}

/**
 * How long after the load phases the settled RSS is read: faultline's threads collect once they have been
 * quiet for QUIET_COLLECT_MS, at most once a minute (so a collection earlier in the run can defer this one).
 */
export const SETTLE_AFTER_LOAD_MS = QUIET_COLLECT_MS + 2000;
