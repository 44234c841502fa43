/**
 * The sink with a real SQLite store and its intake journal: a burst's batches are committed to the
 * journal first (durable, the stored mark advanced) and built once the channel has been quiet, then
 * handed on; a lone event is recorded as its incident at once, never journaled; however long a burst
 * lasts, its oldest events are built within BUILD_MAX_WAIT_MS; what is journaled when the channel
 * closes is built before the sink ends.
 */
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import type { FaultEvent } from "../../src/events/fault.ts";
import type { IngestResult } from "../../src/incidents/model.ts";
import { SqliteStore } from "../../src/incidents/store.ts";
import { setLogSink } from "../../src/log.ts";
import { Channel } from "../../src/pipeline/channel.ts";
import { BUILD_MAX_WAIT_MS, JOURNAL_MIN_BATCH, runSink } from "../../src/pipeline/sink.ts";
import { StoredMark } from "../../src/pipeline/stored-mark.ts";
import { makeFault } from "../helpers/fault.ts";
import { sinkContext } from "../helpers/sink.ts";
import { tempDir } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

const dir = tempDir("faultline-sink-journal-");
const previousSink = setLogSink(() => {});
afterAll(() => {
  setLogSink(previousSink);
  dir.cleanup();
});

let n = 0;
/** A new fault on prod-eu, received now (the sink's linger counts from it). */
function freshFault(): FaultEvent {
  n++;
  return makeFault({ fault_id: `f-${n}`, at: new Date(), resource: { name: `pod-${n}` } });
}

/** A sink over a fresh store, with what it handed on, the stored mark, and the database to look at. */
function startSink() {
  const stateDir = join(dir.path, `state-${Math.random().toString(36).slice(2)}`);
  const store = SqliteStore.open(stateDir);
  const channel = new Channel<FaultEvent>(100_000);
  const mark = new StoredMark(channel);
  const handedOn: IngestResult[][] = [];
  const appended: number[] = [];
  const journal = store.journal;
  const append = journal.append.bind(journal);
  journal.append = (batch) => {
    append(batch);
    appended.push(batch.length);
  };
  const stopping = new AbortController();
  const sink = runSink(
    sinkContext(channel, store, {
      stored: (results) => handedOn.push([...results]),
      stopping: stopping.signal,
      mark,
    }),
  );
  const db = new Database(join(stateDir, "faultline.db"), { readonly: true });
  const count = (table: string): number =>
    db.query<{ n: number }, []>(`SELECT count(*) AS n FROM ${table}`).get()?.n ?? -1;
  return {
    store,
    channel,
    mark,
    handedOn,
    appended,
    count,
    async stop(): Promise<void> {
      channel.close();
      await sink;
      db.close();
      await store.close();
    },
  };
}

test("a burst's batch is committed to the journal, the mark advanced, and built and handed on once the channel is quiet", async () => {
  const sink = startSink();
  try {
    for (let i = 0; i < 500; i++) sink.channel.push(freshFault());
    await waitFor("the burst handed on", () => sink.handedOn.flat().length === 500);
    expect(sink.appended.reduce((a, b) => a + b, 0)).toBe(500);
    expect(sink.appended[0]).toBeGreaterThanOrEqual(JOURNAL_MIN_BATCH);
    expect(sink.handedOn.flat().every((r) => r.created)).toBe(true);
    expect(sink.count("incidents")).toBe(500);
    expect(sink.count("event_log")).toBe(0);
    expect(sink.mark.done).toBe(500);
  } finally {
    await sink.stop();
  }
});

test(
  "a burst that never pauses: its oldest events are built within the bound all the same",
  async () => {
    const sink = startSink();
    // 34 events every 6 ms: every batch a burst's (≥ JOURNAL_MIN_BATCH), the channel never quiet for
    // BUILD_QUIET_MS, and fewer than JOURNAL_MAX_PENDING over the bound: only the bound builds.
    const feeder = setInterval(() => {
      for (let i = 0; i < 34; i++) sink.channel.push(freshFault());
    }, 6);
    try {
      const started = performance.now();
      await waitFor("events durable in the journal", () => sink.count("event_log") >= 100);
      expect(sink.mark.done).toBeGreaterThanOrEqual(100); // durable: the liveness flush may count on it
      await waitFor("the oldest built", () => sink.handedOn.length > 0, BUILD_MAX_WAIT_MS + 3000);
      expect(performance.now() - started).toBeLessThan(BUILD_MAX_WAIT_MS + 3000);
      expect(Math.min(...sink.appended)).toBeGreaterThanOrEqual(JOURNAL_MIN_BATCH);
    } finally {
      clearInterval(feeder);
      await sink.stop();
    }
    expect(sink.handedOn.flat().length).toBe(sink.channel.accepted);
  },
  BUILD_MAX_WAIT_MS + 10_000,
);

test("the first small batch after a burst says it has passed: what waits is built at once, then the small batch", async () => {
  const sink = startSink();
  // Events arrive every 2 ms after the burst, so the channel is never quiet for BUILD_QUIET_MS.
  let feeder: ReturnType<typeof setInterval> | undefined;
  try {
    for (let i = 0; i < 400; i++) sink.channel.push(freshFault());
    await waitFor("the burst journaled", () => sink.appended.length > 0);
    const started = performance.now();
    feeder = setInterval(() => sink.channel.push(freshFault()), 2);
    await waitFor("the burst built", () => sink.handedOn.flat().length >= 400, 2000);
    expect(performance.now() - started).toBeLessThan(BUILD_MAX_WAIT_MS / 2);
  } finally {
    clearInterval(feeder);
    await sink.stop();
  }
  const order = sink.handedOn.flat().map((r) => r.incident.fault_id);
  expect(order.slice(0, 400)).toEqual(
    order.slice(0, 400).sort((a, b) => Number(a.slice(2)) - Number(b.slice(2))),
  );
  expect(order.length).toBe(sink.channel.accepted);
});

test("a lone event is recorded as its incident at once: nothing goes through the journal", async () => {
  const sink = startSink();
  try {
    for (let i = 0; i < 5; i++) {
      sink.channel.push(freshFault());
      await waitFor("handed on", () => sink.handedOn.flat().length === i + 1);
    }
    expect(sink.appended).toEqual([]);
    expect(sink.count("incidents")).toBe(5);
  } finally {
    await sink.stop();
  }
});

test("what is journaled when the channel closes is built before the sink ends", async () => {
  const sink = startSink();
  for (let i = 0; i < 300; i++) sink.channel.push(freshFault());
  await waitFor("journaled", () => sink.appended.length > 0);
  await sink.stop(); // closes at once: the quiet wait ends, the rest is taken, then built
  expect(sink.handedOn.flat().length).toBe(300);
  const db = new Database(join(sink.store.location), { readonly: true });
  try {
    expect(db.query<{ n: number }, []>("SELECT count(*) AS n FROM event_log").get()?.n).toBe(0);
    expect(db.query<{ n: number }, []>("SELECT count(*) AS n FROM incidents").get()?.n).toBe(300);
  } finally {
    db.close();
  }
});
