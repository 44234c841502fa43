/**
 * The store on its own: how many events a second `IncidentStore.ingest` records durably, with nothing
 * else in the process (no workers, no HTTP, no simulator). The events are what the benchmark's burst
 * sends: distinct faults round-robin over N clusters, normalised from the simulator's own payloads, in
 * batches of the sink's size (STORE_BATCH), each decoded from a worker's batch message as the sink gets it.
 *
 *   bun scripts/bench/store-bench.ts [--events 100000] [--clusters 1000] [--repeats 0.5] [--batch 512]
 *
 * Prints one JSON line: `{ events, clusters, batch, seconds, events_per_s, repeat_share, …, journal }`:
 * `ingest` as the sink records a steady rate, then the same events through the intake journal (appended,
 * durable, then built), as it records a burst. With
 * `--repeats F`, a share F of the events repeats a fault seen shortly before (it joins its incident);
 * `--batch 1` measures one transaction per event, as the sink writes at low rates.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { FaultEvent } from "../../src/events/fault.ts";
import { classifyNotification } from "../../src/events/normalise.ts";
import type { IngestItem } from "../../src/incidents/model.ts";
import { SqliteStore } from "../../src/incidents/store.ts";
import { setLogLevel } from "../../src/log.ts";
import { STORE_BATCH } from "../../src/pipeline/sink.ts";
import { decodeEventBatch, encodeEventBatch } from "../../src/worker/protocol.ts";
import { faultPayload, resolveFault } from "../sim/faults.ts";

/** What one run measured. */
export interface StoreBenchResult {
  events: number;
  clusters: number;
  batch: number;
  repeat_share: number;
  seconds: number;
  events_per_s: number;
  /** CPU time of the process while it ingested (less sensitive to other load on the machine). */
  cpu_seconds: number;
  events_per_cpu_s: number;
  /**
   * The same events through the intake journal (as the sink records a burst): appended in batches of
   * `batch`, each committed (durable), then every incident built, {@link STORE_BATCH} per transaction.
   */
  journal: {
    /** Appends alone: events committed per second (wall, CPU). */
    durable_per_s: number;
    durable_per_cpu_s: number;
    /** The building alone: events built into incidents per CPU second. */
    built_per_cpu_s: number;
    /** Append and build together, per CPU second (what the journal costs in all). */
    total_per_cpu_s: number;
  };
}

/** `count` events as the sink would hand them to the store, a share `repeats` of them repeats. */
export function benchEvents(count: number, clusters: number, repeats: number): IngestItem[] {
  const items: IngestItem[] = [];
  const receivedAt = new Date();
  let distinct = 0;
  for (let i = 0; i < count; i++) {
    const repeat = distinct > 0 && Math.floor((i + 1) * repeats) > Math.floor(i * repeats);
    const seq = repeat ? Math.max(0, distinct - 1 - (i % 50)) : distinct++;
    const cluster = `bench-${(seq % clusters) + 1}`;
    const fault = resolveFault(cluster, { name: `bench-pod-${seq}`, context: `bench|store|${i}|0` }, seq);
    const outcome = classifyNotification(
      { level: "warning", logger: "kubernetes/faults", data: faultPayload(fault, "sub-1", cluster) },
      { name: cluster, labels: {} },
      receivedAt,
    );
    if (outcome.kind !== "fault") throw new Error(`bench event ${i} did not normalise: ${outcome.kind}`);
    items.push({ event: outcome.event as FaultEvent, decision: { action: "skip", reason: "no_agent" } });
  }
  // As the sink gets them: decoded from a worker's batch message, each event with its JSON line.
  const decoded = decodeEventBatch(encodeEventBatch(items.map((item) => item.event)));
  return items.map((item, i) => ({ ...item, event: decoded[i] as FaultEvent }));
}

/** CPU and wall time of `work`. */
function timed(work: () => void): { seconds: number; cpu_seconds: number } {
  const started = performance.now();
  const cpu = process.cpuUsage();
  work();
  const used = process.cpuUsage(cpu);
  return { seconds: (performance.now() - started) / 1000, cpu_seconds: (used.user + used.system) / 1e6 };
}

/** What the journal's run measured: the appends (durable), then the building of every incident. */
export interface JournalBenchTimes {
  append: { seconds: number; cpu_seconds: number };
  build: { seconds: number; cpu_seconds: number };
}

/**
 * Appends `items` to a fresh store's intake journal in batches of `batch` (each committed: durable), then
 * builds all their incidents, {@link STORE_BATCH} per transaction, as the sink does once a burst passed.
 */
export function runJournalBench(items: readonly IngestItem[], batch: number): JournalBenchTimes {
  const dir = mkdtempSync(join(tmpdir(), "faultline-store-bench-"));
  try {
    const store = SqliteStore.open(dir);
    try {
      const append = timed(() => {
        for (let i = 0; i < items.length; i += batch) store.journal.append(items.slice(i, i + batch));
      });
      const build = timed(() => {
        while (store.journal.pending > 0) store.journal.build(STORE_BATCH);
      });
      return { append, build };
    } finally {
      store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Ingests `items` in batches of `batch` into a fresh store in a temporary directory; returns the rate. */
export function runStoreBench(
  items: readonly IngestItem[],
  batch: number,
): { seconds: number; cpu_seconds: number } {
  const dir = mkdtempSync(join(tmpdir(), "faultline-store-bench-"));
  try {
    const store = SqliteStore.open(dir);
    try {
      const started = performance.now();
      const cpu = process.cpuUsage();
      for (let i = 0; i < items.length; i += batch) store.ingest(items.slice(i, i + batch));
      const used = process.cpuUsage(cpu);
      return { seconds: (performance.now() - started) / 1000, cpu_seconds: (used.user + used.system) / 1e6 };
    } finally {
      store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function main(argv: string[]): void {
  setLogLevel("warn");
  const { values } = parseArgs({
    args: argv,
    options: {
      events: { type: "string" },
      clusters: { type: "string" },
      repeats: { type: "string" },
      batch: { type: "string" },
    },
    strict: true,
  });
  const events = Number(values.events ?? "100000");
  const clusters = Number(values.clusters ?? "1000");
  const repeats = Number(values.repeats ?? "0");
  const batch = Number(values.batch ?? String(STORE_BATCH));
  if (!Number.isInteger(events) || events < 1) throw new Error("--events must be a positive integer");
  if (!Number.isInteger(clusters) || clusters < 1) throw new Error("--clusters must be a positive integer");
  if (!Number.isInteger(batch) || batch < 1) throw new Error("--batch must be a positive integer");
  if (!(repeats >= 0 && repeats < 1)) throw new Error("--repeats must be in [0, 1)");
  const items = benchEvents(events, clusters, repeats);
  // One warm-up pass (JIT, page cache), then the measured one.
  runStoreBench(items.slice(0, Math.min(items.length, 10_000)), STORE_BATCH);
  const { seconds, cpu_seconds } = runStoreBench(items, batch);
  runJournalBench(items.slice(0, Math.min(items.length, 10_000)), batch);
  const { append, build } = runJournalBench(items, batch);
  const result: StoreBenchResult = {
    events,
    clusters,
    batch,
    repeat_share: repeats,
    seconds,
    events_per_s: events / seconds,
    cpu_seconds,
    events_per_cpu_s: events / cpu_seconds,
    journal: {
      durable_per_s: events / append.seconds,
      durable_per_cpu_s: events / append.cpu_seconds,
      built_per_cpu_s: events / build.cpu_seconds,
      total_per_cpu_s: events / (append.cpu_seconds + build.cpu_seconds),
    },
  };
  console.log(JSON.stringify(result));
}

if (import.meta.main) main(process.argv.slice(2));
