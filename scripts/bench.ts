/**
 * Benchmark: faultline against a naive baseline (scripts/baseline.ts) on the same simulator.
 *
 *   bun run bench                       # N = 10, 100, 1000 clusters (about 70 s on 2 cores)
 *   bun run bench --sizes 10,100 --quick
 *   bun run bench --json results.json
 *
 * Three kinds of process, each measured (or not) on its own:
 * - the simulator (scripts/bench/sim-process.ts): one loopback listener per cluster, started once with the
 *   largest N; runs with fewer clusters use its first N. Its CPU and memory are not counted;
 * - faultline: `bun src/main.ts run --config <generated>` (workers, fan-in, store; no agent configured, so
 *   faults are stored as skipped incidents and no agent process runs; log_level warn);
 * - the baseline: `bun scripts/baseline.ts` (one thread, one SDK client per cluster, no store).
 *
 * For every N and each of the two, in turn: start it and wait until every cluster is active; let it settle;
 * inject a burst of faults as fast as the simulator can send them; then inject a steady rate for a few
 * seconds and measure each fault's latency; stop it. Figures are printed per N with the ratio
 * faultline/baseline, then a verdict against the targets at N = 1000.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { DB_FILE } from "../src/incidents/open.ts";
import {
  BUN_DEFAULT_MAX_HTTP_REQUESTS,
  HTTP_LIMIT_VARIABLE,
  requiredHttpRequests,
} from "../src/runtime/http-capacity.ts";
import { wallMs } from "./bench/context.ts";
import { healthSummary, type ObservedEvent, openStoredEvents, waitForCount } from "./bench/measure.ts";
import {
  type JsonLineChild,
  killAllChildren,
  readCpuSeconds,
  readMemory,
  readThreadCpu,
  spawnChild,
  threadCpuDelta,
} from "./bench/proc.ts";

const ROOT = resolve(import.meta.dir, "..");
const BUN = process.execPath;

// ---------------------------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------------------------

const USAGE = `Usage: bun scripts/bench.ts [options]

  --sizes 10,100,1000   cluster counts to run (default 10,100,1000)
  --quick               shorter phases: burst 5000, steady 2 s, settle 1 s
  --burst K             faults in the burst (default 20000)
  --rate R              steady rate, faults per second (default 1000)
  --seconds S           steady phase length (default 5)
  --only SYSTEM         run only faultline or only baseline (no ratios)
  --workers-max K       faultline's workers.max (default: faultline's own default)
  --no-reexec           start faultline with BUN_CONFIG_MAX_HTTP_REQUESTS already set (no self re-exec)
  --cpu-prof DIR        run faultline under bun --cpu-prof, profiles in DIR (implies --no-reexec)
  --compiled            benchmark the standalone binary (scripts/build.ts, built into a temporary directory)
                        instead of \`bun src/main.ts\`
  --faultline-main FILE run faultline from FILE instead of src/main.ts (e.g. a patched copy of the tree)
  --pin                 pin the simulator to CPU 0 and the measured process to CPU 1 (taskset), so the
                        simulator does not compete for the measured process's core
  --json FILE           also write the results as JSON to FILE
  --keep                keep the temporary directory (configs, databases)
  -h, --help            this text`;

type SystemName = "faultline" | "baseline";

/** Benchmark settings. */
interface BenchOptions {
  sizes: number[];
  burst: number;
  rate: number;
  seconds: number;
  settleMs: number;
  systems: SystemName[];
  workersMax: number | null;
  noReexec: boolean;
  cpuProf: string | null;
  /** Set by --compiled: the faultline binary built into the temporary directory. */
  binary: string | null;
  compiled: boolean;
  /** faultline's CLI entry when run from source (another checkout can be compared). */
  faultlineMain: string;
  pin: boolean;
  json: string | null;
  keep: boolean;
}

function parseOptions(argv: string[]): BenchOptions | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: "string" },
      quick: { type: "boolean" },
      burst: { type: "string" },
      rate: { type: "string" },
      seconds: { type: "string" },
      only: { type: "string" },
      "workers-max": { type: "string" },
      "no-reexec": { type: "boolean" },
      "cpu-prof": { type: "string" },
      compiled: { type: "boolean" },
      pin: { type: "boolean" },
      "faultline-main": { type: "string" },
      json: { type: "string" },
      keep: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) return null;
  const positive = (value: string | undefined, flag: string, fallback: number): number => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} must be a positive number`);
    return n;
  };
  const sizes = (values.sizes ?? "10,100,1000").split(",").map((s) => Number(s.trim()));
  if (sizes.some((n) => !Number.isInteger(n) || n < 1))
    throw new Error("--sizes must list positive integers");
  const quick = values.quick ?? false;
  const only = values.only;
  if (only !== undefined && only !== "faultline" && only !== "baseline")
    throw new Error("--only must be faultline or baseline");
  if (values.compiled && values["cpu-prof"] !== undefined)
    throw new Error("--cpu-prof profiles faultline run from source; it cannot be combined with --compiled");
  return {
    sizes,
    burst: Math.round(positive(values.burst, "--burst", quick ? 5000 : 20_000)),
    rate: positive(values.rate, "--rate", 1000),
    seconds: positive(values.seconds, "--seconds", quick ? 2 : 5),
    settleMs: quick ? 1000 : 2000,
    systems: only ? [only] : ["faultline", "baseline"],
    workersMax:
      values["workers-max"] === undefined
        ? null
        : Math.round(positive(values["workers-max"], "--workers-max", 16)),
    noReexec: (values["no-reexec"] ?? false) || values["cpu-prof"] !== undefined,
    cpuProf: values["cpu-prof"] ? resolve(values["cpu-prof"]) : null,
    binary: null,
    pin: values.pin ?? false,
    faultlineMain: resolve(values["faultline-main"] ?? join(ROOT, "src/main.ts")),
    compiled: values.compiled ?? false,
    json: values.json ?? null,
    keep: values.keep ?? false,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------------------------------

/** Latency distribution in milliseconds. */
interface Latency {
  samples: number;
  expected: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** Everything measured of one system at one N. */
interface RunResult {
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

function emptyResult(system: SystemName, clusters: number): RunResult {
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

function latencyOf(values: number[], expected: number): Latency {
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

const MB = 1024 * 1024;

function memoryMb(pid: number): { rss: number; hwm: number } | null {
  const memory = readMemory(pid);
  return memory ? { rss: memory.rss / MB, hwm: memory.hwm / MB } : null;
}

// ---------------------------------------------------------------------------------------------------------------
// The simulator process
// ---------------------------------------------------------------------------------------------------------------

interface SimHandle {
  child: JsonLineChild;
  clusters: Array<{ name: string; endpoint: string }>;
}

/** `argv` run on CPU `cpu` only when --pin is given (taskset execs it: same pid). */
function pinned(argv: string[], cpu: number, options: BenchOptions): string[] {
  return options.pin ? ["taskset", "-c", String(cpu), ...argv] : argv;
}

async function startSim(clusters: number, options: BenchOptions): Promise<SimHandle> {
  const child = spawnChild(
    "simulator",
    pinned([BUN, join(ROOT, "scripts/bench/sim-process.ts"), "--clusters", String(clusters)], 0, options),
    {
      stdin: true,
    },
  );
  const ready = await child.waitForLine("simulator ready", (line) => line.type === "ready", 60_000);
  return { child, clusters: ready.clusters as SimHandle["clusters"] };
}

/** Waits until the first `n` clusters have `n` open event streams; returns the simulator's counts. */
async function waitForStreams(sim: SimHandle, n: number, notes: string[]): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const stats = await sim.child.request({ cmd: "stats", clusters: n }, 10_000);
    const streams = Number(stats.streams);
    if (streams >= n) {
      if (Number(stats.subscriptions) !== n)
        notes.push(`simulator has ${String(stats.subscriptions)} subscriptions on ${n} clusters`);
      return;
    }
    if (Date.now() > deadline) {
      notes.push(`only ${streams}/${n} event streams open when the load started`);
      return;
    }
    await Bun.sleep(100);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// faultline
// ---------------------------------------------------------------------------------------------------------------

async function freePort(): Promise<number> {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
  const port = server.port ?? 0;
  await server.stop(true);
  return port;
}

function httpLimitFor(clusters: number): number {
  return Math.max(BUN_DEFAULT_MAX_HTTP_REQUESTS, requiredHttpRequests(clusters));
}

async function runFaultline(
  sim: SimHandle,
  n: number,
  options: BenchOptions,
  dir: string,
  result: RunResult,
): Promise<void> {
  const runDir = join(dir, `faultline-${n}`);
  const stateDir = join(runDir, "state");
  mkdirSync(runDir, { recursive: true });
  const kubeconfig = join(runDir, "kubeconfig.yaml");
  writeFileSync(kubeconfig, "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n");
  const port = await freePort();
  const config = {
    clusters: sim.clusters
      .slice(0, n)
      .map(({ name, endpoint }) => ({ name, mcp_endpoint: endpoint, kubeconfig })),
    subscribe: { mode: "faults" },
    health: { listen: `127.0.0.1:${port}` },
    state_dir: stateDir,
    log_level: "warn",
    ...(options.workersMax === null ? {} : { workers: { max: options.workersMax } }),
  };
  const configFile = join(runDir, "faultline.yaml");
  writeFileSync(configFile, JSON.stringify(config, null, 2)); // JSON is YAML
  const base = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {};
  if (options.noReexec) env[HTTP_LIMIT_VARIABLE] = String(httpLimitFor(n));
  const bunArgs: string[] = [];
  if (options.cpuProf) {
    mkdirSync(options.cpuProf, { recursive: true });
    bunArgs.push(
      "--cpu-prof",
      "--cpu-prof-dir",
      options.cpuProf,
      "--cpu-prof-name",
      `faultline-${n}.cpuprofile`,
    );
  }

  const spawnedMs = wallMs();
  const child = spawnChild(
    "faultline",
    pinned(
      options.binary
        ? [options.binary, "run", "--config", configFile]
        : [BUN, ...bunArgs, options.faultlineMain, "run", "--config", configFile],
      1,
      options,
    ),
    {
      cwd: ROOT,
      env,
    },
  );
  try {
    // Time to all active.
    const deadline = spawnedMs + 120_000;
    for (;;) {
      if (child.exited) throw new Error(`faultline exited during start-up\n${child.tail()}`);
      const probe = wallMs();
      const summary = await healthSummary(base);
      if (summary && summary.active >= n) {
        result.all_active_s = (probe - spawnedMs) / 1000;
        break;
      }
      if (probe > deadline)
        throw new Error(`not all active after 120 s (${summary?.active ?? "?"}/${n})\n${child.tail()}`);
      await Bun.sleep(25);
    }
    result.cpu_startup_s = readCpuSeconds(child.pid);
    result.threads.startup = threadCpuDelta({}, readThreadCpu(child.pid));
    await Bun.sleep(options.settleMs);
    result.rss_active_mb = memoryMb(child.pid)?.rss ?? null;
    await waitForStreams(sim, n, result.notes);

    const stored = openStoredEvents(join(stateDir, DB_FILE));
    result.latency_source =
      "send → row committed in faultline.db (first 1 ms poll that sees it; upper bound)";
    try {
      // Burst.
      const tag = `f${n}burst`;
      const cpu0 = readCpuSeconds(child.pid) ?? 0;
      const threads0 = readThreadCpu(child.pid);
      const baseCount = await stored.count();
      const sent = sim.child.request({ cmd: "burst", clusters: n, total: options.burst, tag }, 120_000);
      const wait = await waitForCount(stored.count, baseCount, options.burst, 5, 10_000);
      const reply = await sent;
      result.cpu_burst_s = (readCpuSeconds(child.pid) ?? 0) - cpu0;
      result.threads.burst = threadCpuDelta(threads0, readThreadCpu(child.pid));
      const firstSend = Number(reply.first_send_ms);
      const seconds = (wait.atMs - firstSend) / 1000;
      result.burst = {
        injected: options.burst,
        stored: wait.count,
        complete: wait.complete,
        seconds,
        events_per_s: wait.count / seconds,
        send_s: (Number(reply.last_send_ms) - firstSend) / 1000,
        source: "rows in faultline.db events (5 ms polls)",
      };
      if (Number(reply.delivered) !== options.burst)
        result.notes.push(`burst: simulator delivered ${String(reply.delivered)} of ${options.burst}`);
      await Bun.sleep(1000);

      // Steady rate: latency.
      const steadyTag = `f${n}steady`;
      const expected = Math.round(options.rate * options.seconds);
      stored.skipToEnd();
      const cpu1 = readCpuSeconds(child.pid) ?? 0;
      const threads1 = readThreadCpu(child.pid);
      const observed: ObservedEvent[] = [];
      let replied: Record<string, unknown> | null = null;
      const steady = sim.child
        .request(
          { cmd: "steady", clusters: n, rate: options.rate, seconds: options.seconds, tag: steadyTag },
          120_000,
        )
        .then((line) => {
          replied = line;
        });
      let repliedAt = 0;
      for (;;) {
        for (const event of stored.readNew(wallMs())) if (event.tag === steadyTag) observed.push(event);
        if (replied && repliedAt === 0) repliedAt = wallMs();
        if (observed.length >= expected || (repliedAt > 0 && wallMs() - repliedAt > 5000)) break;
        await Bun.sleep(1);
      }
      await steady;
      const steadyReply = replied as Record<string, unknown> | null;
      result.cpu_steady_s = (readCpuSeconds(child.pid) ?? 0) - cpu1;
      result.threads.steady = threadCpuDelta(threads1, readThreadCpu(child.pid));
      result.steady_rate = steadyReply ? Number(steadyReply.achieved_rate) : null;
      result.latency = latencyOf(
        observed.map((e) => e.seenMs - e.sendMs),
        expected,
      );
      result.received_latency = latencyOf(
        observed.map((e) => e.receivedMs - e.sendMs),
        expected,
      );
    } finally {
      stored.close();
    }
    const memory = memoryMb(child.pid);
    result.rss_after_mb = memory?.rss ?? null;
    result.rss_peak_mb = memory?.hwm ?? null;
  } finally {
    await child.stop(15_000);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The baseline
// ---------------------------------------------------------------------------------------------------------------

async function runBaseline(
  sim: SimHandle,
  n: number,
  options: BenchOptions,
  endpointsFile: string,
  result: RunResult,
): Promise<void> {
  const spawnedMs = wallMs();
  const child = spawnChild(
    "baseline",
    pinned(
      [BUN, join(ROOT, "scripts/baseline.ts"), "--endpoints-file", endpointsFile, "--count", String(n)],
      1,
      options,
    ),
    { cwd: ROOT, env: { [HTTP_LIMIT_VARIABLE]: String(httpLimitFor(n)) }, stdin: true },
  );
  let failures = 0;
  const unlisten = child.onLine((line) => {
    if (line.type === "failed") failures++;
  });
  try {
    const active = await child.waitForLine("all active", (line) => line.type === "active", 120_000);
    result.all_active_s = (Number(active.at) - spawnedMs) / 1000;
    result.cpu_startup_s = readCpuSeconds(child.pid);
    result.threads.startup = threadCpuDelta({}, readThreadCpu(child.pid));
    if (failures > 0) result.notes.push(`${failures} failed connection attempt(s) retried during start-up`);
    await Bun.sleep(options.settleMs);
    result.rss_active_mb = memoryMb(child.pid)?.rss ?? null;
    await waitForStreams(sim, n, result.notes);

    // Burst.
    const tag = `b${n}burst`;
    const cpu0 = readCpuSeconds(child.pid) ?? 0;
    const threads0 = readThreadCpu(child.pid);
    const reached = child.request({ cmd: "expect", tag, count: options.burst }, 60_000).catch(() => null);
    const reply = await sim.child.request({ cmd: "burst", clusters: n, total: options.burst, tag }, 120_000);
    const got = await reached;
    result.cpu_burst_s = (readCpuSeconds(child.pid) ?? 0) - cpu0;
    result.threads.burst = threadCpuDelta(threads0, readThreadCpu(child.pid));
    const firstSend = Number(reply.first_send_ms);
    const report = got ?? (await child.request({ cmd: "report", tag }, 10_000));
    const count = Number(report.count);
    const lastMs = Number(got ? got.at : report.last_ms);
    const seconds = (lastMs - firstSend) / 1000;
    result.burst = {
      injected: options.burst,
      stored: count,
      complete: count >= options.burst,
      seconds,
      events_per_s: count / seconds,
      send_s: (Number(reply.last_send_ms) - firstSend) / 1000,
      source: "notifications received by the baseline (its own clock)",
    };
    if (Number(reply.delivered) !== options.burst)
      result.notes.push(`burst: simulator delivered ${String(reply.delivered)} of ${options.burst}`);
    await Bun.sleep(1000);

    // Steady rate: latency.
    const steadyTag = `b${n}steady`;
    const expected = Math.round(options.rate * options.seconds);
    const cpu1 = readCpuSeconds(child.pid) ?? 0;
    const threads1 = readThreadCpu(child.pid);
    const waitAll = child
      .request({ cmd: "expect", tag: steadyTag, count: expected }, 120_000)
      .catch(() => null);
    const steadyReply = await sim.child.request(
      { cmd: "steady", clusters: n, rate: options.rate, seconds: options.seconds, tag: steadyTag },
      120_000,
    );
    await Promise.race([waitAll, Bun.sleep(5000)]);
    result.cpu_steady_s = (readCpuSeconds(child.pid) ?? 0) - cpu1;
    result.threads.steady = threadCpuDelta(threads1, readThreadCpu(child.pid));
    result.steady_rate = Number(steadyReply.achieved_rate);
    const steadyReport = await child.request({ cmd: "report", tag: steadyTag }, 10_000);
    result.latency = latencyOf(steadyReport.latencies as number[], expected);
    result.latency_source = "send → notification handler in the baseline (no store)";
    const memory = memoryMb(child.pid);
    result.rss_after_mb = memory?.rss ?? null;
    result.rss_peak_mb = memory?.hwm ?? null;
  } finally {
    unlisten();
    await child.stop(10_000);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------------------------

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

function table(n: number, results: RunResult[]): string {
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

interface Verdict {
  target: string;
  met: boolean | null;
  detail: string;
}

function verdicts(results: RunResult[]): Verdict[] {
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

const DEFINITIONS = `What each figure measures
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

// ---------------------------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------------------------

async function main(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  if (!options) {
    console.log(USAGE);
    return 0;
  }
  const dir = mkdtempSync(join(tmpdir(), "faultline-bench-"));
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write("\nbench: interrupted, stopping every process it started\n");
    killAllChildren();
    if (!options.keep) rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const progress = (text: string): void => {
    process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${text}\n`);
  };
  const results: RunResult[] = [];
  const startedAt = wallMs();
  let sim: SimHandle | null = null;
  try {
    const maxN = Math.max(...options.sizes);
    progress(`starting the simulator with ${maxN} clusters`);
    sim = await startSim(maxN, options);
    if (options.compiled) {
      const binary = join(dir, "bin", "faultline");
      progress(`building ${binary}`);
      const build = Bun.spawnSync([BUN, join(ROOT, "scripts/build.ts"), "--outfile", binary], {
        cwd: ROOT,
        stdout: "pipe",
        stderr: "pipe",
      });
      if (build.exitCode !== 0) throw new Error(`build failed: ${build.stderr.toString()}`);
      options.binary = binary;
    }
    const endpointsFile = join(dir, "endpoints.json");
    writeFileSync(endpointsFile, JSON.stringify({ clusters: sim.clusters }));
    console.log(
      `faultline benchmark: sizes ${options.sizes.join(", ")}; burst ${options.burst} faults; steady ${options.rate}/s for ${options.seconds} s; settle ${options.settleMs / 1000} s`,
    );
    console.log(
      `machine: ${navigator.hardwareConcurrency} cores; bun ${Bun.version}; faultline ${options.compiled ? "compiled binary" : "from source"} without an agent, log_level warn, workers.max ${options.workersMax ?? "default"}${options.noReexec ? ", no re-exec" : ""}${options.pin ? "; pinned: simulator CPU 0, measured process CPU 1" : ""}\n`,
    );
    for (const n of options.sizes) {
      const perN: RunResult[] = [];
      for (const system of options.systems) {
        progress(`N=${n}: ${system}`);
        const result = emptyResult(system, n);
        try {
          if (system === "faultline") await runFaultline(sim, n, options, dir, result);
          else await runBaseline(sim, n, options, endpointsFile, result);
        } catch (error) {
          result.error = error instanceof Error ? error.message : String(error);
          progress(`N=${n}: ${system} failed: ${result.error}`);
        }
        perN.push(result);
        results.push(result);
        await Bun.sleep(500);
      }
      console.log(table(n, perN));
      console.log("");
    }
  } catch (error) {
    if (!options.keep) rmSync(dir, { recursive: true, force: true });
    throw error;
  } finally {
    await sim?.child.stop(5000);
    killAllChildren();
  }

  const atLargest = options.sizes.includes(1000) ? 1000 : Math.max(...options.sizes);
  const final = results.filter((r) => r.clusters === atLargest);
  console.log(DEFINITIONS.replace("settle", `${options.settleMs / 1000} s`));
  console.log("");
  const list = verdicts(final);
  console.log(
    `Targets at N = ${atLargest}${atLargest === 1000 ? "" : " (N = 1000 not run: the targets are defined at 1000)"}:`,
  );
  for (const v of list) {
    const mark = v.met === null ? "NOT MEASURED" : v.met ? "met" : "MISSED";
    console.log(`  ${v.target.padEnd(34)} ${mark.padEnd(13)} ${v.detail}`);
  }
  console.log(`\nbench took ${((wallMs() - startedAt) / 1000).toFixed(0)} s`);
  if (options.json) {
    writeFileSync(
      options.json,
      `${JSON.stringify({ options: { ...options, json: undefined }, results, verdict: { clusters: atLargest, targets: list } }, null, 2)}\n`,
    );
    console.log(`results written to ${options.json}`);
  }
  if (options.keep) console.log(`temporary files kept in ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
  return 0;
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
      killAllChildren();
      process.exit(1);
    },
  );
}
