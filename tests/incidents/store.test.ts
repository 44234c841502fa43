import { Database } from "bun:sqlite";
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  closeSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import type { AgentOutcome } from "../../src/agent/runner.ts";
import type { FaultEvent, Severity } from "../../src/events/fault.ts";
import {
  type Incident,
  IncidentStateError,
  type IngestItem,
  type RouteDecision,
  StoreError,
} from "../../src/incidents/model.ts";
import { DB_FILE, openStoreDatabase, PAGE_CACHE_KIB } from "../../src/incidents/open.ts";
import { SCHEMA_VERSION } from "../../src/incidents/schema.ts";
import type { IncidentStoreOptions } from "../../src/incidents/settings.ts";
import { SqliteStore } from "../../src/incidents/store.ts";
import { setLogSink } from "../../src/log.ts";
import { errnoCode } from "../../src/runtime/errno.ts";
import { ingestOne, makeFault, makeOutcome } from "../helpers/fault.ts";
import { tempDir } from "../helpers/tmp.ts";

const STORE_MODULE = join(import.meta.dir, "../../src/incidents/store.ts");
const T0 = Date.parse("2026-11-25T03:00:00.000Z");
const TRIAGE: RouteDecision = { action: "triage" };
/** Full-disk tests mount a small tmpfs; without the privilege to, they are skipped. */
const TMPFS = canMountTmpfs();

let dir: { path: string; cleanup: () => void };
let stateDir: string;
let nowMs: number;
let stores: SqliteStore[];
let logLines: Record<string, unknown>[];
let restoreSink: (line: string) => void;

beforeEach(() => {
  dir = tempDir("faultline-store-");
  stateDir = join(dir.path, "state");
  nowMs = T0;
  stores = [];
  logLines = [];
  restoreSink = setLogSink((line) => logLines.push(JSON.parse(line)));
});

afterEach(() => {
  for (const store of stores) store.close();
  setLogSink(restoreSink);
  dir.cleanup();
});

function openStore(options: IncidentStoreOptions = {}, where = stateDir): SqliteStore {
  const store = SqliteStore.open(where, { now: () => new Date(nowMs), ...options });
  stores.push(store);
  return store;
}

/** An event received `offsetSeconds` after T0. */
function faultEvent(
  offsetSeconds: number,
  overrides: { cluster?: string; fault_id?: string; severity?: Severity } = {},
): FaultEvent {
  return makeFault({
    cluster: overrides.cluster ?? "prod-eu",
    labels: { env: "prod" },
    fault_id: overrides.fault_id ?? "fault-1",
    severity: overrides.severity ?? "critical",
    resource: { uid: "u-1" },
    raw: { sent: ["as", "is"] },
    at: new Date(T0 + offsetSeconds * 1000),
  });
}

function item(event: FaultEvent, decision: RouteDecision = TRIAGE): IngestItem {
  return { event, decision };
}

function outcome(overrides: Partial<AgentOutcome> = {}): AgentOutcome {
  return makeOutcome({
    duration_ms: 1234,
    started_at: new Date(T0 + 1000).toISOString(),
    finished_at: new Date(T0 + 2234).toISOString(),
    ...overrides,
  });
}

/** Takes the next queued incident, as the dispatcher would. */
function dispatchNext(store: SqliteStore): { incident: Incident; runId: number } {
  const claimed = store.claimNext((incident) => `/state/incidents/${incident.id}`);
  if (!claimed) throw new Error("nothing queued");
  return { incident: claimed.incident, runId: claimed.run.id };
}

function expectStoreError(open: () => unknown, ...fragments: string[]): StoreError {
  let caught: unknown;
  try {
    open();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(StoreError);
  const error = caught as StoreError;
  for (const fragment of fragments) expect(error.message).toContain(fragment);
  return error;
}

describe("schema", () => {
  test("a new store gets the current schema in WAL mode, and a reopen keeps its data", () => {
    const store = openStore();
    const created = ingestOne(store, faultEvent(0));
    store.close();
    stores = [];

    const db = new Database(join(stateDir, DB_FILE), { readonly: true });
    const tables = db
      .query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .all()
      .map((row) => row.name);
    expect(tables).toEqual(
      expect.arrayContaining([
        "cluster_turns",
        "events",
        "incident_counts",
        "incidents",
        "runs",
        "store_meta",
      ]),
    );
    expect(db.query<{ user_version: number }, []>("PRAGMA user_version").get()?.user_version).toBe(
      SCHEMA_VERSION,
    );
    expect(db.query<{ journal_mode: string }, []>("PRAGMA journal_mode").get()?.journal_mode).toBe("wal");
    db.close();

    const reopened = openStore();
    expect(reopened.get(created.id)?.incident).toEqual(created);
    expect(reopened.queueDepth()).toBe(1);
  });

  test("the store's connection has a page cache of PAGE_CACHE_KIB, not SQLite's 2000 KiB", () => {
    const { db } = openStoreDatabase(stateDir, 0);
    try {
      const size = db.query<{ cache_size: number }, []>("PRAGMA cache_size").get()?.cache_size;
      expect(size).toBe(-PAGE_CACHE_KIB);
      expect(PAGE_CACHE_KIB).toBeGreaterThan(2000);
    } finally {
      db.close();
    }
  });

  test("a database from a newer faultline is refused, untouched", () => {
    openStore().close();
    stores = [];
    const db = new Database(join(stateDir, DB_FILE));
    db.run(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expectStoreError(() => openStore(), join(stateDir, DB_FILE), "newer than this faultline supports");
  });
});

describe("ingest and dedup", () => {
  test("a repeat inside the window increments count and last_seen, and queues nothing new", () => {
    const store = openStore();
    const [first] = store.ingest([item(faultEvent(0))]);
    const [repeat] = store.ingest([item(faultEvent(299))]);
    expect(first?.created).toBe(true);
    expect(first?.queued).toBe(true);
    expect(repeat?.created).toBe(false);
    expect(repeat?.queued).toBe(false);
    expect(repeat?.incident.id).toBe(first?.incident.id as string);
    expect(repeat?.incident).toMatchObject({
      count: 2,
      status: "queued",
      first_seen: "2026-11-25T03:00:00.000Z",
      last_seen: "2026-11-25T03:04:59.000Z",
    });
    expect(store.queueDepth()).toBe(1);
    expect(store.list()).toHaveLength(1);
    expect(store.get(first?.incident.id as string)?.events.map((e) => e.id)).toEqual([
      first?.event_id as number,
      repeat?.event_id as number,
    ]);
  });

  test("the window slides with last_seen; past it a repeat starts a new incident", () => {
    const store = openStore({ dedupWindowSeconds: 60 });
    const first = ingestOne(store, faultEvent(0));
    expect(ingestOne(store, faultEvent(50)).id).toBe(first.id);
    expect(ingestOne(store, faultEvent(100)).id).toBe(first.id);
    const later = ingestOne(store, faultEvent(161));
    expect(later.id).not.toBe(first.id);
    expect(later).toMatchObject({ count: 1, status: "queued" });
    expect(store.queueDepth()).toBe(2);
  });

  test("repeats inside one batch group into one incident; other faults and clusters do not", () => {
    const store = openStore();
    const results = store.ingest([
      item(faultEvent(0)),
      item(faultEvent(1)),
      item(faultEvent(2, { fault_id: "fault-2" })),
      item(faultEvent(3, { cluster: "prod-us" })),
      item(faultEvent(4)),
    ]);
    expect(results.map((r) => r.created)).toEqual([true, false, true, true, false]);
    expect(results[4]?.incident.count).toBe(3);
    expect(new Set(results.map((r) => r.incident.id)).size).toBe(3);
    expect(store.queueDepth()).toBe(3);
  });

  test("a running or finished incident still absorbs repeats inside the window, starting no agent", () => {
    const store = openStore();
    const first = ingestOne(store, faultEvent(0));
    const { runId } = dispatchNext(store);
    expect(ingestOne(store, faultEvent(10))).toMatchObject({ id: first.id, status: "running", count: 2 });
    store.finishRun(runId, outcome());
    expect(ingestOne(store, faultEvent(20))).toMatchObject({ id: first.id, status: "succeeded", count: 3 });
    expect(store.nextQueued()).toBeNull();
  });

  test("an incident keeps the worst severity of its events", () => {
    const store = openStore();
    ingestOne(store, faultEvent(0, { severity: "warning" }));
    expect(ingestOne(store, faultEvent(1, { severity: "critical" })).severity).toBe("critical");
    expect(ingestOne(store, faultEvent(2, { severity: "info" })).severity).toBe("critical");
  });

  test("skipped decisions are recorded with their reason and never queued", () => {
    const store = openStore();
    const reasons = ["below_threshold", "triage_disabled", "no_agent"] as const;
    reasons.forEach((reason, index) => {
      const incident = ingestOne(store, faultEvent(index, { fault_id: reason }), { action: "skip", reason });
      expect(incident).toMatchObject({ status: "skipped", skip_reason: reason });
    });
    expect(store.queueDepth()).toBe(0);
    expect(store.nextQueued()).toBeNull();
    expect(store.skipsByCluster().get("prod-eu")).toEqual({
      below_threshold: 1,
      triage_disabled: 1,
      no_agent: 1,
    });
  });

  test("a skipped incident whose repeat is routed to triage is promoted to queued", () => {
    const store = openStore();
    const skipped = ingestOne(store, faultEvent(0, { severity: "warning" }), {
      action: "skip",
      reason: "below_threshold",
    });
    const [escalated] = store.ingest([item(faultEvent(5, { severity: "critical" }))]);
    expect(escalated).toMatchObject({ created: false, queued: true });
    expect(escalated?.incident).toMatchObject({
      id: skipped.id,
      status: "queued",
      skip_reason: null,
      count: 2,
    });
    expect(store.queueDepth()).toBe(1);
  });

  test("past max_queue new incidents are skipped as queue_full and counted, not dropped", () => {
    const store = openStore({ maxQueue: 3 });
    const results = store.ingest([0, 1, 2, 3, 4].map((n) => item(faultEvent(n, { fault_id: `fault-${n}` }))));
    expect(results.map((r) => r.incident.status)).toEqual([
      "queued",
      "queued",
      "queued",
      "skipped",
      "skipped",
    ]);
    expect(results[3]?.incident.skip_reason).toBe("queue_full");
    expect(store.queueDepth()).toBe(3);
    expect(store.skipsByCluster().get("prod-eu")).toEqual({ queue_full: 2 });
    expect(store.list()).toHaveLength(5);

    dispatchNext(store);
    expect(ingestOne(store, faultEvent(10, { fault_id: "fault-new" })).status).toBe("queued");
    expect(ingestOne(store, faultEvent(11, { fault_id: "fault-newer" })).skip_reason).toBe("queue_full");
  });

  test("an event whose received_at cannot be parsed is timed by the store's clock", () => {
    const store = openStore();
    nowMs = T0 + 42_000;
    const incident = ingestOne(store, { ...faultEvent(0), received_at: "not a time" });
    expect(incident.first_seen).toBe("2026-11-25T03:00:42.000Z");
  });

  test("an empty batch does nothing", () => {
    expect(openStore().ingest([])).toEqual([]);
  });

  test("incident ids are sortable, name the cluster, are path-safe and end in their incident's number", () => {
    const store = openStore();
    const incident = ingestOne(store, faultEvent(0, { cluster: "prod/eu 1" }));
    expect(incident.id).toMatch(/^20261125T030000Z-prod_eu_1-1$/);
    const second = ingestOne(store, faultEvent(1, { cluster: "prod/eu 1", fault_id: "other" }));
    expect(second.id).toMatch(/^20261125T030001Z-prod_eu_1-2$/);
    expect(store.get(second.id)?.incident.id).toBe(second.id);
    // Only the whole id finds it: the right number under another name or second finds nothing.
    expect(store.get("20261125T030001Z-prod_eu_2-2")).toBeNull();
    expect(store.get("20261125T030000Z-prod_eu_1-2")).toBeNull();
    expect(store.get("2")).toBeNull();
  });
});

describe("queue", () => {
  test("one noisy cluster cannot starve another: B is served within the first two picks", () => {
    const store = openStore();
    store.ingest(
      Array.from({ length: 50 }, (_, n) => item(faultEvent(n, { cluster: "a", fault_id: `f${n}` }))),
    );
    store.ingest([0, 1].map((n) => item(faultEvent(100 + n, { cluster: "b", fault_id: `f${n}` }))));
    const served: string[] = [];
    for (let pick = 0; pick < 6; pick++) {
      const { incident, runId } = dispatchNext(store);
      served.push(incident.cluster);
      store.finishRun(runId, outcome());
    }
    expect(served.slice(0, 2).sort()).toEqual(["a", "b"]);
    expect(served).toEqual(["a", "b", "a", "b", "a", "a"]);
    expect(store.queueDepth()).toBe(46);
  });

  test("within a cluster the oldest queued incident goes first", () => {
    const store = openStore();
    const ids = [0, 1, 2].map((n) => ingestOne(store, faultEvent(n, { fault_id: `f${n}` })).id);
    const picked = [0, 1, 2].map(() => dispatchNext(store).incident.id);
    expect(picked).toEqual(ids);
    expect(store.nextQueued()).toBeNull();
  });

  test("nextQueued does not change anything", () => {
    const store = openStore();
    const incident = ingestOne(store, faultEvent(0));
    expect(store.nextQueued()?.id).toBe(incident.id);
    expect(store.nextQueued()?.id).toBe(incident.id);
    expect(store.queueDepth()).toBe(1);
  });

  test("markRunning starts a run and counts the attempt; only queued incidents can start", () => {
    const store = openStore();
    const incident = ingestOne(store, faultEvent(0));
    nowMs = T0 + 5000;
    const run = store.markRunning(incident.id, "/ws/1");
    expect(run).toMatchObject({
      incident_id: incident.id,
      attempt: 1,
      status: "running",
      started_at: "2026-11-25T03:00:05.000Z",
      finished_at: null,
      workspace: "/ws/1",
    });
    expect(store.get(incident.id)?.incident).toMatchObject({
      status: "running",
      attempts: 1,
      workspace: "/ws/1",
    });
    expect(store.queueDepth()).toBe(0);
    expect(() => store.markRunning(incident.id, "/ws/1")).toThrow(IncidentStateError);
    expect(() => store.markRunning("no-such-incident", "/ws")).toThrow(IncidentStateError);
  });
});

describe("finishRun", () => {
  const cases: Array<{ name: string; outcome: Partial<AgentOutcome>; status: string }> = [
    { name: "exit 0 → succeeded", outcome: { exit_code: 0 }, status: "succeeded" },
    { name: "exit 1 → failed", outcome: { exit_code: 1 }, status: "failed" },
    {
      name: "killed by a signal → failed",
      outcome: { exit_code: null, signal: "SIGKILL" },
      status: "failed",
    },
    {
      name: "timed out → timed_out",
      outcome: { exit_code: null, signal: "SIGTERM", timed_out: true },
      status: "timed_out",
    },
    {
      name: "interrupted → interrupted",
      outcome: { exit_code: null, signal: "SIGTERM", interrupted: true },
      status: "interrupted",
    },
    {
      name: "could not start → failed",
      outcome: { exit_code: null, error: "cannot start agent: ENOENT" },
      status: "failed",
    },
  ];
  for (const { name, outcome: overrides, status } of cases) {
    test(name, () => {
      const store = openStore();
      ingestOne(store, faultEvent(0));
      const { incident, runId } = dispatchNext(store);
      const finished = store.finishRun(runId, outcome(overrides));
      expect(finished).toMatchObject({ id: incident.id, status, workspace: "/state/incidents/x" });
      const run = store.get(incident.id)?.runs[0];
      expect(run).toMatchObject({
        id: runId,
        status,
        exit_code: overrides.exit_code === undefined ? 0 : overrides.exit_code,
        signal: overrides.signal ?? null,
        error: overrides.error ?? null,
        duration_ms: 1234,
        started_at: "2026-11-25T03:00:01.000Z",
        finished_at: "2026-11-25T03:00:02.234Z",
      });
    });
  }

  test("an outcome for a run already closed by recovery changes nothing and is logged", () => {
    const store = openStore();
    ingestOne(store, faultEvent(0));
    const { incident, runId } = dispatchNext(store);
    store.recoverInterrupted({ retry: true, maxAttempts: 3 });
    const after = store.finishRun(runId, outcome());
    expect(after).toMatchObject({ id: incident.id, status: "queued" });
    expect(store.get(incident.id)?.runs[0]?.status).toBe("interrupted");
    expect(logLines.some((line) => line.msg === "agent run already closed, outcome not recorded")).toBe(true);
  });

  test("an unknown run is a caller error", () => {
    expect(() => openStore().finishRun(999, outcome())).toThrow(IncidentStateError);
  });
});

describe("recoverInterrupted", () => {
  test("running incidents become interrupted, their runs close, and they are queued again", () => {
    const store = openStore();
    ingestOne(store, faultEvent(0));
    const { incident } = dispatchNext(store);
    store.close();
    stores = [];

    const restarted = openStore();
    nowMs = T0 + 60_000;
    expect(restarted.recoverInterrupted({ retry: true, maxAttempts: 3 })).toEqual({
      interrupted: 1,
      requeued: 1,
    });
    const detail = restarted.get(incident.id);
    expect(detail?.incident).toMatchObject({ status: "queued", attempts: 1 });
    expect(detail?.runs[0]).toMatchObject({
      status: "interrupted",
      finished_at: "2026-11-25T03:01:00.000Z",
      error: "faultline stopped while the agent was running",
    });
    expect(restarted.nextQueued()?.id).toBe(incident.id);
    expect(restarted.markRunning(incident.id, "/ws").attempt).toBe(2);
  });

  test("incidents that used up their attempts stay interrupted", () => {
    const store = openStore();
    ingestOne(store, faultEvent(0));
    for (let attempt = 1; attempt <= 2; attempt++) {
      dispatchNext(store);
      store.recoverInterrupted({ retry: true, maxAttempts: 2 });
    }
    const [incident] = store.list();
    expect(incident).toMatchObject({ status: "interrupted", attempts: 2 });
    expect(store.nextQueued()).toBeNull();
    expect(store.get(incident?.id as string)?.runs.map((run) => run.status)).toEqual([
      "interrupted",
      "interrupted",
    ]);
  });

  test("without retry interrupted incidents stay interrupted; queued ones resume either way", () => {
    const store = openStore();
    ingestOne(store, faultEvent(0, { fault_id: "running" }));
    dispatchNext(store);
    const waiting = ingestOne(store, faultEvent(1, { fault_id: "waiting" }));
    expect(store.recoverInterrupted({ retry: false, maxAttempts: 3 })).toEqual({
      interrupted: 1,
      requeued: 0,
    });
    expect(store.countsByCluster().get("prod-eu")).toEqual({ interrupted: 1, queued: 1 });
    expect(store.nextQueued()?.id).toBe(waiting.id);
  });

  test("incidents interrupted by a graceful stop are retried too", () => {
    const store = openStore();
    ingestOne(store, faultEvent(0));
    const { incident, runId } = dispatchNext(store);
    store.finishRun(runId, outcome({ exit_code: null, signal: "SIGTERM", interrupted: true }));
    expect(store.recoverInterrupted({ retry: true, maxAttempts: 3 })).toEqual({
      interrupted: 0,
      requeued: 1,
    });
    expect(store.nextQueued()?.id).toBe(incident.id);
  });
});

describe("queries", () => {
  function populate(store: SqliteStore): void {
    store.ingest([
      item(faultEvent(0, { cluster: "a", fault_id: "1" })),
      item(faultEvent(1, { cluster: "a", fault_id: "2" }), { action: "skip", reason: "below_threshold" }),
      item(faultEvent(2, { cluster: "b", fault_id: "1" })),
      item(faultEvent(3, { cluster: "b", fault_id: "2" })),
      item(faultEvent(4, { cluster: "b", fault_id: "3" }), { action: "skip", reason: "triage_disabled" }),
    ]);
    const { runId } = dispatchNext(store);
    store.finishRun(runId, outcome({ exit_code: 2 }));
  }

  test("list filters by cluster and status, newest first, with a bounded limit", () => {
    const store = openStore();
    populate(store);
    const pairs = (incidents: Incident[]) => incidents.map((i) => `${i.cluster}/${i.fault_id}`);
    expect(pairs(store.list())).toEqual(["b/3", "b/2", "b/1", "a/2", "a/1"]);
    expect(pairs(store.list({ cluster: "a" }))).toEqual(["a/2", "a/1"]);
    expect(pairs(store.list({ status: "skipped" }))).toEqual(["b/3", "a/2"]);
    expect(pairs(store.list({ cluster: "b", status: "queued" }))).toEqual(["b/2", "b/1"]);
    expect(pairs(store.list({ status: "failed" }))).toEqual(["a/1"]);
    expect(pairs(store.list({ limit: 2 }))).toEqual(["b/3", "b/2"]);
    expect(store.list({ limit: 0 })).toHaveLength(1);
    expect(store.list({ cluster: "nope" })).toEqual([]);
  });

  test("list caps the limit at 1000 and defaults to 100", () => {
    const store = openStore();
    store.ingest(Array.from({ length: 1005 }, (_, n) => item(faultEvent(n, { fault_id: `f${n}` }))));
    expect(store.list()).toHaveLength(100);
    expect(store.list({ limit: 5000 })).toHaveLength(1000);
  });

  test("get returns the incident, its events (most recent, oldest first) and its runs", () => {
    const store = openStore();
    const first = ingestOne(store, faultEvent(0));
    ingestOne(store, faultEvent(1));
    const { runId } = dispatchNext(store);
    store.finishRun(runId, outcome({ exit_code: 1 }));
    ingestOne(store, faultEvent(2));

    const detail = store.get(first.id);
    expect(detail?.incident).toMatchObject({ id: first.id, count: 3, status: "failed" });
    expect(detail?.events.map((e) => e.received_at)).toEqual([
      "2026-11-25T03:00:00.000Z",
      "2026-11-25T03:00:01.000Z",
      "2026-11-25T03:00:02.000Z",
    ]);
    expect(detail?.events[0]).toMatchObject({ incident_id: first.id, event: faultEvent(0) });
    expect(detail?.runs).toHaveLength(1);
    expect(detail?.runs[0]).toMatchObject({ id: runId, status: "failed", exit_code: 1 });
    expect(store.get(first.id, { eventLimit: 2 })?.events.map((e) => e.received_at)).toEqual([
      "2026-11-25T03:00:01.000Z",
      "2026-11-25T03:00:02.000Z",
    ]);
    expect(store.get("no-such-incident")).toBeNull();
  });

  test("countsByCluster counts incidents per cluster and status", () => {
    const store = openStore();
    populate(store);
    expect(Object.fromEntries(store.countsByCluster())).toEqual({
      a: { failed: 1, skipped: 1 },
      b: { queued: 2, skipped: 1 },
    });
  });
});

describe("start-up errors", () => {
  test("a state_dir that is a file", () => {
    writeFileSync(stateDir, "not a directory");
    expectStoreError(() => openStore(), stateDir, "state_dir is not a directory");
  });

  test("a state_dir below a file", () => {
    writeFileSync(stateDir, "not a directory");
    const below = join(stateDir, "deeper");
    expectStoreError(() => openStore({}, below), below, "cannot create state_dir", "not a directory");
  });

  test("a database file full of garbage", () => {
    mkdirSync(stateDir);
    writeFileSync(
      join(stateDir, DB_FILE),
      Buffer.from(Array.from({ length: 8192 }, (_, n) => (n * 151) % 256)),
    );
    expectStoreError(() => openStore(), join(stateDir, DB_FILE), "file is not a database");
  });

  test("a database file with damaged pages", () => {
    const store = openStore();
    store.ingest(Array.from({ length: 300 }, (_, n) => item(faultEvent(n, { fault_id: `f${n}` }))));
    store.close();
    stores = [];
    const db = new Database(join(stateDir, DB_FILE));
    db.run("PRAGMA wal_checkpoint(TRUNCATE)");
    const pages = db.query<{ page_count: number }, []>("PRAGMA page_count").get()?.page_count ?? 0;
    db.close();
    expect(pages).toBeGreaterThan(4);
    const bytes = readFileSync(join(stateDir, DB_FILE));
    bytes.fill(0xa5, 4096 * 2, 4096 * (pages - 1));
    writeFileSync(join(stateDir, DB_FILE), bytes);
    expectStoreError(() => openStore(), join(stateDir, DB_FILE), "corrupt");
  });

  test("a database path that is a directory", () => {
    mkdirSync(join(stateDir, DB_FILE), { recursive: true });
    expectStoreError(() => openStore(), join(stateDir, DB_FILE), "not a file");
  });

  test("a state_dir faultline cannot write to", () => {
    mkdirSync(stateDir);
    chmodSync(stateDir, 0o500);
    if (process.getuid?.() !== 0) {
      expectStoreError(() => openStore(), stateDir, "state_dir is not writable", "permission denied");
      return;
    }
    // Root bypasses permission checks: try as an unprivileged user instead, if we may switch to one.
    const result = openAsNobody(stateDir);
    if (result === null) {
      console.warn("skipped: running as root and cannot switch to an unprivileged user");
      return;
    }
    expect(result).toEqual({
      name: "StoreError",
      message: `incident store ${stateDir}: state_dir is not writable: permission denied`,
    });
  });

  test.skipIf(!TMPFS)("a disk too full to start on", () => {
    withTinyDisk(1024 * 1024, (mount) => {
      fillDisk(mount);
      expectStoreError(() => openStore({}, join(mount, "state")), "disk full", "free on the filesystem");
    });
  });

  test.skipIf(!TMPFS)("a disk that is full for the schema's first write", () => {
    withTinyDisk(1024 * 1024, (mount) => {
      mkdirSync(join(mount, "state"));
      fillDisk(mount);
      expectStoreError(() => openStore({ minFreeBytes: 0 }, join(mount, "state")), DB_FILE, "disk full");
    });
  });

  test.skipIf(!TMPFS)(
    "a disk that fills up later: the batch fails whole with a StoreError, and the store recovers",
    () => {
      withTinyDisk(4 * 1024 * 1024, (mount) => {
        const store = openStore({ minFreeBytes: 0 }, join(mount, "state"));
        const filler = fillDisk(mount, 512 * 1024);
        const big = (n: number) => ({
          ...faultEvent(n, { fault_id: `f${n}` }),
          context: "x".repeat(64 * 1024),
        });
        let failure: unknown;
        let recorded = 0;
        for (let n = 0; n < 200 && failure === undefined; n += 2) {
          try {
            recorded += store.ingest([item(big(n)), item(big(n + 1))]).length;
          } catch (error) {
            failure = error;
          }
        }
        expect(recorded).toBeGreaterThan(0);
        expect(failure).toBeInstanceOf(StoreError);
        expect((failure as StoreError).message).toContain("cannot record events");
        expect((failure as StoreError).message).toMatch(/disk full|disk may be full/);
        expect(store.list({ limit: 1000 })).toHaveLength(recorded);
        rmSync(filler);
        expect(store.ingest([item(faultEvent(999, { fault_id: "after" }))])[0]?.created).toBe(true);
        expect(store.list({ limit: 1000 })).toHaveLength(recorded + 1);
      });
    },
  );
});

describe("two processes on one database", () => {
  test("concurrent writers serialise: nothing lost, nothing duplicated, nothing corrupt", async () => {
    const parent = openStore();
    const script = join(dir.path, "writer.ts");
    writeFileSync(
      script,
      `import { SqliteStore } from ${JSON.stringify(STORE_MODULE)};
const store = SqliteStore.open(process.argv[2]);
const base = Date.parse("2026-11-25T03:00:00.000Z");
for (let b = 0; b < 40; b++) {
  store.ingest(Array.from({ length: 50 }, (_, k) => {
    const n = b * 50 + k;
    const at = new Date(base + n).toISOString();
    return { decision: { action: "triage" }, event: { cluster: "shared", labels: {}, fault_id: "f" + (n % 100),
      fault_type: "CrashLoop", severity: "critical", resource: { apiVersion: "v1", kind: "Pod", name: "p",
      namespace: null, uid: null }, context: "child", timestamp: at, received_at: at, raw: null } };
  }));
}
store.close();
`,
    );
    const child = Bun.spawn([process.execPath, script, stateDir], { stdout: "pipe", stderr: "pipe" });
    for (let b = 0; b < 40; b++) {
      parent.ingest(
        Array.from({ length: 50 }, (_, k) => {
          const n = b * 50 + k;
          return item(faultEvent(n / 1000, { cluster: "shared", fault_id: `f${n % 100}` }));
        }),
      );
      await Bun.sleep(1);
    }
    const exitCode = await child.exited;
    expect(await new Response(child.stderr).text()).toBe("");
    expect(exitCode).toBe(0);

    const incidents = parent.list({ limit: 1000 });
    expect(incidents).toHaveLength(100);
    expect(incidents.reduce((sum, incident) => sum + incident.count, 0)).toBe(4000);
    expect(parent.queueDepth()).toBe(100);
    const db = new Database(join(stateDir, DB_FILE), { readonly: true });
    expect(db.query<{ integrity_check: string }, []>("PRAGMA integrity_check").get()?.integrity_check).toBe(
      "ok",
    );
    expect(db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM events").get()?.n).toBe(4000);
    db.close();
  });
});

/** True when this process may mount a tmpfs (root with CAP_SYS_ADMIN): the full-disk tests need one. */
function canMountTmpfs(): boolean {
  const probe = tempDir("faultline-tmpfs-probe-");
  try {
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=65536", "tmpfs", probe.path], {
      stdio: "ignore",
    });
    if (mounted.status !== 0) return false;
    spawnSync("umount", [probe.path], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  } finally {
    probe.cleanup();
  }
}

/**
 * Runs `work` with a real, size-limited tmpfs mounted in the temp dir: a genuinely full disk, where
 * writes fail with ENOSPC. Only called when {@link canMountTmpfs}.
 */
function withTinyDisk(bytes: number, work: (mount: string) => void): void {
  const mount = join(dir.path, "tiny-disk");
  mkdirSync(mount);
  const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${bytes}`, "tmpfs", mount], {
    stdio: "ignore",
  });
  if (mounted.status !== 0) throw new Error(`cannot mount a tmpfs on ${mount}`);
  try {
    work(mount);
  } finally {
    for (const store of stores) store.close();
    stores = [];
    spawnSync("umount", [mount], { stdio: "ignore" });
  }
}

/** Writes a file until the filesystem is full, then frees `leaveBytes` of it; returns its path. */
function fillDisk(mount: string, leaveBytes = 0): string {
  const filler = join(mount, "filler");
  const chunk = Buffer.alloc(64 * 1024, 1);
  const fd = openSync(filler, "w");
  let size = 0;
  try {
    for (;;) size += writeSync(fd, chunk);
  } catch (error) {
    expect(errnoCode(error)).toBe("ENOSPC");
  }
  ftruncateSync(fd, Math.max(0, size - leaveBytes));
  closeSync(fd);
  return filler;
}

/**
 * Opens the store as user `nobody` in a child process: the error it threw, `{ opened: true }` if it
 * opened (the bug the caller looks for), or null if we cannot switch user.
 */
function openAsNobody(where: string): { name: string; message: string } | { opened: true } | null {
  chmodSync(dir.path, 0o755);
  const script = join(dir.path, "open-as-nobody.ts");
  writeFileSync(
    script,
    `import { SqliteStore } from ${JSON.stringify(STORE_MODULE)};
try { SqliteStore.open(process.argv[2]).close(); console.log(JSON.stringify({ opened: true })); }
catch (error) { console.log(JSON.stringify({ name: error.name, message: error.message })); }
`,
  );
  chmodSync(script, 0o644);
  const result = spawnSync(process.execPath, [script, where], {
    uid: 65534,
    gid: 65534,
    encoding: "utf8",
    env: { ...process.env, BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0", HOME: dir.path },
  });
  if (result.error || result.status !== 0) return null;
  return JSON.parse(result.stdout.trim());
}
