/**
 * The sink with a real SQLite store and its intake journal: a burst's batches are committed to the
 * journal first (durable, the stored mark advanced) and built once the burst has passed, then handed on;
 * a steady rate's small batches are journaled too and built in one transaction per `steadyBuildMs`; a
 * lone event is built once the channel has been quiet; a burst is built once its rate has left the
 * window (`burstEndMs`, `IntakeRate`), not at a lull inside it; a burst that never pauses is built within the wait bound; what is journaled
 * when the channel closes is built before the sink ends; a stop while the store fails ends the sink and
 * leaves the entries for the next start. `journalBuildDue`'s rules are checked on their own, with a
 * real channel.
 */
import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { dirname, join } from "node:path";
import type { FaultEvent } from "../../src/events/fault.ts";
import type { IngestResult } from "../../src/incidents/model.ts";
import { SqliteStore } from "../../src/incidents/store.ts";
import { setLogSink } from "../../src/log.ts";
import { Channel } from "../../src/pipeline/channel.ts";
import {
  IntakeRate,
  JOURNAL_LIMITS,
  type JournalLimits,
  journalBuildDue,
  runSink,
} from "../../src/pipeline/sink.ts";
import { StoredMark } from "../../src/pipeline/stored-mark.ts";
import { makeFault } from "../helpers/fault.ts";
import { intakeWaiting } from "../helpers/intake.ts";
import { sinkContext } from "../helpers/sink.ts";
import { tempDir } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

const dir = tempDir("faultline-sink-journal-");
const lines: string[] = [];
const previousSink = setLogSink((line) => lines.push(line));
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

/** From the sink's first append on, `perTick` new faults every `everyMs` (a burst that goes on). */
interface Feed {
  everyMs: number;
  perTick: number;
}

/**
 * A sink over a fresh store, with what it handed on, the stored mark, and the database to look at;
 * with `feed`, fed from its first append on (`feedStartedAt`) until it stops.
 */
function startSink(limits: Partial<JournalLimits> = {}, feed?: Feed) {
  let feeder: ReturnType<typeof setInterval> | undefined;
  const fed = { startedAt: Number.NaN };
  const onAppend = () => {
    if (feed === undefined || feeder !== undefined) return;
    fed.startedAt = performance.now();
    feeder = setInterval(() => {
      for (let i = 0; i < feed.perTick; i++) channel.push(freshFault());
    }, feed.everyMs);
  };
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
    onAppend();
  };
  const stopping = new AbortController();
  const sink = runSink(
    sinkContext(channel, store, {
      stored: (results) => handedOn.push([...results]),
      stopping: stopping.signal,
      mark,
      journalLimits: { ...JOURNAL_LIMITS, ...limits },
    }),
  );
  const file = join(stateDir, "faultline.db");
  const db = new Database(file, { readonly: true });
  /** Rows in `table`; for "journal", the journal's entries not built yet (its file's lines above the mark). */
  const count = (table: string): number =>
    table === "journal"
      ? intakeWaiting(stateDir).length
      : (db.query<{ n: number }, []>(`SELECT count(*) AS n FROM ${table}`).get()?.n ?? -1);
  return {
    store,
    file,
    channel,
    mark,
    handedOn,
    appended,
    count,
    stopping,
    sink,
    fed,
    async stop(): Promise<void> {
      clearInterval(feeder);
      channel.close();
      await sink;
      db.close();
      await store.close();
    },
  };
}

/** Every event the channel accepted was built and handed on, in the order received. */
function expectAllBuiltInOrder(sink: ReturnType<typeof startSink>): void {
  const built = sink.handedOn.flat().map((r) => Number(r.incident.fault_id.slice(2)));
  expect(built).toEqual([...built].sort((a, b) => a - b));
  expect(built.length).toBe(sink.channel.accepted);
}

test("a burst's batch is committed to the journal, the mark advanced, and built and handed on once the channel is quiet", async () => {
  const sink = startSink();
  try {
    for (let i = 0; i < 500; i++) sink.channel.push(freshFault());
    await waitFor("the burst handed on", () => sink.handedOn.flat().length === 500);
    expect(sink.appended.reduce((a, b) => a + b, 0)).toBe(500);
    expect(sink.appended[0]).toBeGreaterThanOrEqual(JOURNAL_LIMITS.minBatch);
    expect(sink.handedOn.flat().every((r) => r.created)).toBe(true);
    expect(sink.count("incidents")).toBe(500);
    expect(sink.count("journal")).toBe(0);
    expect(sink.mark.done).toBe(500);
  } finally {
    await sink.stop();
  }
});

test("small batches for burstEndMs after a burst say it has passed: what waits is built then", async () => {
  // Quiet would take 5 s here: only the small batches (one event every 2 ms) can start the build.
  const sink = startSink({ quietMs: 5000, maxWaitMs: 60_000 }, { everyMs: 2, perTick: 1 });
  try {
    for (let i = 0; i < 400; i++) sink.channel.push(freshFault());
    await waitFor("the burst built", () => sink.handedOn.flat().length >= 400, 3000);
    expect(performance.now() - sink.fed.startedAt).toBeLessThan(2000);
  } finally {
    await sink.stop();
  }
  expectAllBuiltInOrder(sink);
});

test("a lull inside a burst builds nothing: what waits is built once the burst's rate has left the window (burstEndMs)", async () => {
  // A window of 1 s (a burst: 8,000 events in it); 10,000 events at once, then one every 2 ms (a lull),
  // quiet never reached: only the burst leaving the window can start the build.
  const sink = startSink(
    { quietMs: 60_000, maxWaitMs: 60_000, steadyBuildMs: 0, burstEndMs: 1000 },
    { everyMs: 2, perTick: 1 },
  );
  try {
    for (let i = 0; i < 10_000; i++) sink.channel.push(freshFault());
    await waitFor("built", () => sink.handedOn.length > 0, 5000);
    expect(performance.now() - sink.fed.startedAt).toBeGreaterThanOrEqual(900);
    expect(sink.appended.some((size) => size < JOURNAL_LIMITS.minBatch)).toBe(true); // the lull's batches
  } finally {
    await sink.stop();
  }
  expectAllBuiltInOrder(sink);
});

describe("IntakeRate", () => {
  test("a burst's batch, and a lull inside the burst while its batches are in the window; a small batch after it is steady", () => {
    const intake = new IntakeRate(20, 32);
    expect(intake.took(400, 0)).toBe(true);
    expect(intake.took(1, 10)).toBe(true); // a lull: the 400 are in the window
    expect(intake.took(1, 19.9)).toBe(true);
    expect(intake.took(1, 20)).toBe(false); // out of it
  });

  test("a steady rate: small batches are steady; one bigger batch (what came during a build) is one batch, not a burst", () => {
    const intake = new IntakeRate(20, 32);
    // 3,500 events a second: 14 every 4 ms (56-70 in the window, under 160).
    for (let at = 0; at < 100; at += 4) expect(intake.took(14, at)).toBe(false);
    expect(intake.took(38, 107)).toBe(true); // 32 or more: this batch is a burst's
    expect(intake.took(14, 111)).toBe(false); // and the next small one is steady again
    // 9,000 a second in batches of 30: steady batch by batch, a burst by the window once it holds 160.
    const fast = new IntakeRate(20, 32);
    expect([0, 3.33, 6.67, 10, 13.33, 16.67].map((at) => fast.took(30, at))).toEqual([
      false,
      false,
      false,
      false,
      false,
      true,
    ]);
  });
});

test("a burst that never pauses is built all the same once its oldest event has waited the bound", async () => {
  // 40 events every 5 ms: every batch a burst's, never a quiet second.
  const sink = startSink({ quietMs: 1000, maxWaitMs: 500 }, { everyMs: 5, perTick: 40 });
  try {
    for (let i = 0; i < 100; i++) sink.channel.push(freshFault());
    await waitFor("the oldest built", () => sink.handedOn.length > 0, 5000);
    expect(performance.now() - sink.fed.startedAt).toBeLessThan(3000);
    expect(sink.mark.done).toBeGreaterThan(100); // the later batches were journaled meanwhile
    expect(Math.min(...sink.appended)).toBeGreaterThanOrEqual(JOURNAL_LIMITS.minBatch);
  } finally {
    await sink.stop();
  }
  expect(sink.handedOn.flat().length).toBe(sink.channel.accepted);
}, 15_000);

test("a steady rate: every small batch is journaled (durable at once), and built in one transaction per steadyBuildMs", async () => {
  // One event every 2 ms, never a quiet moment: only the steady rule can build.
  const sink = startSink(
    { quietMs: 60_000, maxWaitMs: 60_000, steadyBuildMs: 100 },
    { everyMs: 2, perTick: 1 },
  );
  try {
    sink.channel.push(freshFault());
    await waitFor("three builds", () => sink.handedOn.length >= 3, 5000);
    // Each batch committed to the journal as it came (small: a steady rate's), the mark advanced with it.
    expect(Math.max(...sink.appended)).toBeLessThan(JOURNAL_LIMITS.minBatch);
    // Many appends per build.
    expect(sink.appended.length).toBeGreaterThan(sink.handedOn.length * 5);
    // A build takes what ~100 ms of appends left (~50 events), not each batch on its own.
    const sizes = sink.handedOn.slice(1, 3).map((built) => built.length);
    for (const size of sizes) expect(size).toBeGreaterThan(10);
  } finally {
    await sink.stop();
  }
  expectAllBuiltInOrder(sink);
});

test("a steady rate: a build holds at most about steadyBuildEvents events, however long steadyBuildMs is", async () => {
  // Four events every 2 ms (small batches: a steady rate's), no quiet moment, no time bound within reach:
  // only the count bounds the builds.
  const sink = startSink(
    { quietMs: 60_000, maxWaitMs: 60_000, steadyBuildMs: 60_000, steadyBuildEvents: 30 },
    { everyMs: 2, perTick: 4 },
  );
  try {
    sink.channel.push(freshFault());
    await waitFor("four builds", () => sink.handedOn.length >= 4, 5000);
    expect(Math.max(...sink.appended)).toBeLessThan(JOURNAL_LIMITS.minBatch);
    // Each build: the 30 that made it due, plus about the one batch appended before it was checked (a
    // stall of the machine may let one batch grow: the median is held to it).
    const sizes = sink.handedOn.slice(0, 4).map((built) => built.length);
    for (const size of sizes) expect(size).toBeGreaterThanOrEqual(30);
    expect([...sizes].sort((a, b) => a - b)[1]).toBeLessThan(30 + JOURNAL_LIMITS.minBatch);
  } finally {
    await sink.stop();
  }
  expectAllBuiltInOrder(sink);
});

test("a lone event is journaled, then built once the channel has been quiet for quietMs", async () => {
  const sink = startSink({ quietMs: 20, steadyBuildMs: 60_000 });
  try {
    for (let i = 0; i < 5; i++) {
      sink.channel.push(freshFault());
      await waitFor("handed on", () => sink.handedOn.flat().length === i + 1);
    }
    expect(sink.appended).toEqual([1, 1, 1, 1, 1]);
    expect(sink.handedOn.map((built) => built.length)).toEqual([1, 1, 1, 1, 1]);
    expect(sink.count("incidents")).toBe(5);
    expect(sink.count("journal")).toBe(0);
  } finally {
    await sink.stop();
  }
});

test("what is journaled when the channel closes is built before the sink ends", async () => {
  const sink = startSink({ quietMs: 60_000, maxWaitMs: 60_000 });
  for (let i = 0; i < 300; i++) sink.channel.push(freshFault());
  await waitFor("journaled", () => sink.appended.length > 0);
  expect(sink.handedOn).toEqual([]);
  await sink.stop();
  expect(sink.handedOn.flat().length).toBe(300);
  const db = new Database(sink.file, { readonly: true });
  try {
    expect(intakeWaiting(dirname(sink.file))).toEqual([]);
    expect(db.query<{ n: number }, []>("SELECT count(*) AS n FROM incidents").get()?.n).toBe(300);
  } finally {
    db.close();
  }
});

test("stopping while the store cannot build: the sink ends, and the entries wait in the journal for the next start", async () => {
  // Due at once, always (the oldest has waited the bound): a loop that retried a build given up on
  // would never yield again.
  const sink = startSink({ quietMs: 5, maxWaitMs: 1 });
  // Every insert into events fails (as a full disk would fail the build's commit); appends still work.
  const other = new Database(sink.file);
  other.exec("CREATE TRIGGER poison BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'poisoned'); END");
  try {
    for (let i = 0; i < 100; i++) sink.channel.push(freshFault());
    await waitFor("a build failed", () => lines.some((l) => l.includes("events not stored yet")));
    sink.stopping.abort();
    sink.channel.close();
    const ended = await Promise.race([sink.sink.then(() => true), Bun.sleep(3000).then(() => false)]);
    expect(ended).toBe(true);
    expect(sink.count("journal")).toBe(100);
    expect(sink.count("incidents")).toBe(0);
    expect(lines.some((l) => l.includes("journaled events left to build at the next start"))).toBe(true);
  } finally {
    other.exec("DROP TRIGGER poison");
    other.close();
    await sink.stop();
  }
  const next = SqliteStore.open(join(sink.file, ".."), { buildJournal: true });
  try {
    expect(next.list({ limit: 1000 })).toHaveLength(100);
  } finally {
    next.close();
  }
});

describe("journalBuildDue", () => {
  const limits: JournalLimits = {
    minBatch: 32,
    maxPending: 100,
    maxPendingChars: 1000,
    quietMs: 30,
    maxWaitMs: 500,
    steadyBuildMs: 50,
    steadyBuildEvents: 40,
    burstEndMs: 20,
  };
  const waiting = (over: Partial<{ pending: number; pendingChars: number; waitedMs: number }> = {}) => ({
    pending: over.pending ?? 10,
    pendingChars: over.pendingChars ?? 100,
    oldestWaitMs: () => over.waitedMs ?? 0,
  });

  test("too many events, too many characters, or the oldest waited the bound: due at once, whatever the channel holds", async () => {
    const busy = new Channel<FaultEvent>(10);
    busy.push(freshFault());
    expect(await journalBuildDue(waiting({ pending: 100 }), busy, limits, false)).toBe(true);
    expect(await journalBuildDue(waiting({ pendingChars: 1000 }), busy, limits, false)).toBe(true);
    expect(await journalBuildDue(waiting({ waitedMs: 500 }), busy, limits, false)).toBe(true);
    expect(await journalBuildDue(waiting(), busy, limits, false)).toBe(false);
  });

  test("an empty channel: due after quietMs of nothing; not due when an event arrives first or it closes", async () => {
    const quiet = new Channel<FaultEvent>(10);
    const started = performance.now();
    expect(await journalBuildDue(waiting(), quiet, limits, false)).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(limits.quietMs - 2);
    const arriving = new Channel<FaultEvent>(10);
    setTimeout(() => arriving.push(freshFault()), 5);
    expect(await journalBuildDue(waiting(), arriving, limits, false)).toBe(false);
    const closing = new Channel<FaultEvent>(10);
    setTimeout(() => closing.close(), 5);
    expect(await journalBuildDue(waiting(), closing, limits, false)).toBe(false);
  });

  test("at a steady rate: due once the oldest waited steadyBuildMs or steadyBuildEvents wait, events arriving or not; an empty channel waits no longer than that", async () => {
    const busy = new Channel<FaultEvent>(10);
    busy.push(freshFault());
    expect(await journalBuildDue(waiting({ waitedMs: 50 }), busy, limits, true)).toBe(true);
    expect(await journalBuildDue(waiting({ waitedMs: 50 }), busy, limits, false)).toBe(false); // a burst goes on
    expect(await journalBuildDue(waiting({ waitedMs: 49 }), busy, limits, true)).toBe(false);
    // steadyBuildEvents waiting: due however short the wait (not in a burst: it is built once it passed).
    expect(await journalBuildDue(waiting({ pending: 40 }), busy, limits, true)).toBe(true);
    expect(await journalBuildDue(waiting({ pending: 39 }), busy, limits, true)).toBe(false);
    expect(await journalBuildDue(waiting({ pending: 40 }), busy, limits, false)).toBe(false);
    // 45 of 50 ms waited, the channel empty: due after ~5 ms, not the second of quiet.
    const quiet = new Channel<FaultEvent>(10);
    const started = performance.now();
    expect(await journalBuildDue(waiting({ waitedMs: 45 }), quiet, { ...limits, quietMs: 1000 }, true)).toBe(
      true,
    );
    expect(performance.now() - started).toBeLessThan(500);
  });
});
