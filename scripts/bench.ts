/**
 * Benchmark: faultline against a naive baseline (scripts/baseline.ts) on the same simulator.
 *
 *   bun run bench                       # N = 10, 100, 1000 clusters (several minutes on 2 cores)
 *   bun run bench --sizes 10,100 --quick
 *   bun run bench --json results.json
 *
 * Three kinds of process, each measured (or not) on its own:
 * - the simulator (scripts/bench/sim-process.ts): one loopback listener per cluster, started once with the
 *   largest N (2N with the alternating rounds); runs with fewer clusters use its first N. Its CPU and
 *   memory are not counted;
 * - faultline: `bun src/main.ts run --config <generated>` (workers, fan-in, store; no agent configured, so
 *   faults are stored as skipped incidents and no agent process runs; log_level warn);
 * - the baseline: `bun scripts/baseline.ts` (one thread, one SDK client per cluster, no store).
 *   `--runtime deno` runs faultline and the baseline under `deno run -A` (the simulator stays on Bun).
 *
 * First the simulator is warmed (throw-away baseline runs: see warmSimulator). For every N and each of
 * the two, in turn: start it and wait until every cluster is active; let it settle;
 * measure its CPU while idle (pings only); inject B bursts (default 3) of K faults never sent before, each as
 * fast as the simulator can send them and each all stored before the next (scripts/bench/bursts.ts);
 * then inject a steady rate for a few seconds and measure each fault's latency; stop it. Then both
 * again at once, each on N clusters of its own, for rounds of alternating bursts and steady windows (a
 * paired measure of the burst's rate and the steady phase's CPU: see runAlternating; the simulator
 * serves 2N). Then, with the simulator's servers switched to hold their event streams' headers until
 * the first event (as the MCP TypeScript SDK's server on Bun does), start each once more and time its
 * start-up only. Last, the store alone (scripts/bench/store-bench.ts). Figures are printed per N with
 * the ratio faultline/baseline, then a verdict against issue 14's targets per N (options:
 * scripts/bench/options.ts; report: scripts/bench/report.ts).
 */

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { DB_FILE } from "../src/incidents/open.ts";
import { errorMessage } from "../src/log.ts";
import {
  BUN_DEFAULT_MAX_HTTP_REQUESTS,
  HTTP_LIMIT_VARIABLE,
  requiredHttpRequests,
} from "../src/runtime/http-capacity.ts";
import { medianThreads } from "./bench/burst-stats.ts";
import {
  BUILT_POLL_MS,
  type BurstPhase,
  type BurstPlan,
  baselineBursts,
  faultlineBursts,
} from "./bench/bursts.ts";
import { wallMs } from "./bench/context.ts";
import {
  healthSummary,
  type ObservedEvent,
  openStoredEvents,
  type StoredEvents,
  waitForCount,
} from "./bench/measure.ts";
import { type BenchOptions, parseOptions, USAGE } from "./bench/options.ts";
import {
  type CpuSpent,
  cpuFrom,
  type JsonLineChild,
  killAllChildren,
  MEASURED_CPU,
  onCpu,
  readCpuSeconds,
  readMemory,
  readThreadCpu,
  SIMULATOR_CPU,
  spawnChild,
  threadCpuDelta,
} from "./bench/proc.ts";
import { DEFINITIONS, storeVerdict, table, verdicts } from "./bench/report.ts";
import { emptyResult, latencyOf, type RunResult, SETTLE_AFTER_LOAD_MS } from "./bench/results.ts";
import type { StoreBenchResult } from "./bench/store-bench.ts";
import { ROOT, runtimeVersion, scriptCommand } from "./runtime.ts";

const BUN = process.execPath;

/** Both systems ping every cluster this often (faultline's default), so the idle phase compares like with like. */
const PING_SECONDS = 15;

/** RSS right after the load phases and the peak, then RSS once the process had time to settle. */
async function readMemoryAfterLoad(result: RunResult, pid: number): Promise<void> {
  const memory = memoryMb(pid);
  result.rss_after_mb = memory?.rss ?? null;
  result.rss_peak_mb = memory?.hwm ?? null;
  await Bun.sleep(SETTLE_AFTER_LOAD_MS);
  result.rss_settled_mb = memoryMb(pid)?.rss ?? null;
}

/** Which run of a system at one N: everything, or start-up only (against servers holding their headers). */
type RunKind = "full" | "startup";

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

/** `argv` run on CPU `cpu` only when --pin is given (see {@link onCpu}). */
function pinned(argv: string[], cpu: number, options: BenchOptions): string[] {
  return options.pin ? onCpu(argv, cpu) : argv;
}

async function startSim(clusters: number, options: BenchOptions): Promise<SimHandle> {
  const child = spawnChild(
    "simulator",
    pinned(
      [BUN, join(ROOT, "scripts/bench/sim-process.ts"), "--clusters", String(clusters)],
      SIMULATOR_CPU,
      options,
    ),
    {
      stdin: true,
    },
  );
  const ready = await child.waitForLine("simulator ready", (line) => line.type === "ready", 60_000);
  return { child, clusters: ready.clusters as SimHandle["clusters"] };
}

/** Switches every simulated server to hold (or flush) the headers of event streams opened from now on. */
async function holdHeaders(sim: SimHandle, hold: boolean): Promise<void> {
  await sim.child.request({ cmd: "hold_headers", hold }, 10_000);
}

/** CPU seconds per minute the process `pid` uses over `seconds` of idleness, and by thread. */
async function idleCpu(pid: number, seconds: number, result: RunResult): Promise<void> {
  const spent = cpuFrom(pid);
  await Bun.sleep(seconds * 1000);
  const { cpu_s, threads } = spent();
  result.cpu_idle_per_min = (cpu_s * 60) / seconds;
  result.threads.idle = threads;
}

/** `events_list` calls the first `n` simulated clusters have received so far. */
async function listEventsCalls(sim: SimHandle, n: number): Promise<number> {
  const stats = await sim.child.request({ cmd: "stats", clusters: n }, 10_000);
  return Number(stats.list_events_calls);
}

/**
 * Waits until `n` clusters (the first `n`, or from index `from`) have `n` open event streams; notes what
 * falls short.
 */
async function waitForStreams(sim: SimHandle, n: number, notes: string[], from = 0): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const stats = await sim.child.request({ cmd: "stats", clusters: n, from }, 10_000);
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

/**
 * The burst phase's plan for `n` clusters: options.bursts bursts of options.burst faults, tags
 * `<prefix><i>`, on the simulator's first `n` clusters; `change` for another start, count or size.
 */
function burstPlan(
  sim: SimHandle,
  n: number,
  options: BenchOptions,
  tagPrefix: string,
  change: Partial<Pick<BurstPlan, "from" | "bursts" | "perBurst">> = {},
): BurstPlan {
  return {
    sim: sim.child,
    clusters: n,
    perBurst: options.burst,
    bursts: options.bursts,
    tagPrefix,
    ...change,
  };
}

/** Puts the burst phase's figures in `result`: every burst, the medians, per-thread medians. */
function recordBursts(result: RunResult, phase: BurstPhase): void {
  result.bursts = phase.each;
  result.burst = phase.summary;
  result.cpu_burst_s = phase.summary.cpu_s;
  result.threads.burst = medianThreads(phase.each.map((b) => b.threads));
  result.notes.push(...phase.notes);
}

/** One steady window to send: `rate` faults a second for `seconds`, tagged `tag`, round-robin over clusters. */
interface SteadyPlan {
  sim: SimHandle;
  /** Clusters the faults are spread over: the simulator's `clusters` from index `from`. */
  clusters: number;
  from: number;
  rate: number;
  seconds: number;
  tag: string;
  /** Faults the window sends (`rate` × `seconds`). */
  expected: number;
}

/** The steady phase's window for `n` clusters (from index `from`), at the options' rate and length. */
function steadyPlan(sim: SimHandle, n: number, options: BenchOptions, tag: string, from = 0): SteadyPlan {
  const { rate, seconds } = options;
  return { sim, clusters: n, from, rate, seconds, tag, expected: Math.round(rate * seconds) };
}

/** The measured process's CPU over one steady window, and the simulator's reply to it. */
interface SteadyWindow extends CpuSpent {
  reply: Record<string, unknown>;
}

/** Sends the window's faults; resolves with the simulator's reply once the last is sent. */
function sendSteady(plan: SteadyPlan): Promise<Record<string, unknown>> {
  const { clusters, from, rate, seconds, tag } = plan;
  return plan.sim.child.request({ cmd: "steady", clusters, from, rate, seconds, tag }, 120_000);
}

/**
 * One steady window of faultline's (process `pid`): `stored` polled every 1 ms from the window's start
 * until every fault of the plan's tag is built, or 5 s after the simulator's last send; the events seen
 * committed (`observed`) and built, and faultline's CPU over the window. The polls are what the fan-in
 * latency is read from; {@link faultlineSteadyCpu} measures the CPU alone, without them.
 */
async function faultlineSteadyWindow(
  plan: SteadyPlan,
  pid: number,
  stored: StoredEvents,
): Promise<SteadyWindow & { observed: ObservedEvent[]; built: ObservedEvent[] }> {
  const { expected, tag } = plan;
  stored.skipToEnd();
  const spent = cpuFrom(pid);
  const observed: ObservedEvent[] = [];
  const built: ObservedEvent[] = [];
  let repliedAt = 0;
  const sent = sendSteady(plan).finally(() => {
    repliedAt = wallMs();
  });
  for (;;) {
    for (const event of stored.readNew(wallMs())) {
      if (event.tag !== tag) continue;
      if (event.built) built.push(event);
      else observed.push(event);
    }
    if (built.length >= expected || (repliedAt > 0 && wallMs() - repliedAt > 5000)) break;
    await Bun.sleep(1);
  }
  return { reply: await sent, ...spent(), observed, built };
}

/**
 * One steady window of faultline's CPU alone (the alternating rounds): no polls while the simulator
 * sends (reading every new event each 1 ms cost the bench 0.29-0.36 s of CPU over a 5 s window, half of
 * what faultline's own window costs, on one of the two cores; watching the baseline's window costs
 * nothing, it reports its own count), then its built events counted every {@link BUILT_POLL_MS} ms
 * until all `expected` are built (`built`), or until none was built for 5 s.
 */
async function faultlineSteadyCpu(
  plan: SteadyPlan,
  pid: number,
  stored: StoredEvents,
): Promise<SteadyWindow & { built: number }> {
  const builtBefore = await stored.built();
  const spent = cpuFrom(pid);
  const reply = await sendSteady(plan);
  const built = await waitForCount(stored.built, builtBefore, plan.expected, BUILT_POLL_MS, 5000);
  return { reply, ...spent(), built: built.count };
}

/**
 * One steady window of the baseline's (`child`): its CPU from the window's start until it received every
 * fault of the plan's tag (`received`), or 5 s after the simulator's last send.
 */
async function baselineSteadyWindow(
  plan: SteadyPlan,
  child: JsonLineChild,
): Promise<SteadyWindow & { received: boolean }> {
  const spent = cpuFrom(child.pid);
  const received = child
    .request({ cmd: "expect", tag: plan.tag, count: plan.expected }, 120_000)
    .then(() => true)
    .catch(() => false);
  const reply = await sendSteady(plan);
  const all = await Promise.race([received, Bun.sleep(5000).then(() => false)]);
  return { reply, ...spent(), received: all };
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

/** A faultline process the bench started, with where to reach and read it. */
interface FaultlineRun {
  child: JsonLineChild;
  stateDir: string;
  /** Its health server's base URL. */
  base: string;
  spawnedMs: number;
}

/** Writes a config for the first `n` simulated clusters and starts faultline on it (pinned to CPU 1). */
async function startFaultline(
  sim: SimHandle,
  n: number,
  options: BenchOptions,
  dir: string,
  kind: RunKind | "alternating",
): Promise<FaultlineRun> {
  const runDir = join(dir, `faultline-${n}-${kind}`);
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
    ping: { interval_seconds: PING_SECONDS },
    health: { listen: `127.0.0.1:${port}` },
    state_dir: stateDir,
    log_level: options.logDir ? "info" : "warn",
    ...(options.workersMax === null ? {} : { workers: { max: options.workersMax } }),
  };
  const configFile = join(runDir, "faultline.yaml");
  writeFileSync(configFile, JSON.stringify(config, null, 2)); // JSON is YAML
  const base = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {};
  if (options.noReexec) env[HTTP_LIMIT_VARIABLE] = String(httpLimitFor(n));
  if (options.logDir) mkdirSync(options.logDir, { recursive: true });
  const bunArgs: string[] = [];
  if (options.cpuProf) {
    mkdirSync(options.cpuProf, { recursive: true });
    bunArgs.push(
      "--cpu-prof",
      "--cpu-prof-dir",
      options.cpuProf,
      "--cpu-prof-name",
      `faultline-${n}.cpuprofile`,
      ...(options.cpuProfIntervalUs === null
        ? []
        : ["--cpu-prof-interval", String(options.cpuProfIntervalUs)]),
    );
  }

  const spawnedMs = wallMs();
  const child = spawnChild(
    "faultline",
    pinned(
      options.binary
        ? [options.binary, "run", "--config", configFile]
        : [...scriptCommand(options.runtime, options.faultlineMain, bunArgs), "run", "--config", configFile],
      MEASURED_CPU,
      options,
    ),
    {
      cwd: ROOT,
      env,
      ...(options.logDir ? { logFile: join(options.logDir, `faultline-${n}-${kind}.log`) } : {}),
    },
  );
  return { child, stateDir, base, spawnedMs };
}

/** Polls faultline's GET /health every 25 ms until all `n` clusters are active; resolves with that time. */
async function waitFaultlineActive(run: FaultlineRun, n: number): Promise<number> {
  const deadline = run.spawnedMs + 120_000;
  for (;;) {
    if (run.child.exited) throw new Error(`faultline exited during start-up\n${run.child.tail()}`);
    const probe = wallMs();
    const summary = await healthSummary(run.base);
    if (summary && summary.active >= n) return probe;
    if (probe > deadline)
      throw new Error(`not all active after 120 s (${summary?.active ?? "?"}/${n})\n${run.child.tail()}`);
    await Bun.sleep(25);
  }
}

async function runFaultline(
  sim: SimHandle,
  n: number,
  options: BenchOptions,
  dir: string,
  result: RunResult,
  kind: RunKind = "full",
): Promise<void> {
  const listed0 = await listEventsCalls(sim, n);
  const started = await startFaultline(sim, n, options, dir, kind);
  const { child, stateDir, spawnedMs } = started;
  try {
    const activeMs = await waitFaultlineActive(started, n);
    if (kind === "startup") {
      result.all_active_hold_s = (activeMs - spawnedMs) / 1000;
      return;
    }
    result.all_active_s = (activeMs - spawnedMs) / 1000;
    result.cpu_startup_s = readCpuSeconds(child.pid);
    result.threads.startup = threadCpuDelta({}, readThreadCpu(child.pid));
    await Bun.sleep(options.settleMs);
    result.rss_active_mb = memoryMb(child.pid)?.rss ?? null;
    await waitForStreams(sim, n, result.notes);
    await idleCpu(child.pid, options.idleSeconds, result);
    // A stream not seen open within the grace is backfilled by `events_list` 2 s after subscribing.
    const listed = (await listEventsCalls(sim, n)) - listed0;
    if (listed > 0)
      result.notes.push(`${listed} events_list calls from start-up to the end of the idle phase`);

    const stored = openStoredEvents(join(stateDir, DB_FILE));
    result.latency_source =
      "send → row committed in faultline.db, in the intake journal or as its incident's (first 1 ms poll that sees it; upper bound)";
    try {
      // Bursts.
      const bursts = await faultlineBursts(burstPlan(sim, n, options, `f${n}burst`), child.pid, stored);
      recordBursts(result, bursts);

      // Steady rate: latency.
      const plan = steadyPlan(sim, n, options, `f${n}steady`);
      const { expected } = plan;
      const steady = await faultlineSteadyWindow(plan, child.pid, stored);
      result.cpu_steady_s = steady.cpu_s;
      result.threads.steady = steady.threads;
      result.steady_rate = Number(steady.reply.achieved_rate);
      result.latency = latencyOf(
        steady.observed.map((e) => e.seenMs - e.sendMs),
        expected,
      );
      result.built_latency = latencyOf(
        steady.built.map((e) => e.seenMs - e.sendMs),
        expected,
      );
      result.received_latency = latencyOf(
        steady.observed.map((e) => e.receivedMs - e.sendMs),
        expected,
      );
    } finally {
      stored.close();
    }
    await readMemoryAfterLoad(result, child.pid);
  } finally {
    await child.stop(15_000);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The baseline
// ---------------------------------------------------------------------------------------------------------------

/** Starts the baseline on the first `n` clusters of `endpointsFile` (pinned to CPU 1). */
function startBaseline(n: number, options: BenchOptions, endpointsFile: string): JsonLineChild {
  const argv = [
    ...scriptCommand(options.runtime, join(ROOT, "scripts/baseline.ts")),
    "--endpoints-file",
    endpointsFile,
    "--count",
    String(n),
  ];
  return spawnChild(
    "baseline",
    pinned([...argv, "--ping-seconds", String(PING_SECONDS)], MEASURED_CPU, options),
    {
      cwd: ROOT,
      env: { [HTTP_LIMIT_VARIABLE]: String(httpLimitFor(n)) },
      stdin: true,
    },
  );
}

async function runBaseline(
  sim: SimHandle,
  n: number,
  options: BenchOptions,
  endpointsFile: string,
  result: RunResult,
  kind: RunKind = "full",
): Promise<void> {
  const spawnedMs = wallMs();
  const child = startBaseline(n, options, endpointsFile);
  let failures = 0;
  const unlisten = child.onLine((line) => {
    if (line.type === "failed") failures++;
  });
  try {
    const active = await child.waitForLine("all active", (line) => line.type === "active", 120_000);
    if (kind === "startup") {
      result.all_active_hold_s = (Number(active.at) - spawnedMs) / 1000;
      return;
    }
    result.all_active_s = (Number(active.at) - spawnedMs) / 1000;
    result.cpu_startup_s = readCpuSeconds(child.pid);
    result.threads.startup = threadCpuDelta({}, readThreadCpu(child.pid));
    if (failures > 0) result.notes.push(`${failures} failed connection attempt(s) retried during start-up`);
    await Bun.sleep(options.settleMs);
    result.rss_active_mb = memoryMb(child.pid)?.rss ?? null;
    await waitForStreams(sim, n, result.notes);
    await idleCpu(child.pid, options.idleSeconds, result);

    // Bursts.
    recordBursts(result, await baselineBursts(burstPlan(sim, n, options, `b${n}burst`), child));

    // Steady rate: latency.
    const plan = steadyPlan(sim, n, options, `b${n}steady`);
    const steady = await baselineSteadyWindow(plan, child);
    result.cpu_steady_s = steady.cpu_s;
    result.threads.steady = steady.threads;
    result.steady_rate = Number(steady.reply.achieved_rate);
    const steadyReport = await child.request({ cmd: "report", tag: plan.tag }, 10_000);
    result.latency = latencyOf(steadyReport.latencies as number[], plan.expected);
    result.latency_source = "send → notification handler in the baseline (no store)";
    await readMemoryAfterLoad(result, child.pid);
  } finally {
    unlisten();
    await child.stop(10_000);
  }
}

/** Sessions the simulator serves before anything is measured (see {@link warmSimulator}). */
const WARM_SESSIONS = 300;

/**
 * Warms the simulator before the first measured start-up: throw-away runs of the baseline on the first
 * `n` clusters (until {@link WARM_SESSIONS} sessions were opened, at most 3 runs), each connected, sent
 * a small burst and stopped. A simulator fresh from start-up serves its first sessions with its code
 * not yet compiled hot: the first system started against it took 0.35 s to all active at 100 clusters
 * where the third took 0.13 (the same faultline binary), and the bench always starts faultline first.
 */
async function warmSimulator(
  sim: SimHandle,
  n: number,
  options: BenchOptions,
  endpointsFile: string,
): Promise<void> {
  const rounds = Math.min(3, Math.ceil(WARM_SESSIONS / n));
  for (let round = 0; round < rounds; round++) {
    const child = startBaseline(n, options, endpointsFile);
    try {
      await child.waitForLine("all active", (line) => line.type === "active", 120_000);
      const plan = burstPlan(sim, n, options, `warm${round}-`, { perBurst: Math.max(n, 1000), bursts: 1 });
      await baselineBursts(plan, child);
    } finally {
      await child.stop(10_000);
    }
  }
  await Bun.sleep(500);
}

// ---------------------------------------------------------------------------------------------------------------
// Alternating rounds
// ---------------------------------------------------------------------------------------------------------------

/**
 * The bursts and the steady phase's CPU in alternating rounds: faultline on `n` clusters and the baseline
 * on `n` others (the simulator's clusters `n`…`2n-1`), both running at once, each idle while the other's
 * burst or window runs. Both are first warmed with the full runs' bursts (not recorded); then round i
 * sends one burst to each, faultline's first (each system's durable or received rate); then round i
 * runs one steady window of each (`options.seconds` at `options.rate`, each until faultline built every
 * fault or the baseline received every one), faultline first in even rounds and the baseline first in
 * odd ones, and reads the CPU of the system whose window it is. The two halves of a round are seconds
 * apart, so a spell of the machine (minutes long) falls on both: round i's ratio compares like with like.
 */
async function runAlternating(
  sim: SimHandle,
  n: number,
  options: BenchOptions,
  dir: string,
  f: RunResult,
  b: RunResult,
): Promise<void> {
  const endpointsFile = join(dir, `endpoints-alternating-${n}.json`);
  writeFileSync(endpointsFile, JSON.stringify({ clusters: sim.clusters.slice(n, 2 * n) }));
  const faultline = await startFaultline(sim, n, options, dir, "alternating");
  let baseline: JsonLineChild | null = null;
  try {
    await waitFaultlineActive(faultline, n);
    const base = startBaseline(n, options, endpointsFile);
    baseline = base;
    await base.waitForLine("all active", (line) => line.type === "active", 120_000);
    await Bun.sleep(options.settleMs);
    await waitForStreams(sim, n, f.notes);
    await waitForStreams(sim, n, b.notes, n);
    const events = openStoredEvents(join(faultline.stateDir, DB_FILE));
    try {
      // Warmed as in the full runs, where the steady phase follows the bursts: the same bursts, not
      // recorded (a process fresh from start-up pays its JIT's first compilations in its first window).
      await faultlineBursts(burstPlan(sim, n, options, `a${n}fwarm`), faultline.child.pid, events);
      await baselineBursts(burstPlan(sim, n, options, `a${n}bwarm`, { from: n }), base);
      // Paired bursts first: one burst of each per round, faultline's then the baseline's in every round,
      // so that every burst follows the other system's (the warm-up ends with the baseline's), one settle
      // apart. Alternating the order instead (as the windows below do) put a system's burst right after
      // its own in half the rounds, and those were the slower ones for both systems (one run at 100
      // clusters: faultline 34.0-35.8k events/s after its own, 38.4-39.8k after the baseline's; the
      // baseline 31.6-35.8k against 35.7-38.8k), so the median of five rounds leant on who went first.
      for (let round = 0; round < options.alternate; round++) {
        const one = burstPlan(sim, n, options, `a${n}fb${round}-`, { bursts: 1 });
        const stored = (await faultlineBursts(one, faultline.child.pid, events)).summary;
        f.burst_alternating_eps.push(stored.complete ? stored.events_per_s : 0);
        f.burst_alternating_send_s.push(...stored.send_s_each);
        if (!stored.complete) f.notes.push(`alternating burst ${round + 1}: not every fault stored`);
        const other = burstPlan(sim, n, options, `a${n}bb${round}-`, { from: n, bursts: 1 });
        const received = (await baselineBursts(other, base)).summary;
        b.burst_alternating_eps.push(received.events_per_s);
        b.burst_alternating_send_s.push(...received.send_s_each);
        if (!received.complete) b.notes.push(`alternating burst ${round + 1}: not every fault received`);
      }
      for (let round = 0; round < options.alternate; round++) {
        const runFaultlineWindow = async (): Promise<void> => {
          const plan = steadyPlan(sim, n, options, `a${n}f${round}`);
          const window = await faultlineSteadyCpu(plan, faultline.child.pid, events);
          f.cpu_steady_alternating_s.push(window.cpu_s);
          if (window.built < plan.expected)
            f.notes.push(`alternating round ${round + 1}: ${window.built}/${plan.expected} built`);
        };
        const runBaselineWindow = async (): Promise<void> => {
          const window = await baselineSteadyWindow(steadyPlan(sim, n, options, `a${n}b${round}`, n), base);
          b.cpu_steady_alternating_s.push(window.cpu_s);
          if (!window.received) b.notes.push(`alternating round ${round + 1}: not every fault received`);
        };
        const order =
          round % 2 === 0 ? [runFaultlineWindow, runBaselineWindow] : [runBaselineWindow, runFaultlineWindow];
        for (const window of order) {
          await window();
          await Bun.sleep(500);
        }
      }
    } finally {
      events.close();
    }
  } finally {
    await baseline?.stop(10_000);
    await faultline.child.stop(15_000);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------------------------

/** The store-only micro-benchmark in a process of its own (on faultline's CPU with --pin). */
async function runStoreAlone(options: BenchOptions): Promise<StoreBenchResult | null> {
  const argv = [BUN, join(ROOT, "scripts/bench/store-bench.ts"), "--events", String(options.storeEvents)];
  const child = spawnChild("store-bench", pinned(argv, MEASURED_CPU, options), { cwd: ROOT });
  try {
    const line = await child.waitForLine("store result", (l) => typeof l.events_per_s === "number", 300_000);
    return line as unknown as StoreBenchResult;
  } catch (error) {
    process.stderr.write(`bench: store alone failed: ${errorMessage(error)}\n`);
    return null;
  } finally {
    await child.stop(5000);
  }
}

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
  let store: StoreBenchResult | null = null;
  try {
    const maxN = Math.max(...options.sizes);
    // The alternating windows run the baseline on clusters of its own, past faultline's.
    const alternating = options.alternate > 0 && options.systems.length === 2;
    const simClusters = alternating ? 2 * maxN : maxN;
    progress(`starting the simulator with ${simClusters} clusters`);
    sim = await startSim(simClusters, options);
    if (options.compiled) {
      const binary = join(dir, "bin", "faultline");
      progress(`building ${binary}`);
      // Built from the tree --faultline-main names (this tree by default), so a binary A/B needs no extra step.
      const tree = resolve(dirname(options.faultlineMain), "..");
      const build = Bun.spawnSync([BUN, join(tree, "scripts/build.ts"), "--outfile", binary], {
        cwd: tree,
        stdout: "pipe",
        stderr: "pipe",
      });
      if (build.exitCode !== 0) throw new Error(`build failed: ${build.stderr.toString()}`);
      options.binary = binary;
    }
    const endpointsFile = join(dir, "endpoints.json");
    writeFileSync(endpointsFile, JSON.stringify({ clusters: sim.clusters.slice(0, maxN) }));
    console.log(
      `faultline benchmark: sizes ${options.sizes.join(", ")}; ${options.bursts} burst(s) of ${options.burst} faults (median used); steady ${options.rate}/s for ${options.seconds} s; settle ${options.settleMs / 1000} s`,
    );
    console.log(
      `machine: ${navigator.hardwareConcurrency} cores; simulator on bun ${runtimeVersion("bun")}; faultline and the baseline on ${options.runtime} ${runtimeVersion(options.runtime)}; faultline ${options.compiled ? "compiled binary" : "from source"} without an agent, log_level ${options.logDir ? `info (logs in ${options.logDir})` : "warn"}, workers.max ${options.workersMax ?? "default"}${options.noReexec ? ", no re-exec" : ""}${options.pin ? "; pinned: simulator CPU 0, measured process CPU 1" : ""}\n`,
    );
    const running = sim;
    progress("warming the simulator");
    await warmSimulator(running, Math.min(maxN, WARM_SESSIONS), options, endpointsFile);
    const run = async (result: RunResult, kind: RunKind): Promise<void> => {
      const { system, clusters: n } = result;
      progress(
        `N=${n}: ${system}${kind === "startup" ? ", start-up against servers holding their headers" : ""}`,
      );
      try {
        if (system === "faultline") await runFaultline(running, n, options, dir, result, kind);
        else await runBaseline(running, n, options, endpointsFile, result, kind);
      } catch (error) {
        const message = errorMessage(error);
        result.error ??= message;
        progress(`N=${n}: ${system} failed: ${message}`);
      }
      await Bun.sleep(500);
    };
    for (const n of options.sizes) {
      const perN = options.systems.map((system) => emptyResult(system, n));
      for (const result of perN) await run(result, "full");
      const f = perN.find((r) => r.system === "faultline");
      const b = perN.find((r) => r.system === "baseline");
      if (options.alternate > 0 && f && b) {
        progress(`N=${n}: bursts and steady windows in ${options.alternate} alternating round(s) each`);
        try {
          await runAlternating(running, n, options, dir, f, b);
        } catch (error) {
          f.notes.push(`alternating rounds failed: ${errorMessage(error)}`);
          progress(`N=${n}: alternating rounds failed: ${errorMessage(error)}`);
        }
        await Bun.sleep(500);
      }
      if (options.hold) {
        await holdHeaders(running, true);
        for (const result of perN) await run(result, "startup");
        await holdHeaders(running, false);
      }
      results.push(...perN);
      console.log(table(n, perN));
      console.log("");
    }
    if (options.storeEvents > 0) {
      progress(`store alone: ${options.storeEvents} events`);
      store = await runStoreAlone(options);
    }
  } catch (error) {
    if (!options.keep) rmSync(dir, { recursive: true, force: true });
    throw error;
  } finally {
    await sim?.child.stop(5000);
    killAllChildren();
  }

  console.log(DEFINITIONS.replace("settle", `${options.settleMs / 1000} s`));
  const list: Record<string, ReturnType<typeof verdicts>> = {};
  const show = (v: ReturnType<typeof storeVerdict>): void => {
    const mark = v.met === null ? "NOT MEASURED" : v.met ? "met" : "MISSED";
    console.log(`  ${v.target.padEnd(36)} ${mark.padEnd(13)} ${v.detail}`);
  };
  for (const n of options.sizes) {
    list[n] = verdicts(results.filter((r) => r.clusters === n));
    console.log(`\nTargets at N = ${n} (issue 14: defined at 100 and 1000 clusters):`);
    for (const v of list[n] ?? []) show(v);
  }
  const storeTarget = storeVerdict(store);
  console.log("\nStore alone:");
  show(storeTarget);
  console.log(`\nbench took ${((wallMs() - startedAt) / 1000).toFixed(0)} s`);
  if (options.json) {
    writeFileSync(
      options.json,
      `${JSON.stringify({ options: { ...options, json: undefined }, results, store, verdicts: { ...list, store: storeTarget } }, null, 2)}\n`,
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
      console.error(`bench: ${errorMessage(error)}`);
      killAllChildren();
      process.exit(1);
    },
  );
}
