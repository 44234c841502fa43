/**
 * The source stage alone, for CPU per ping and per event: N cluster connections in this one thread (what a
 * worker runs, without the worker and without the main thread behind it) against the benchmark's
 * simulator in a process of its own; or, with `--sdk`, N bare MCP SDK clients as the naive baseline
 * runs them. Pings every `--ping-seconds` (default 1, so pings dominate the idle phase), then a steady
 * rate of faults. Prints the time and this process's CPU (by thread) from start to all active, its CPU time
 * (µs) per ping while idle and per event while steady, by thread; with `--burst`, the same for a burst.
 * With `--workers K`, the connections run in K worker threads (src/worker/entry.ts, as faultline runs
 * them), this thread only counting their messages.
 *
 *   bun scripts/bench/source-bench.ts [--clusters 1000] [--sdk | --workers K] [--ping-seconds 1] [--idle-seconds 20]
 *     [--check-seconds S]              (faultline's subscribe.check_interval_seconds; its default when absent)
 *   With 256 clusters or more, set BUN_CONFIG_MAX_HTTP_REQUESTS (e.g. 4096; src/runtime/http-capacity.ts):
 *   past Bun's default cap the connections hang and the figures count only the first 255.
 *     [--rate 1000] [--seconds 5]      (add bun's --cpu-prof to see where the CPU goes)
 *     [--burst 20000]                  (then that many faults as fast as the simulator sends them)
 *     [--pin]                          (the simulator on CPU 0, this process on CPU 1, as `bench.ts --pin`)
 */
import { spawnSync } from "node:child_process";
import { cpuUsage } from "node:process";
import { parseArgs } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { sleep } from "../../src/runtime/sleep.ts";
import { startThread } from "../../src/runtime/threads.ts";
import { ClusterConnection } from "../../src/worker/connection.ts";
import { Flow } from "../../src/worker/flow.ts";
import type {
  ConnectionMessage,
  ConnectionSettings,
  MainToWorker,
  WorkerToMain,
} from "../../src/worker/protocol.ts";
import { SharedClock } from "../../src/worker/shared-clock.ts";
import { StartupGate } from "../../src/worker/startup-gate.ts";
import {
  killAllChildren,
  MEASURED_CPU,
  onCpu,
  readThreadCpu,
  SIMULATOR_CPU,
  spawnChild,
  threadCpuDelta,
} from "./proc.ts";

const { values } = parseArgs({
  options: {
    clusters: { type: "string" },
    sdk: { type: "boolean" },
    workers: { type: "string" },
    "ping-seconds": { type: "string" },
    "check-seconds": { type: "string" },
    "idle-seconds": { type: "string" },
    rate: { type: "string" },
    seconds: { type: "string" },
    burst: { type: "string" },
    pin: { type: "boolean" },
  },
  strict: true,
});
const clusters = Number(values.clusters ?? 1000);
const pingSeconds = Number(values["ping-seconds"] ?? 1);
const idleSeconds = Number(values["idle-seconds"] ?? 20);
/** faultline's `subscribe.check_interval_seconds` (its default when absent). */
const checkSeconds = values["check-seconds"] === undefined ? undefined : Number(values["check-seconds"]);
const rate = Number(values.rate ?? 1000);
const seconds = Number(values.seconds ?? 5);
/** Faults sent as fast as the simulator can after the steady phase (0: no burst phase). */
const burstTotal = Number(values.burst ?? 0);

const cpuSeconds = (): number => {
  const { user, system } = cpuUsage();
  return (user + system) / 1e6;
};

const simArgv = [
  process.execPath,
  new URL("./sim-process.ts", import.meta.url).pathname,
  "--clusters",
  String(clusters),
];
if (values.pin) {
  // This process is the measured one: every thread of it (those started later inherit it) on its CPU.
  const pinned = spawnSync("taskset", ["-a", "-p", "-c", String(MEASURED_CPU), String(process.pid)]);
  if (pinned.status !== 0) throw new Error(`--pin: taskset failed: ${pinned.stderr}`);
}
const sim = spawnChild("simulator", values.pin ? onCpu(simArgv, SIMULATOR_CPU) : simArgv, { stdin: true });
try {
  const ready = await sim.waitForLine("ready", (line) => line.type === "ready", 60_000);
  const endpoints = ready.clusters as Array<{ name: string; endpoint: string }>;
  const startCpu0 = cpuSeconds();
  const startWall0 = performance.now();
  const startThreads0 = readThreadCpu(process.pid);
  let active = 0;
  let events = 0;
  let pings = 0;
  /** Event batches received from the workers (with `--workers`). */
  let batches = 0;
  if (values.sdk) {
    await Promise.all(
      endpoints.map(async ({ endpoint }) => {
        const client = new Client({ name: "sdk", version: "0" }, { capabilities: {} });
        client.setNotificationHandler(LoggingMessageNotificationSchema, () => {
          events++;
        });
        await client.connect(new StreamableHTTPClientTransport(new URL(endpoint)));
        await client.setLoggingLevel("info");
        await client.callTool({ name: "events_subscribe", arguments: { mode: "faults" } });
        active++;
        setInterval(() => {
          void client.ping().then(() => pings++);
        }, pingSeconds * 1000);
      }),
    );
  } else {
    const settings: ConnectionSettings = {
      subscribe: {
        mode: "faults",
        poll_interval_seconds: 15,
        ...(checkSeconds === undefined ? {} : { check_interval_seconds: checkSeconds }),
      },
      reconnect: { initial_seconds: 1, max_seconds: 30 },
      ping: { interval_seconds: pingSeconds, timeout_seconds: 10 },
      log_level: "warn",
      connect_concurrency: 64,
    };
    const emit = (message: ConnectionMessage): void => {
      if (message.type === "event") events++;
      else if (message.type === "alive") pings++;
      else if (message.type === "status" && message.status === "active") active++;
    };
    const specs = endpoints.map(({ name, endpoint }) => ({ name, mcp_endpoint: endpoint, labels: {} }));
    const workers = Number(values.workers ?? 0);
    if (workers > 0) {
      const entry = new URL("../../src/worker/entry.ts", import.meta.url).href;
      for (let w = 0; w < workers; w++) {
        const thread = startThread<MainToWorker, WorkerToMain>(entry, {
          message: (message) => {
            if (message.type === "events") {
              events += "json" in message ? message.json.split("\n").length : message.events.length;
              batches++;
            } else if (message.type === "alives") pings += message.reports.length;
            else if (
              message.type !== "stopped" &&
              message.type !== "removed" &&
              message.type !== "crashed" &&
              message.type !== "watched"
            )
              emit(message);
          },
          error: (message) => console.error(`worker: ${message}`),
          exit: () => {},
        });
        thread.post({ type: "start", clusters: specs.filter((_, i) => i % workers === w), settings });
      }
    } else {
      // Shared as a worker shares them: the start-up gate, the flow, the ping clock.
      const gate = new StartupGate(settings.connect_concurrency);
      const flow = new Flow();
      const clock = new SharedClock();
      for (const spec of specs) new ClusterConnection(spec, settings, emit, gate, flow, clock).start();
    }
    while (active < clusters) await sleep(50);
  }
  const startupCpu = cpuSeconds() - startCpu0;
  const startupWallS = (performance.now() - startWall0) / 1000;
  const startupThreads = threadCpuDelta(startThreads0, readThreadCpu(process.pid));
  await sleep(2000);
  const threads0 = readThreadCpu(process.pid);
  const idle0 = cpuSeconds();
  const pings0 = pings;
  await sleep(idleSeconds * 1000);
  const idleCpu = cpuSeconds() - idle0;
  const idlePings = pings - pings0;
  const idleThreads = threadCpuDelta(threads0, readThreadCpu(process.pid));
  const events0 = events;
  const batches0 = batches;
  const steady0 = cpuSeconds();
  const steadyThreads0 = readThreadCpu(process.pid);
  await sim.request({ cmd: "steady", clusters, rate, seconds, tag: "s" }, 60_000);
  const expected = Math.round(rate * seconds);
  for (let i = 0; i < 100 && events - events0 < expected; i++) await sleep(20);
  const steadyCpu = cpuSeconds() - steady0;
  const steadyThreads = threadCpuDelta(steadyThreads0, readThreadCpu(process.pid));
  const steadyEvents = events - events0;
  const steadyBatches = batches - batches0;
  let burst: Record<string, unknown> = {};
  if (burstTotal > 0) {
    await sleep(500);
    const burstEvents0 = events;
    const burstBatches0 = batches;
    const burst0 = cpuSeconds();
    const burstThreads0 = readThreadCpu(process.pid);
    const burstWall0 = performance.now();
    await sim.request({ cmd: "burst", clusters, total: burstTotal, tag: "b" }, 120_000);
    for (let i = 0; i < 1000 && events - burstEvents0 < burstTotal; i++) await sleep(5);
    const burstWallS = (performance.now() - burstWall0) / 1000;
    const burstCpu = cpuSeconds() - burst0;
    burst = {
      burst_events: events - burstEvents0,
      burst_batches: batches - burstBatches0,
      burst_wall_s: +burstWallS.toFixed(3),
      burst_events_per_s: Math.round((events - burstEvents0) / burstWallS),
      burst_cpu_s: +burstCpu.toFixed(3),
      burst_us_per_event: +((burstCpu * 1e6) / burstTotal).toFixed(1),
      burst_threads: threadCpuDelta(burstThreads0, readThreadCpu(process.pid)),
    };
  }
  const mode = values.sdk ? "sdk" : values.workers ? `faultline, ${values.workers} workers` : "faultline";
  console.log(
    JSON.stringify({
      mode,
      clusters,
      startup_wall_s: +startupWallS.toFixed(3),
      startup_cpu_s: +startupCpu.toFixed(3),
      startup_threads: startupThreads,
      idle_cpu_s: +idleCpu.toFixed(3),
      // faultline reports `alive` at most every 2 s: with 1 s pings, about every other ping is counted.
      pings: idlePings,
      idle_us_per_cluster_second: +((idleCpu * 1e6) / (clusters * idleSeconds)).toFixed(1),
      idle_threads: idleThreads,
      steady_cpu_s: +steadyCpu.toFixed(3),
      events: steadyEvents,
      batches: steadyBatches,
      steady_us_per_event: +((steadyCpu * 1e6) / expected).toFixed(1),
      steady_threads: steadyThreads,
      ...burst,
    }),
  );
} finally {
  await sim.stop(2000);
  killAllChildren();
  process.exit(0);
}
