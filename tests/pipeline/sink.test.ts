/**
 * The sink with a real store: what each stored batch hands on (the store's results, so the app wakes the
 * notifier only when incidents were opened), and its per-incident log lines (skipped at warn and above);
 * the same over a store without an intake journal (as PostgreSQL's): each batch ingested at once.
 */
import { afterAll, afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import type { FaultEvent } from "../../src/events/fault.ts";
import type { IngestResult } from "../../src/incidents/model.ts";
import { SqliteStore } from "../../src/incidents/store.ts";
import { setLogLevel, setLogSink } from "../../src/log.ts";
import { Channel } from "../../src/pipeline/channel.ts";
import { runSink } from "../../src/pipeline/sink.ts";
import { makeFault } from "../helpers/fault.ts";
import { sinkContext } from "../helpers/sink.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir("faultline-sink-");
const previousSink = setLogSink(() => {});
afterEach(() => {
  setLogLevel("info");
});

/**
 * Runs a sink over a fresh store; pushes `batches` one after another (each once the previous is stored).
 * With `withoutJournal`, the store has no intake journal (as PostgreSQL's) and its ingests are counted.
 */
async function sinkOver(
  batches: FaultEvent[][],
  withoutJournal = false,
): Promise<{ stored: IngestResult[][]; lines: string[]; ingests: number[] }> {
  const lines: string[] = [];
  setLogSink((line) => lines.push(line));
  const store = SqliteStore.open(join(dir.path, `state-${Math.random().toString(36).slice(2)}`));
  const ingests: number[] = [];
  if (withoutJournal) {
    Object.defineProperty(store, "journal", { value: undefined });
    const ingest = store.ingest.bind(store);
    store.ingest = (batch) => {
      ingests.push(batch.length);
      return ingest(batch);
    };
  }
  const channel = new Channel<FaultEvent>(100);
  const stored: IngestResult[][] = [];
  let next = (): void => {};
  const stopping = new AbortController();
  const sink = runSink(
    sinkContext(channel, store, {
      stored: (results) => {
        stored.push([...results]);
        next();
      },
      stopping: stopping.signal,
    }),
  );
  try {
    for (const batch of batches) {
      const done = new Promise<void>((resolve) => {
        next = resolve;
      });
      for (const event of batch) channel.push(event);
      await done;
    }
  } finally {
    channel.close();
    await sink;
    await store.close();
    setLogSink(() => {});
  }
  return { stored, lines, ingests };
}

test("each stored batch hands on the store's results: an opened incident, then a repeat that opened none", async () => {
  const first = makeFault({ fault_id: "a" });
  const { stored } = await sinkOver([[first], [{ ...first, received_at: "2026-11-25T03:05:13.000Z" }]]);
  expect(
    stored.map((results) => results.map((r) => [r.incident.fault_id, r.created, r.incident.count])),
  ).toEqual([[["a", true, 1]], [["a", false, 2]]]);
  expect(stored.flat().some((r) => r.queued)).toBe(false); // no agent: recorded, not queued
});

test("a store without a journal: each batch is ingested at once and handed on, one stored() per batch", async () => {
  const first = makeFault({ fault_id: "a" });
  const { stored, ingests } = await sinkOver(
    [[first], [{ ...first, received_at: "2026-11-25T03:05:13.000Z" }, makeFault({ fault_id: "b" })]],
    true,
  );
  expect(ingests).toEqual([1, 2]);
  expect(
    stored.map((results) => results.map((r) => [r.incident.fault_id, r.created, r.incident.count])),
  ).toEqual([
    [["a", true, 1]],
    [
      ["a", false, 2],
      ["b", true, 1],
    ],
  ]);
});

test("per-incident lines are written at info, none at warn", async () => {
  const atInfo = await sinkOver([[makeFault({ fault_id: "a" })]]);
  expect(atInfo.lines.map((line) => JSON.parse(line).msg)).toContain("incident recorded, not triaged");
  setLogLevel("warn");
  const atWarn = await sinkOver([[makeFault({ fault_id: "b" })]]);
  expect(atWarn.lines).toEqual([]);
  expect(atWarn.stored.flat().map((r) => r.created)).toEqual([true]);
});

afterAll(() => {
  setLogSink(previousSink);
  dir.cleanup();
});
