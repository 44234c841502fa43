/**
 * The dedup window in memory: on its own, and through the store, where it must answer exactly as the
 * database would (another writer, an event that waited long, a restart, retention, a changed window).
 */
import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { DedupWindow, WINDOW_SLACK_MS } from "../../src/incidents/dedup-window.ts";
import { faultKey } from "../../src/incidents/fault-key.ts";
import type { IngestItem } from "../../src/incidents/model.ts";
import type { IncidentStoreOptions } from "../../src/incidents/settings.ts";
import { SqliteStore } from "../../src/incidents/store.ts";
import { setLogLevel, setLogSink } from "../../src/log.ts";
import { makeFault } from "../helpers/fault.ts";
import { tempDir } from "../helpers/tmp.ts";

const T0 = Date.parse("2026-11-25T03:00:00.000Z");
const WINDOW_MS = 300_000;

describe("DedupWindow", () => {
  test("knows a fault's incident within the window, says none outside it, and unknown before it is warmed", () => {
    const window = new DedupWindow(WINDOW_MS);
    expect(window.lookup("a", "f", T0)).toBe("unknown");
    window.warm([{ seq: 1, cluster: "a", fault_id: "f", last_seen_ms: T0 }], T0 - WINDOW_MS);
    expect(window.lookup("a", "f", T0 + WINDOW_MS)).toEqual({ seq: 1, lastSeenMs: T0 });
    expect(window.lookup("a", "f", T0 + WINDOW_MS + 1)).toBe("none");
    expect(window.lookup("a", "g", T0)).toBe("none");
    expect(window.lookup("b", "f", T0)).toBe("none");
    // Reaching back before what was loaded: the database must say.
    expect(window.lookup("a", "g", T0 - 1)).toBe("unknown");
  });

  test("the latest incident of a fault wins; pruning and the bound make older lookups ask the database", () => {
    const window = new DedupWindow(WINDOW_MS, 2);
    window.warm([], T0);
    window.seen("a", "f", 1, T0 + 1);
    window.seen("a", "f", 2, T0 + 2);
    expect(window.lookup("a", "f", T0 + 2)).toEqual({ seq: 2, lastSeenMs: T0 + 2 });
    window.seen("a", "g", 3, T0 + 3);
    window.seen("a", "h", 4, T0 + 4); // past the bound: f (last seen T0 + 2) is dropped
    expect(window.size).toBe(2);
    expect(window.lookup("a", "f", T0 + 2)).toBe("unknown");
    expect(window.lookup("a", "f", T0 + WINDOW_MS + 3)).toBe("none");
    window.prune(T0 + 3 + WINDOW_MS + WINDOW_SLACK_MS + 1); // g goes, h stays
    expect(window.size).toBe(1);
    expect(window.lookup("a", "g", T0 + WINDOW_MS + 3)).toBe("unknown");
    expect(window.lookup("a", "h", T0 + 4)).toEqual({ seq: 4, lastSeenMs: T0 + 4 });
  });

  test("warmed with more incidents than the bound, it asks the database about the ones it dropped", () => {
    const window = new DedupWindow(WINDOW_MS, 2);
    const rows = ["f", "g", "h"].map((fault_id, i) => ({
      seq: i + 1,
      cluster: "a",
      fault_id,
      last_seen_ms: T0 + i,
    }));
    window.warm(rows, T0 - WINDOW_MS);
    expect(window.size).toBe(2);
    // f (last seen T0) was dropped: only the database knows it. Not "none", which opens a second incident.
    expect(window.lookup("a", "f", T0 + 10)).toBe("unknown");
    expect(window.lookup("a", "g", T0 + 10)).toEqual({ seq: 2, lastSeenMs: T0 + 1 });
    // A fault never seen, looked up past the dropped one's time: the window is complete there.
    expect(window.lookup("a", "new", T0 + WINDOW_MS + 1)).toBe("none");
    expect(window.takeSpilled()).toEqual([{ cluster: "a", faultId: "f", seq: 1, lastSeenMs: T0 }]);
  });

  test("entries dropped past the bound are spilled once; pruned ones are not, and narrow what is covered", () => {
    const window = new DedupWindow(WINDOW_MS, 1);
    window.warm([], T0);
    expect(window.coveredFromMs).toBe(T0);
    window.seen("a", "f\u0000x", 1, T0 + 1); // a fault id may hold a NUL; a cluster name cannot
    window.seen("b", "g", 2, T0 + 2);
    expect(window.takeSpilled()).toEqual([{ cluster: "a", faultId: "f\u0000x", seq: 1, lastSeenMs: T0 + 1 }]);
    expect(window.takeSpilled()).toEqual([]);
    window.prune(T0 + 2 + WINDOW_MS + WINDOW_SLACK_MS + 1);
    expect(window.size).toBe(0);
    expect(window.takeSpilled()).toEqual([]);
    expect(window.coveredFromMs).toBe(T0 + 3);
    window.reset(WINDOW_MS);
    expect(window.coveredFromMs).toBe(Number.POSITIVE_INFINITY);
  });
});

describe("the store's window answers as the database would", () => {
  const stores: SqliteStore[] = [];
  let dir = tempDir("faultline-window-");
  let nowMs = T0;
  afterEach(() => {
    for (const store of stores.splice(0)) store.close();
    dir.cleanup();
    dir = tempDir("faultline-window-");
    nowMs = T0;
  });
  const open = (
    dedupWindowSeconds = WINDOW_MS / 1000,
    options: Pick<IncidentStoreOptions, "dedupWindowEntries" | "buildJournal"> = {},
  ): SqliteStore => {
    const store = SqliteStore.open(join(dir.path, "state"), {
      now: () => new Date(nowMs),
      dedupWindowSeconds,
      ...options,
    });
    stores.push(store);
    return store;
  };
  /** Closes every store opened: as faultline stopping, before it starts again. */
  const stop = (): void => {
    for (const store of stores.splice(0)) store.close();
  };
  /** The rows of `dedup_spill`, read by a connection of its own. */
  const spillRows = (): { fault_key: number; seq: number }[] => {
    const db = new Database(join(dir.path, "state", "faultline.db"), { readonly: true });
    try {
      return db.query<{ fault_key: number; seq: number }, []>("SELECT fault_key, seq FROM dedup_spill").all();
    } finally {
      db.close();
    }
  };
  const item = (faultId: string, atMs: number): IngestItem => ({
    event: makeFault({ fault_id: faultId, at: new Date(atMs) }),
    decision: { action: "skip", reason: "no_agent" },
  });

  test("a fault another writer opened is joined, not opened twice", () => {
    const mine = open();
    const theirs = open();
    mine.ingest([item("f", T0)]); // warms this store's window
    theirs.ingest([item("g", T0 + 1)]);
    const [joined] = mine.ingest([item("g", T0 + 2)]);
    expect(joined?.created).toBe(false);
    expect(joined?.incident.count).toBe(2);
    expect(mine.list().map((i) => [i.fault_id, i.count])).toEqual([
      ["g", 2],
      ["f", 1],
    ]);
  });

  test("new incidents are numbered after another writer's: the next seq kept across batches is asked again", () => {
    const mine = open();
    const theirs = open();
    mine.ingest([item("f", T0)]); // this store now counts on the next seq itself
    theirs.ingest([item("g", T0 + 1)]); // takes that seq
    const [opened] = mine.ingest([item("h", T0 + 2)]);
    expect(opened?.created).toBe(true);
    const ids = mine.list().map((i) => i.id);
    expect(new Set(ids).size).toBe(3);
    expect(mine.list().map((i) => i.fault_id)).toEqual(["h", "g", "f"]);
  });

  test("an event that waited longer than the window reaches is looked up in the database", () => {
    const store = open();
    store.ingest([item("f", T0)]);
    // The store's clock is far ahead (the batch waited while the disk was full); the event is not.
    nowMs = T0 + 3 * WINDOW_MS;
    const [late] = store.ingest([item("f", T0 + WINDOW_MS - 1)]);
    expect(late?.created).toBe(false);
    expect(late?.incident.count).toBe(2);
  });

  test("after a restart the window is warmed from the database: a repeat joins its incident", () => {
    open().ingest([item("f", T0)]);
    stop();
    nowMs = T0 + 1000;
    const [repeat] = open().ingest([item("f", T0 + 1000)]);
    expect(repeat?.created).toBe(false);
    expect(repeat?.incident.count).toBe(2);
  });

  test("after a restart with more open incidents than the window holds, a repeat of any joins its incident", () => {
    open().ingest(["f", "g", "h"].map((faultId, i) => item(faultId, T0 + i)));
    stop();
    nowMs = T0 + 1000;
    const store = open(WINDOW_MS / 1000, { dedupWindowEntries: 2 }); // warmed with three: f, the oldest, is dropped
    const repeats = store.ingest(["f", "g", "h"].map((faultId) => item(faultId, T0 + 1000)));
    expect(repeats.map((r) => [r.incident.fault_id, r.created, r.incident.count])).toEqual([
      ["f", false, 2],
      ["g", false, 2],
      ["h", false, 2],
    ]);
  });

  test("a fault the window dropped past its bound is kept in the spill, and its repeat joins its incident", () => {
    const store = open(WINDOW_MS / 1000, { dedupWindowEntries: 2 });
    store.ingest([item("f", T0)]);
    store.ingest([item("g", T0 + 1), item("h", T0 + 2)]); // f is dropped: spilled
    expect(spillRows()).toEqual([{ fault_key: faultKey("prod-eu", "f"), seq: 1 }]);
    const [repeat] = store.ingest([item("f", T0 + 3)]);
    expect([repeat?.created, repeat?.incident.count]).toEqual([false, 2]);
  });

  test("spilled faults no lookup can need any more leave the spill", () => {
    const store = open(WINDOW_MS / 1000, { dedupWindowEntries: 1 });
    store.ingest([item("f", T0), item("g", T0 + 1)]); // f spilled
    expect(spillRows()).toHaveLength(1);
    nowMs = T0 + WINDOW_MS + WINDOW_SLACK_MS + 10; // f, last seen at T0, is out of every lookup's reach
    store.ingest([item("h", nowMs)]);
    expect(spillRows()).toHaveLength(0);
  });

  test("a batch a little older than the one before (events reordered within the slack) does not warm it again", () => {
    const lines: string[] = [];
    const previousSink = setLogSink((line) => lines.push(line));
    setLogLevel("debug");
    try {
      const store = open();
      nowMs = T0 + 10_000;
      store.ingest([item("f", T0 + 10_000)]);
      store.ingest([item("g", T0 + 9_000)]);
      store.ingest([item("h", T0 + 9_900), item("f", T0 + 9_950)]);
      expect(lines.filter((line) => line.includes("dedup window warmed"))).toHaveLength(1);
    } finally {
      setLogSink(previousSink);
      setLogLevel("info"); // tests/setup.ts's level
    }
  });

  test("during a storm that keeps the window full, the spill keeps only what a lookup can still need", () => {
    const store = open(WINDOW_MS / 1000, { dedupWindowEntries: 5 });
    for (let step = 0; step < 120; step++) {
      nowMs = T0 + step * 10_000; // 20 minutes, two new faults every 10 s
      store.ingest([item(`a-${step}`, nowMs), item(`b-${step}`, nowMs)]);
    }
    const spilled = spillRows().length;
    // The window and its slack hold 72 of the 240; a prune a minute lets at most 12 more wait.
    expect(spilled).toBeGreaterThan(0);
    expect(spilled).toBeLessThanOrEqual(72 + 12);
  });

  test("an event older than the window reaches back warms it again from further back: it joins its incident", () => {
    open().ingest([item("f", T0)]);
    stop();
    nowMs = T0 + 10 * WINDOW_MS;
    const store = open();
    store.ingest([item("g", nowMs)]); // warmed: covers only the last window (and the slack)
    // An event received just after f, built only now (a previous run journaled it, say).
    const [late] = store.ingest([item("f", T0 + 1)]);
    expect([late?.created, late?.incident.count]).toEqual([false, 2]);
  });

  test("a repeat a previous run journaled and did not build joins its incident, however long ago that was", () => {
    const first = open();
    first.ingest([item("f", T0)]);
    first.journal?.append([item("f", T0 + 1000)]); // committed, not built: faultline stopped
    stop();
    nowMs = T0 + 10 * WINDOW_MS;
    const store = open(WINDOW_MS / 1000, { buildJournal: true }); // as faultline run: the leftover is built at open
    expect(store.list().map((i) => [i.fault_id, i.count])).toEqual([["f", 2]]);
  });

  test("an incident deleted by retention is not joined: the repeat opens a new one", () => {
    const store = open(10 * 86_400); // a window longer than retention keeps incidents
    store.ingest([item("f", T0)]);
    const pruned = store.maintenance.pruneFinished(new Date(T0 + 1), 10);
    expect(pruned.ids).toHaveLength(1);
    const [repeat] = store.ingest([item("f", T0 + 2)]);
    expect(repeat?.created).toBe(true);
    expect(repeat?.incident.count).toBe(1);
  });

  test("a longer window set by a reload reaches incidents the shorter one had let go", () => {
    const store = open(60);
    store.ingest([item("f", T0)]);
    nowMs = T0 + 200_000;
    store.ingest([item("other", nowMs)]); // prunes nothing yet (slack), but the window is 60 s
    store.configure({ dedupWindowSeconds: 300 });
    const [repeat] = store.ingest([item("f", nowMs)]);
    expect(repeat?.created).toBe(false);
    expect(repeat?.incident.count).toBe(2);
  });
});
