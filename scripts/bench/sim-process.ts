/**
 * The benchmark's simulator process: `startSimulator` from scripts/sim/ in a process of its own (so its
 * CPU and memory are not counted against what is measured), driven by JSON command lines on stdin.
 *
 *   bun scripts/bench/sim-process.ts --clusters 1000
 *
 * Prints `{ "type": "ready", "clusters": [{ name, endpoint }] }`, then answers each command line with one
 * JSON line carrying the command's `id`. A command's N clusters are the first N, or with `from: F` the N
 * from index F on:
 *
 * - `{ cmd: "burst", clusters: N, total: K, tag }`: injects K distinct faults round-robin over the first N
 *   clusters as fast as it can (in chunks, yielding between them so sockets drain while it injects). It
 *   first collects its garbage (`gc_ms` in the answer, before `first_send_ms`): what the previous burst
 *   left, another system's in the bench's paired rounds, would otherwise be collected while this one
 *   sends, and slow its sends.
 * - `{ cmd: "steady", clusters: N, rate: R, seconds: S, tag }`: injects R faults per second for S seconds,
 *   round-robin over the first N clusters, paced against the wall clock (about 1 ms granularity).
 * - `{ cmd: "stats", clusters: N }`: sessions, open event streams, subscriptions and `events_list` calls so far
 *   (`list_events_calls`) over the first N clusters.
 * - `{ cmd: "hold_headers", hold: true|false }`: every cluster holds (or flushes) the headers of event streams
 *   opened from now on until their first event (the MCP TypeScript SDK's server on Bun does so).
 *
 * Every injected fault's `context` is `bench|<tag>|<seq>|<send ms>`: the wall-clock time (sub-millisecond,
 * `performance.timeOrigin + performance.now()`) just before the simulator wrote it to the subscriber's stream.
 */
import { parseArgs } from "node:util";
import { sleep } from "../../src/runtime/sleep.ts";
import { lines } from "../lines.ts";
import { type Simulator, startSimulator } from "../sim/index.ts";
import { benchContext, printJson, wallMs } from "./context.ts";

/** Faults injected per chunk of a burst before yielding to the event loop. */
const BURST_CHUNK = 200;

interface InjectOutcome {
  sent: number;
  delivered: number;
  first_send_ms: number;
  last_send_ms: number;
}

function injectOne(sim: Simulator, names: readonly string[], tag: string, seq: number): number {
  const cluster = names[seq % names.length] as string;
  const sendMs = wallMs();
  return sim.inject(cluster, { name: `bench-${tag}-${seq}`, context: benchContext(tag, seq, sendMs) });
}

async function burst(sim: Simulator, names: readonly string[], total: number, tag: string) {
  const outcome: InjectOutcome = { sent: 0, delivered: 0, first_send_ms: wallMs(), last_send_ms: 0 };
  while (outcome.sent < total) {
    const end = Math.min(total, outcome.sent + BURST_CHUNK);
    for (; outcome.sent < end; outcome.sent++) outcome.delivered += injectOne(sim, names, tag, outcome.sent);
    await new Promise((resolve) => setImmediate(resolve));
  }
  outcome.last_send_ms = wallMs();
  return outcome;
}

async function steady(sim: Simulator, names: readonly string[], rate: number, seconds: number, tag: string) {
  const total = Math.round(rate * seconds);
  const start = wallMs();
  const outcome: InjectOutcome = { sent: 0, delivered: 0, first_send_ms: start, last_send_ms: 0 };
  let maxBatch = 0;
  while (outcome.sent < total) {
    const due = Math.min(total, Math.floor(((wallMs() - start) / 1000) * rate) + 1);
    maxBatch = Math.max(maxBatch, due - outcome.sent);
    for (; outcome.sent < due; outcome.sent++) outcome.delivered += injectOne(sim, names, tag, outcome.sent);
    await sleep(1);
  }
  outcome.last_send_ms = wallMs();
  return { ...outcome, achieved_rate: total / ((outcome.last_send_ms - start) / 1000), max_batch: maxBatch };
}

function stats(sim: Simulator, names: readonly string[]) {
  let sessions = 0;
  let streams = 0;
  let subscriptions = 0;
  let listEventsCalls = 0;
  for (const name of names) {
    const s = sim.stats(name);
    sessions += s.sessions;
    streams += s.streams;
    subscriptions += s.subscriptions;
    listEventsCalls += s.listEventsCalls;
  }
  return { sessions, streams, subscriptions, list_events_calls: listEventsCalls };
}

async function handle(sim: Simulator, command: Record<string, unknown>): Promise<void> {
  const id = command.id;
  const from = command.from ?? 0;
  if (typeof from !== "number" || !Number.isInteger(from) || from < 0 || from >= sim.clusters.length) {
    printJson({ id, error: `from must be an index of the simulator's ${sim.clusters.length} clusters` });
    return;
  }
  const count = Math.min(Number(command.clusters ?? sim.clusters.length), sim.clusters.length - from);
  const names = sim.clusters.slice(from, from + count);
  const tag = String(command.tag ?? "x");
  try {
    switch (command.cmd) {
      case "burst": {
        const gcStarted = performance.now();
        Bun.gc(true);
        const gc_ms = performance.now() - gcStarted;
        printJson({ id, gc_ms, ...(await burst(sim, names, Number(command.total), tag)) });
        return;
      }
      case "steady":
        printJson({ id, ...(await steady(sim, names, Number(command.rate), Number(command.seconds), tag)) });
        return;
      case "stats":
        printJson({ id, ...stats(sim, names) });
        return;
      case "hold_headers":
        for (const name of sim.clusters) sim.setHoldHeaders(name, command.hold === true);
        printJson({ id, hold: command.hold === true });
        return;
      default:
        printJson({ id, error: `unknown command ${String(command.cmd)}` });
    }
  } catch (error) {
    printJson({ id, error: error instanceof Error ? error.message : String(error) });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { clusters: { type: "string" } }, strict: true });
  const count = Number(values.clusters ?? "10");
  if (!Number.isInteger(count) || count < 1) throw new Error("--clusters must be a positive integer");
  const sim = await startSimulator({ clusters: count });
  const clusters = sim.clusters.map((name) => ({ name, endpoint: sim.endpoint(name) }));
  printJson({ type: "ready", clusters });
  const shutdown = (): void => {
    sim.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
  for await (const line of lines(process.stdin)) {
    if (line.trim() === "") continue;
    let command: unknown;
    try {
      command = JSON.parse(line);
    } catch {
      printJson({ error: "invalid JSON command" });
      continue;
    }
    if (typeof command === "object" && command !== null) void handle(sim, command as Record<string, unknown>);
  }
  shutdown();
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    console.error(`sim-process: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  });
}
