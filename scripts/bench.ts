/**
 * Benchmark: faultline against a naive baseline (scripts/baseline.ts) on the same simulator.
 *
 *   bun run bench                       # N = 10, 100, 1000 clusters (about 70 s on 2 cores)
 *   bun run bench --sizes 10,100 --quick
 *   bun run bench --json results.json
 *   bun run bench --runtime deno        # faultline and the baseline under Deno (the simulator stays on Bun)
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
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DB_FILE } from "../src/incidents/open.ts";
import {
  BUN_DEFAULT_MAX_HTTP_REQUESTS,
  HTTP_LIMIT_VARIABLE,
  requiredHttpRequests,
} from "../src/runtime/http-capacity.ts";
import { sleep } from "../src/runtime/sleep.ts";
import { wallMs } from "./bench/context.ts";
import { healthSummary, type ObservedEvent, openStoredEvents, waitForCount } from "./bench/measure.ts";
import { type BenchOptions, parseOptions, USAGE } from "./bench/options.ts";
import {
  type JsonLineChild,
  killAllChildren,
  readCpuSeconds,
  readMemory,
  readThreadCpu,
  spawnChild,
  threadCpuDelta,
} from "./bench/proc.ts";
import { DEFINITIONS, emptyResult, latencyOf, type RunResult, table, verdicts } from "./bench/results.ts";
import { ROOT, runtimeBinary, runtimeVersion, scriptCommand } from "./runtime.ts";

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
    pinned(
      [...scriptCommand("bun", join(ROOT, "scripts/bench/sim-process.ts")), "--clusters", String(clusters)],
      0,
      options,
    ),
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
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// faultline
// ---------------------------------------------------------------------------------------------------------------

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((listening, failed) => {
    server.once("error", failed);
    server.listen(0, "127.0.0.1", listening);
  });
  const address = server.address();
  await new Promise((closed) => server.close(closed));
  return typeof address === "object" && address ? address.port : 0;
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
        : [...scriptCommand(options.runtime, options.faultlineMain, bunArgs), "run", "--config", configFile],
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
      if (child.exited) throw new Error(`faultline exited during start-up\n${await child.finalTail()}`);
      const probe = wallMs();
      const summary = await healthSummary(base);
      if (summary && summary.active >= n) {
        result.all_active_s = (probe - spawnedMs) / 1000;
        break;
      }
      if (probe > deadline)
        throw new Error(`not all active after 120 s (${summary?.active ?? "?"}/${n})\n${child.tail()}`);
      await sleep(25);
    }
    result.cpu_startup_s = readCpuSeconds(child.pid);
    result.threads.startup = threadCpuDelta({}, readThreadCpu(child.pid));
    await sleep(options.settleMs);
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
      await sleep(1000);

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
        await sleep(1);
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
      [
        ...scriptCommand(options.runtime, join(ROOT, "scripts/baseline.ts")),
        "--endpoints-file",
        endpointsFile,
        "--count",
        String(n),
      ],
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
    await sleep(options.settleMs);
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
    await sleep(1000);

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
    await Promise.race([waitAll, sleep(5000)]);
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
      const build = spawnSync(runtimeBinary("bun"), [join(ROOT, "scripts/build.ts"), "--outfile", binary], {
        cwd: ROOT,
        encoding: "utf8",
      });
      if (build.status !== 0) throw new Error(`build failed: ${build.stderr}`);
      options.binary = binary;
    }
    const endpointsFile = join(dir, "endpoints.json");
    writeFileSync(endpointsFile, JSON.stringify({ clusters: sim.clusters }));
    console.log(
      `faultline benchmark: sizes ${options.sizes.join(", ")}; burst ${options.burst} faults; steady ${options.rate}/s for ${options.seconds} s; settle ${options.settleMs / 1000} s`,
    );
    console.log(
      `machine: ${navigator.hardwareConcurrency} cores; simulator on bun ${runtimeVersion("bun")}; faultline and the baseline on ${options.runtime} ${runtimeVersion(options.runtime)}; faultline ${options.compiled ? "compiled binary" : "from source"} without an agent, log_level warn, workers.max ${options.workersMax ?? "default"}${options.noReexec ? ", no re-exec" : ""}${options.pin ? "; pinned: simulator CPU 0, measured process CPU 1" : ""}\n`,
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
        await sleep(500);
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
