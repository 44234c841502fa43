/**
 * The intake journal's file (`src/incidents/journal-file.ts`) and the store over it, on real files: its
 * lines read back (a torn last line cut off, any other bad line a clear error naming the file and the
 * line); a store reopened after a torn write builds the whole lines and appends after them; the file
 * retired at its bounds and removed once built and synced, with nothing lost, built in order, and no
 * `seq` given twice; a write past a size limit cut back; the rows
 * a version-11 database left in `event_log` moved into the file and built once, even after a crash
 * halfway through the move.
 */
import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { eventJson } from "../../src/events/event-json.ts";
import type { FaultEvent } from "../../src/events/fault.ts";
import { intakeLine, parseIntakeLine, readIntakeFile } from "../../src/incidents/journal-file.ts";
import type { IngestItem } from "../../src/incidents/model.ts";
import { StoreError } from "../../src/incidents/model.ts";
import { MIGRATIONS } from "../../src/incidents/schema.ts";
import type { IncidentStoreOptions } from "../../src/incidents/settings.ts";
import { SqliteStore } from "../../src/incidents/store.ts";
import { openSqlite } from "../../src/runtime/sqlite.ts";
import { numberedFault } from "../helpers/fault.ts";
import { intakeMark, intakePath, intakeWaiting, rotatedIntakePath } from "../helpers/intake.ts";
import { tempDir } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

const dir = tempDir("faultline-intake-file-");
afterAll(dir.cleanup);

const NOW = new Date("2026-11-27T03:10:00.000Z");
let stateDirs = 0;

function freshStateDir(): string {
  return join(dir.path, `state-${++stateDirs}`);
}

function openStore(stateDir: string, options: IncidentStoreOptions = {}): SqliteStore {
  return SqliteStore.open(stateDir, { now: () => NOW, buildJournal: true, ...options });
}

/** Event `n` of fault `f<n % faults>` on cluster `c<n % 2>`, received at 03:05:00 + n ms. */
function fault(n: number, faults: number): FaultEvent {
  return numberedFault(n, faults, "2026-11-27T03:05:00.000Z");
}

/** Items `from`..`from + count - 1`, all for triage. */
function items(count: number, faults: number, from = 0): IngestItem[] {
  return Array.from({ length: count }, (_, i) => ({
    event: fault(from + i, faults),
    decision: { action: "triage" },
  }));
}

function count(stateDir: string, table: string): number {
  const db = new Database(join(stateDir, "faultline.db"), { readonly: true });
  try {
    return db.query<{ n: number }, []>(`SELECT count(*) AS n FROM ${table}`).get()?.n ?? -1;
  } finally {
    db.close();
  }
}

/** The `seq` of every line in the file (the renamed one first), whatever the mark. */
function seqsInFiles(stateDir: string): number[] {
  return [
    ...readIntakeFile(rotatedIntakePath(stateDir)).records,
    ...readIntakeFile(intakePath(stateDir)).records,
  ].map((record) => record.seq);
}

describe("the file's lines", () => {
  test("a line is seq, route and the event's JSON, separated by tabs", () => {
    const line = intakeLine(7, "below_threshold", '{"cluster":"prod","context":"a\\tb"}');
    expect(line).toBe('7\tbelow_threshold\t{"cluster":"prod","context":"a\\tb"}\n');
    expect(parseIntakeLine(line.slice(0, -1))).toEqual({
      seq: 7,
      route: "below_threshold",
      event: '{"cluster":"prod","context":"a\\tb"}',
    });
  });

  test("what is not a record is an error naming what is wrong", () => {
    expect(() => parseIntakeLine("garbage")).toThrow("not a journal record");
    expect(() => parseIntakeLine('0\ttriage\t{"a":1}')).toThrow('seq "0" is not a positive integer');
    expect(() => parseIntakeLine('-3\ttriage\t{"a":1}')).toThrow("is not a positive integer");
    expect(() => parseIntakeLine('99999999999999999\ttriage\t{"a":1}')).toThrow("is not a positive integer");
    expect(() => parseIntakeLine('1\tTRIAGE!\t{"a":1}')).toThrow('route "TRIAGE!" is not a route');
    expect(() => parseIntakeLine("1\ttriage\t[1,2]")).toThrow("the event is not a JSON object");
  });

  test("a file read back: a torn last line left out and counted; a missing file is empty", () => {
    const file = join(dir.path, "read-back");
    const whole = `${intakeLine(1, "triage", '{"n":1}')}${intakeLine(2, "no_agent", '{"n":2}')}`;
    writeFileSync(file, `${whole}3\ttriage\t{"n":`);
    const contents = readIntakeFile(file);
    expect(contents.records.map((r) => [r.seq, r.route, r.event])).toEqual([
      [1, "triage", '{"n":1}'],
      [2, "no_agent", '{"n":2}'],
    ]);
    expect(contents.validBytes).toBe(Buffer.byteLength(whole));
    expect(contents.tornBytes).toBe(Buffer.byteLength('3\ttriage\t{"n":'));
    expect(readIntakeFile(file, 1).records.map((r) => r.seq)).toEqual([2]);
    expect(readIntakeFile(join(dir.path, "none"))).toEqual({ records: [], validBytes: 0, tornBytes: 0 });
  });

  test("a bad whole line, or a seq not above the one before, is an error naming the file and the line", () => {
    const bad = join(dir.path, "bad-line");
    writeFileSync(bad, `${intakeLine(1, "triage", '{"n":1}')}oops\n${intakeLine(3, "triage", '{"n":3}')}`);
    expect(() => readIntakeFile(bad)).toThrow(`${bad} line 2: not a journal record`);
    const backwards = join(dir.path, "backwards");
    writeFileSync(backwards, `${intakeLine(5, "triage", '{"n":5}')}${intakeLine(5, "triage", '{"n":6}')}`);
    expect(() => readIntakeFile(backwards)).toThrow(
      `${backwards} line 2: seq 5 is not above the line before's 5`,
    );
  });
});

describe("the store over the file", () => {
  test("after a torn write: the whole lines are built, the torn bytes cut off, and the next append starts a new line", () => {
    const stateDir = freshStateDir();
    const store = openStore(stateDir);
    store.journal.append(items(3, 3));
    store.close(); // closed unbuilt, as a crash leaves it
    const file = intakePath(stateDir);
    const whole = statSync(file).size;
    appendFileSync(file, '4\ttriage\t{"cluster":"c1","fau'); // a write the crash cut short

    const reopened = openStore(stateDir);
    try {
      expect(count(stateDir, "events")).toBe(3);
      expect(statSync(file).size).toBe(whole);
      reopened.journal.append(items(1, 100, 10));
      expect(seqsInFiles(stateDir)).toEqual([1, 2, 3, 4]);
      expect(reopened.journal.build(10).map((r) => r.incident.fault_id)).toEqual(["f10"]);
    } finally {
      reopened.close();
    }
    expect(count(stateDir, "events")).toBe(4);
  });

  test("a file whose every line is built is retired past its bound and removed once the database is synced; seqs go on above the mark", async () => {
    const stateDir = freshStateDir();
    const bytes = { reset: 0, rotate: 1 << 30 };
    const store = openStore(stateDir, { intakeFileBytes: bytes });
    try {
      store.journal.append(items(3, 3));
      store.journal.build(2);
      expect(existsSync(rotatedIntakePath(stateDir))).toBe(false); // one line still waits
      store.journal.build(10);
      expect(statSync(intakePath(stateDir)).size).toBe(0); // a new file
      expect(intakeMark(stateDir)).toBe(3);
      await waitFor("the retired file removed", () => !existsSync(rotatedIntakePath(stateDir)));
      store.journal.append(items(1, 100, 10));
      store.journal.build(10);
      store.close(); // closed before its removal: the retired file is left to the next open
    } finally {
      store.close();
    }
    expect(existsSync(rotatedIntakePath(stateDir))).toBe(true);
    const reopened = openStore(stateDir, { intakeFileBytes: bytes });
    try {
      expect(count(stateDir, "events")).toBe(4); // nothing built again
      await waitFor("the retired file removed", () => !existsSync(rotatedIntakePath(stateDir)));
      reopened.journal.append(items(1, 100, 20));
      expect(seqsInFiles(stateDir)).toEqual([5]);
    } finally {
      reopened.close();
    }
  });

  test("under the bound the built lines stay in the file and are not built again at the next open", () => {
    const stateDir = freshStateDir();
    const store = openStore(stateDir);
    store.journal.append(items(5, 5));
    store.journal.build(100);
    store.close();
    expect(seqsInFiles(stateDir)).toEqual([1, 2, 3, 4, 5]);
    expect(intakeWaiting(stateDir)).toEqual([]);
    openStore(stateDir).close();
    expect(count(stateDir, "events")).toBe(5);
  });

  test("past its bound with entries waiting the file is retired; the retired one is built first and removed once built", async () => {
    const stateDir = freshStateDir();
    const bytes = { reset: 1 << 30, rotate: 1 };
    const store = openStore(stateDir, { intakeFileBytes: bytes });
    store.journal.append(items(4, 2)); // c0/f0, c1/f1 twice: retired after this append
    expect(existsSync(rotatedIntakePath(stateDir))).toBe(true);
    expect(statSync(intakePath(stateDir)).size).toBe(0);
    store.journal.append(items(4, 2, 4)); // the same two faults again, in the new file (one retired at a time)
    expect(seqsInFiles(stateDir)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    store.journal.build(3);
    store.close(); // closed with five waiting (one in the retired file), as a crash leaves it
    expect(existsSync(rotatedIntakePath(stateDir))).toBe(true);

    const reopened = openStore(stateDir, { intakeFileBytes: bytes });
    try {
      expect(count(stateDir, "events")).toBe(8);
      // Built in the order received (the retired file first): each repeat joined, the events' ids in order.
      expect(reopened.list({ limit: 10 }).map((i) => [i.cluster, i.fault_id, i.count])).toEqual([
        ["c1", "f1", 4],
        ["c0", "f0", 4],
      ]);
      const db = new Database(join(stateDir, "faultline.db"), { readonly: true });
      const received = db.query<{ ms: number }, []>("SELECT received_ms AS ms FROM events ORDER BY id").all();
      db.close();
      expect(received.map((row) => row.ms - Date.parse("2026-11-27T03:05:00.000Z"))).toEqual([
        0, 1, 2, 3, 4, 5, 6, 7,
      ]);
      await waitFor("the retired file removed", () => !existsSync(rotatedIntakePath(stateDir)));
      // The file (built lines 5-8) past its bound again: retired with the new line, removed once it is built.
      reopened.journal.append(items(1, 100, 20));
      expect(seqsInFiles(stateDir)).toEqual([5, 6, 7, 8, 9]);
      expect(reopened.journal.build(10)).toHaveLength(1);
      await waitFor("the retired file removed", () => !existsSync(rotatedIntakePath(stateDir)));
      expect(seqsInFiles(stateDir)).toEqual([]);
    } finally {
      reopened.close();
    }
  });

  test("the file cannot be opened: a StoreError naming the file, and the batch is not taken", () => {
    const stateDir = freshStateDir();
    // Opened as the CLI opens it (no buildJournal): the file is opened at the first append.
    const store = SqliteStore.open(stateDir, { now: () => NOW });
    try {
      mkdirSync(intakePath(stateDir)); // a directory where the file goes
      let thrown: unknown;
      try {
        store.journal.append(items(2, 2));
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(StoreError);
      expect(String((thrown as Error).message)).toContain(
        `${intakePath(stateDir)}: cannot append to the intake journal`,
      );
      expect(store.journal.pending).toBe(0);
    } finally {
      store.close();
    }
  });
});

describe("a version-11 database's event_log", () => {
  /** A state directory whose database is at schema version 11, its `event_log` holding `rows`. */
  function version11(rows: ReadonlyArray<{ seq: number; n: number }>, lastGiven = 0): string {
    const stateDir = freshStateDir();
    mkdirSync(stateDir, { recursive: true });
    const db = openSqlite(join(stateDir, "faultline.db"));
    db.exec("PRAGMA journal_mode = WAL");
    db.immediate(() => {
      for (const migration of MIGRATIONS.slice(0, 11)) {
        if (typeof migration === "string") db.exec(migration);
        else migration(db);
      }
    });
    db.exec("PRAGMA user_version = 11");
    if (lastGiven > 0) {
      // Rows given and built (deleted) before: AUTOINCREMENT remembers the last seq.
      db.exec(`INSERT INTO event_log (seq, event, route) VALUES (${lastGiven}, '{}', 'triage')`);
      db.exec("DELETE FROM event_log");
    }
    const insert = db.prepare<never, { seq: number; event: string }>(
      "INSERT INTO event_log (seq, event, route) VALUES ($seq, $event, 'triage')",
    );
    for (const row of rows) insert.run({ seq: row.seq, event: eventJson(fault(row.n, 3)) });
    insert.finalize();
    db.close();
    return stateDir;
  }

  const ROWS = [
    { seq: 41, n: 0 },
    { seq: 42, n: 1 },
    { seq: 43, n: 6 },
  ];

  test("its rows are moved into the file with their seqs and built once; event_log is left empty", () => {
    const stateDir = version11(ROWS, 40);
    const store = openStore(stateDir);
    try {
      expect(count(stateDir, "event_log")).toBe(0);
      expect(count(stateDir, "events")).toBe(3);
      expect(store.list({ limit: 10 }).map((i) => [i.cluster, i.fault_id, i.count])).toEqual([
        ["c1", "f1", 1],
        ["c0", "f0", 2],
      ]);
      expect(seqsInFiles(stateDir)).toEqual([41, 42, 43]);
      expect(intakeMark(stateDir)).toBe(43);
      store.journal.append(items(1, 100, 10));
      expect(seqsInFiles(stateDir)).toEqual([41, 42, 43, 44]);
    } finally {
      store.close();
    }
    openStore(stateDir).close(); // builds the line appended above, none of the moved ones again
    expect(count(stateDir, "events")).toBe(4);
  });

  test("a crash after the rows reached the file and before they were deleted: still built once", () => {
    const stateDir = version11(ROWS);
    // What the interrupted move wrote: the rows' lines, the rows still in event_log.
    writeFileSync(
      intakePath(stateDir),
      ROWS.map((row) => intakeLine(row.seq, "triage", eventJson(fault(row.n, 3)))).join(""),
    );
    openStore(stateDir).close();
    expect(count(stateDir, "events")).toBe(3);
    expect(count(stateDir, "event_log")).toBe(0);
    expect(seqsInFiles(stateDir)).toEqual([41, 42, 43]);
  });

  test("emptied before: a store that never builds at open still gives seqs above every one event_log gave", () => {
    const stateDir = version11([], 57);
    const store = SqliteStore.open(stateDir, { now: () => NOW }); // no buildJournal (as a test's store)
    try {
      store.journal.append(items(2, 2));
      expect(seqsInFiles(stateDir)).toEqual([58, 59]);
      expect(store.journal.build(10)).toHaveLength(2);
    } finally {
      store.close();
    }
    expect(readFileSync(intakePath(stateDir), "utf8").split("\n")).toHaveLength(3);
  });
});

describe("a write the disk refuses", () => {
  test("past a file size limit: the batch fails with a StoreError naming the file, the file is cut back, and what was accepted is built once", () => {
    const stateDir = freshStateDir();
    openStore(stateDir).close(); // the database made without a limit (its own writes are not under test)
    const script = join(dir.path, "append-past-limit.ts");
    writeFileSync(
      script,
      `import { statSync } from "node:fs";
import { SqliteStore } from ${JSON.stringify(join(import.meta.dir, "../../src/incidents/store.ts"))};
const store = SqliteStore.open(process.argv[2], { now: () => new Date(${NOW.getTime()}) });
const file = process.argv[2] + "/faultline.db-intake";
const event = (n) => ({ cluster: "c0", labels: {}, fault_id: "f" + n, fault_type: "CrashLoop", severity: "critical",
  resource: { apiVersion: "v1", kind: "Pod", name: "pod-" + n, namespace: "shop", uid: null },
  context: "x".repeat(300), timestamp: "2026-11-27T03:05:00.000Z", received_at: "2026-11-27T03:05:00.000Z", raw: {} });
let accepted = 0;
for (let batch = 0; batch < 100; batch++) {
  const before = statSync(file, { throwIfNoEntry: false })?.size ?? 0;
  try {
    store.journal.append(Array.from({ length: 10 }, (_, i) => ({ event: event(batch * 10 + i), decision: { action: "triage" } })));
    accepted += 10;
  } catch (error) {
    console.log(JSON.stringify({ accepted, error: String(error.message), before, after: statSync(file).size }));
    process.exit(0);
  }
}
console.log(JSON.stringify({ accepted, error: null }));
`,
    );
    // 64 KiB at most per file (ulimit -f counts 1 KiB blocks); SIGXFSZ ignored, so the write fails (EFBIG)
    // or comes back short instead of ending the process.
    const child = spawnSync(
      "bash",
      ["-c", `trap '' XFSZ; ulimit -f 64; exec "$0" "$@"`, process.execPath, script, stateDir],
      {
        encoding: "utf8",
      },
    );
    expect(child.status).toBe(0);
    const outcome = JSON.parse(child.stdout.trim()) as {
      accepted: number;
      error: string | null;
      before: number;
      after: number;
    };
    expect(outcome.error).toContain(`${intakePath(stateDir)}: cannot append to the intake journal`);
    expect(outcome.accepted).toBeGreaterThan(0);
    expect(outcome.after).toBe(outcome.before); // nothing of the failed batch stays
    expect(readFileSync(intakePath(stateDir), "utf8").endsWith("\n")).toBe(true);

    const reopened = openStore(stateDir);
    try {
      expect(count(stateDir, "events")).toBe(outcome.accepted);
      expect(reopened.list({ limit: 1000 })).toHaveLength(outcome.accepted);
    } finally {
      reopened.close();
    }
  });
});
