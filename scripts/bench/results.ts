/**
 * The benchmark's results: what is measured of one system at one N, latency distributions, the per-N
 * table, the verdicts against the targets at N = 1000 and what each figure means.
 */

/** The two systems the benchmark compares. */
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
  /** Process spawn → every cluster active (s). */
  all_active_s: number | null;
  /** VmRSS after all active plus the settle time (MB). */
  rss_active_mb: number | null;
  /** CPU (user+system, all threads) from spawn to all active (s). */
  cpu_startup_s: number | null;
  burst: {
    injected: number;
    stored: number;
    complete: boolean;
    /** First send → last event stored (s). */
    seconds: number;
    events_per_s: number;
    /** How long the simulator took to send the burst (s). */
    send_s: number;
    /** How stored events were counted. */
    source: string;
  } | null;
  /** CPU during the burst, until it was all stored (s). */
  cpu_burst_s: number | null;
  /** Server send → stored (faultline: first poll seeing the row committed; baseline: handler). */
  latency: Latency | null;
  latency_source: string | null;
  /** faultline only: server send → `received_at` (the worker's receipt, ms precision). */
  received_latency: Latency | null;
  steady_rate: number | null;
  /** CPU during the steady phase (s). */
  cpu_steady_s: number | null;
  /** VmRSS after the load phases (MB). */
  rss_after_mb: number | null;
  /** VmHWM at the end (MB). */
  rss_peak_mb: number | null;
  /** CPU seconds by thread group (see readThreadCpu) per phase. */
  threads: { startup: Record<string, number>; burst: Record<string, number>; steady: Record<string, number> };
  notes: string[];
}

/** A result with nothing measured yet. */
export function emptyResult(system: SystemName, clusters: number): RunResult {
  return {
    system,
    clusters,
    error: null,
    all_active_s: null,
    rss_active_mb: null,
    cpu_startup_s: null,
    burst: null,
    cpu_burst_s: null,
    latency: null,
    latency_source: null,
    received_latency: null,
    steady_rate: null,
    cpu_steady_s: null,
    rss_after_mb: null,
    rss_peak_mb: null,
    threads: { startup: {}, burst: {}, steady: {} },
    notes: [],
  };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** The distribution of `values` (ms), `expected` being how many samples there should have been. */
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

function fmt(value: number | null | undefined, digits: number): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  return value.toFixed(digits);
}

function ratio(a: number | null | undefined, b: number | null | undefined): string {
  if (a === null || a === undefined || b === null || b === undefined || b === 0) return "—";
  if (Number.isNaN(a) || Number.isNaN(b)) return "—";
  return `${(a / b).toFixed(2)}×`;
}

interface Row {
  label: string;
  pick: (r: RunResult) => number | null | undefined;
  digits: number;
}

const ROWS: Row[] = [
  { label: "RSS once all active (MB)", pick: (r) => r.rss_active_mb, digits: 1 },
  { label: "start → all active (s)", pick: (r) => r.all_active_s, digits: 2 },
  { label: "burst throughput (events stored/s)", pick: (r) => r.burst?.events_per_s, digits: 0 },
  { label: "  burst: first send → last stored (s)", pick: (r) => r.burst?.seconds, digits: 2 },
  { label: "  burst: events stored", pick: (r) => r.burst?.stored, digits: 0 },
  { label: "fan-in latency p50 (ms)", pick: (r) => r.latency?.p50, digits: 2 },
  { label: "fan-in latency p99 (ms)", pick: (r) => r.latency?.p99, digits: 2 },
  { label: "fan-in latency max (ms)", pick: (r) => r.latency?.max, digits: 2 },
  { label: "  latency samples", pick: (r) => r.latency?.samples, digits: 0 },
  { label: "CPU start-up (s)", pick: (r) => r.cpu_startup_s, digits: 2 },
  { label: "CPU burst (s)", pick: (r) => r.cpu_burst_s, digits: 2 },
  { label: "CPU steady phase (s)", pick: (r) => r.cpu_steady_s, digits: 2 },
  { label: "RSS after load (MB)", pick: (r) => r.rss_after_mb, digits: 1 },
  { label: "peak RSS, VmHWM (MB)", pick: (r) => r.rss_peak_mb, digits: 1 },
];

/** The figures of every system at `n` clusters as a text table, with thread CPU, notes and errors. */
export function table(n: number, results: RunResult[]): string {
  const f = results.find((r) => r.system === "faultline");
  const b = results.find((r) => r.system === "baseline");
  const lines = [
    `N = ${n} clusters`,
    `${"".padEnd(40)}${"faultline".padStart(12)}${"baseline".padStart(12)}${"ratio f/b".padStart(12)}`,
  ];
  for (const row of ROWS) {
    const fv = f ? row.pick(f) : null;
    const bv = b ? row.pick(b) : null;
    lines.push(
      `${row.label.padEnd(40)}${fmt(fv, row.digits).padStart(12)}${fmt(bv, row.digits).padStart(12)}${ratio(fv, bv).padStart(12)}`,
    );
  }
  if (f?.received_latency) {
    const r = f.received_latency;
    lines.push(
      `faultline send → received_at (worker): p50 ${fmt(r.p50, 2)} ms, p99 ${fmt(r.p99, 2)} ms, max ${fmt(r.max, 2)} ms (ms-precision timestamps)`,
    );
  }
  const describe = (threads: Record<string, number>): string =>
    Object.entries(threads)
      .map(([name, seconds]) => `${name} ${seconds.toFixed(2)}`)
      .join(", ") || "—";
  for (const r of results) {
    for (const phase of ["startup", "burst", "steady"] as const)
      lines.push(`${r.system} CPU s by thread, ${phase}: ${describe(r.threads[phase])}`);
  }
  for (const r of results) {
    const rate = r.steady_rate ? `, steady rate achieved ${r.steady_rate.toFixed(0)}/s` : "";
    const burst = r.burst
      ? `burst ${r.burst.stored}/${r.burst.injected}${r.burst.complete ? "" : " INCOMPLETE"} (sent in ${r.burst.send_s.toFixed(2)} s)`
      : "no burst";
    lines.push(`${r.system}: ${burst}${rate}`);
    if (r.error) lines.push(`${r.system}: ERROR ${r.error.split("\n")[0]}`);
    for (const note of r.notes) lines.push(`${r.system}: note: ${note}`);
  }
  return lines.join("\n");
}

/** One target at N = 1000, met or not. */
export interface Verdict {
  target: string;
  met: boolean | null;
  detail: string;
}

/** faultline against the baseline on each target. */
export function verdicts(results: RunResult[]): Verdict[] {
  const f = results.find((r) => r.system === "faultline");
  const b = results.find((r) => r.system === "baseline");
  const check = (
    target: string,
    fv: number | null | undefined,
    bv: number | null | undefined,
    test: (f: number, b: number) => boolean,
    unit: string,
    digits: number,
  ): Verdict => {
    if (
      fv === null ||
      fv === undefined ||
      bv === null ||
      bv === undefined ||
      Number.isNaN(fv) ||
      Number.isNaN(bv)
    )
      return { target, met: null, detail: "not measured" };
    return {
      target,
      met: test(fv, bv),
      detail: `faultline ${fv.toFixed(digits)} ${unit}, baseline ${bv.toFixed(digits)} ${unit}, ratio ${(fv / bv).toFixed(2)}×`,
    };
  };
  const p99 = f?.latency?.p99;
  return [
    check("RSS ≤ 1.5× baseline", f?.rss_active_mb, b?.rss_active_mb, (x, y) => x <= 1.5 * y, "MB", 1),
    check("all-active time ≤ baseline", f?.all_active_s, b?.all_active_s, (x, y) => x <= y, "s", 2),
    check(
      "durable throughput ≥ baseline",
      f?.burst?.complete ? f.burst.events_per_s : f?.burst ? 0 : null,
      b?.burst?.events_per_s,
      (x, y) => x >= y,
      "events/s",
      0,
    ),
    p99 === undefined || p99 === null || Number.isNaN(p99)
      ? { target: "p99 fan-in latency ≤ 10 ms", met: null, detail: "not measured" }
      : {
          target: "p99 fan-in latency ≤ 10 ms",
          met: p99 <= 10,
          detail: `faultline p99 ${p99.toFixed(2)} ms`,
        },
  ];
}

/** What each figure measures (`settle` is replaced by the settle time). */
export const DEFINITIONS = `What each figure measures
- RSS once all active: VmRSS of the measured process (/proc/<pid>/status; faultline: main process with
  all its worker threads) ${"settle"} after every cluster became active.
- start → all active: from spawning the process to every cluster active (faultline: first 25 ms poll of
  GET /health with summary.active = N, including its self re-exec to raise BUN_CONFIG_MAX_HTTP_REQUESTS;
  baseline: its own report after the last events_subscribe answered; it is launched with the variable set).
- burst throughput: K distinct faults sent round-robin over the N clusters as fast as the simulator can;
  events / (first send → last event stored). faultline: stored = committed rows in faultline.db 'events'
  (5 ms polls of a read-only connection); baseline: notifications received (it stores nothing).
- fan-in latency: a steady R faults/s for S s round-robin over the N clusters; each fault carries its send
  time. faultline: send → first 1 ms poll that sees the row committed (upper bound of the commit time,
  poll error ≤ ~1-2 ms); baseline: send → its notification handler.
- CPU: utime+stime of the process (all threads) from /proc/<pid>/stat: until all active; during the burst
  (until all stored); during the steady phase. The simulator's and the benchmark's CPU are not counted,
  but all three share the machine's cores.
- ratio f/b = faultline / baseline.`;
