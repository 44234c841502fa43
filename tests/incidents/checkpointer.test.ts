/**
 * The WAL checkpoint thread: a store opened with it copies its WAL into the database file without the
 * main connection's auto-checkpoint (off), stops cleanly, and hands checkpoints back to the main
 * connection when the thread fails; while commits keep coming, the writer still starts the WAL over.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  Checkpointer,
  settleWake,
  WAKE_AGAIN,
  WAKE_ARMED,
  WAKE_IDLE,
} from "../../src/incidents/checkpointer.ts";
import { DB_FILE, WAL_AUTOCHECKPOINT_PAGES } from "../../src/incidents/open.ts";
import { SqliteStore } from "../../src/incidents/store.ts";
import { sleep } from "../../src/runtime/sleep.ts";
import { openSqlite, type SqlDatabase } from "../../src/runtime/sqlite.ts";
import { ingestOne, makeFault } from "../helpers/fault.ts";
import { tempDir } from "../helpers/tmp.ts";

const dirs: Array<{ cleanup: () => void }> = [];
afterAll(() => {
  for (const dir of dirs) dir.cleanup();
});

function stateDir(): string {
  const dir = tempDir("faultline-checkpointer-");
  dirs.push(dir);
  return dir.path;
}

/** Writes `n` distinct faults (far fewer WAL frames than SQLite's own auto-checkpoint waits for). */
function writeFaults(store: SqliteStore, n: number): void {
  for (let i = 0; i < n; i++) ingestOne(store, makeFault({ fault_id: `fault-${i}` }));
}

/** A fresh WAL database `name` with a table `t (v TEXT)`, checkpointed by a thread every 50 ms after commits. */
function tableWithCheckpointer(name: string): { db: SqlDatabase; file: string; checkpointer: Checkpointer } {
  const file = join(stateDir(), name);
  const db = openSqlite(file);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("CREATE TABLE t (v TEXT)");
  return { db, file, checkpointer: Checkpointer.start(db, file, 50) };
}

/** How often the WAL of `file` has been started over: its header's checkpoint sequence number. */
function walRestarts(file: string): number {
  const fd = openSync(`${file}-wal`, "r");
  try {
    const header = Buffer.alloc(16);
    readSync(fd, header, 0, 16, 0);
    return header.readUInt32BE(12);
  } finally {
    closeSync(fd);
  }
}

/** Pages in the database file itself (what checkpoints have copied there). */
function filePages(dir: string): number {
  return statSync(join(dir, DB_FILE)).size / 4096;
}

describe("WAL checkpoints in a thread", () => {
  test("the thread copies the WAL into the file; without it the file does not grow", async () => {
    const withThread = stateDir();
    const without = stateDir();
    const threaded = SqliteStore.open(withThread, { checkpointInThread: true });
    const plain = SqliteStore.open(without);
    try {
      await sleep(400); // the start-up writes are checkpointed by the thread's first passes
      const before = { threaded: filePages(withThread), plain: filePages(without) };
      writeFaults(threaded, 50);
      writeFaults(plain, 50);
      await sleep(800);
      expect(filePages(withThread)).toBeGreaterThan(before.threaded);
      // SQLite's own auto-checkpoint waits for 1000 WAL frames: 50 one-fault commits stay in the WAL.
      expect(filePages(without)).toBe(before.plain);
      // Everything is readable through a fresh connection either way.
      const reader = openSqlite(join(withThread, DB_FILE), { readonly: true });
      try {
        expect(reader.query<{ n: number }>("SELECT count(*) AS n FROM events").get()?.n).toBe(50);
      } finally {
        reader.close();
      }
    } finally {
      await threaded.close();
      plain.close();
    }
  });

  test("close waits for the thread's last checkpoint; the data is all in the file", async () => {
    const dir = stateDir();
    const store = SqliteStore.open(dir, { checkpointInThread: true });
    writeFaults(store, 50);
    await store.close();
    const db = openSqlite(join(dir, DB_FILE), { readonly: true });
    try {
      expect(db.query<{ n: number }>("SELECT count(*) AS n FROM incidents").get()?.n).toBe(50);
    } finally {
      db.close();
    }
  });

  test("a thread that cannot open the file ends, and the main connection checkpoints by itself again", async () => {
    const dir = stateDir();
    const db = openSqlite(join(dir, "main.db"));
    try {
      db.exec("PRAGMA journal_mode = WAL");
      const checkpointer = Checkpointer.start(db, join(dir, "missing", "nested", "x.db"), 50);
      expect(
        db.query<{ wal_autocheckpoint: number }>("PRAGMA wal_autocheckpoint").get()?.wal_autocheckpoint,
      ).toBe(0);
      for (let i = 0; i < 100 && checkpointer.running; i++) await sleep(20);
      expect(checkpointer.running).toBe(false);
      expect(
        db.query<{ wal_autocheckpoint: number }>("PRAGMA wal_autocheckpoint").get()?.wal_autocheckpoint,
      ).toBe(WAL_AUTOCHECKPOINT_PAGES);
      await checkpointer.stop(); // resolves at once: already ended
    } finally {
      db.close();
    }
  });

  test("an idle store arms no pass; a commit wakes the thread and is copied one interval later", async () => {
    const { db, file, checkpointer } = tableWithCheckpointer("wake.db");
    try {
      expect(checkpointer.idle).toBe(false); // armed at start: what was written before is copied
      for (let i = 0; i < 100 && !checkpointer.idle; i++) await sleep(20);
      expect(checkpointer.idle).toBe(true);
      const before = statSync(file).size;
      await sleep(200); // idle: nothing armed, nothing copied
      expect(checkpointer.idle).toBe(true);
      db.query<never, { v: string }>("INSERT INTO t (v) VALUES ($v)").run({ v: "x".repeat(50_000) });
      checkpointer.committed();
      expect(checkpointer.idle).toBe(false);
      for (let i = 0; i < 100 && !checkpointer.idle; i++) await sleep(20);
      expect(checkpointer.idle).toBe(true);
      expect(statSync(file).size).toBeGreaterThan(before + 40_000);
    } finally {
      await checkpointer.stop();
      db.close();
    }
  });

  test("while commits keep coming, the writer still starts the WAL over", async () => {
    const { db, file, checkpointer } = tableWithCheckpointer("steady.db");
    const insert = db.query<never, { v: string }>("INSERT INTO t (v) VALUES ($v)");
    let commits = 0;
    const rows = () =>
      db.immediate(() => {
        for (let i = 0; i < 20; i++) insert.run({ v: "x".repeat(3000) });
      });
    const commit = () => {
      rows(); // ~20 WAL frames, as a batch of events writes
      checkpointer.committed();
      commits++;
    };
    try {
      commit();
      const first = walRestarts(file);
      // A commit every 2-3 ms: one lands during nearly every pass. Until the WAL was started over twice, or
      // 3 s: with the catch-up checkpoints 3-10 times in 1.5 s (measured on a loaded machine); left to
      // chance (a pass no commit overlapped), never (0 in each of 3 runs of 1.5 s without them).
      const until = performance.now() + 3000;
      while (performance.now() < until && walRestarts(file) - first < 2) {
        commit();
        await sleep(2);
      }
      expect(walRestarts(file) - first).toBeGreaterThanOrEqual(2);
      expect(db.query<{ n: number }>("SELECT count(*) AS n FROM t").get()?.n).toBe(commits * 20);
    } finally {
      await checkpointer.stop();
      db.close();
    }
  });

  test("the wake word: a pass left frames or saw a commit arms another; otherwise the thread goes idle", () => {
    const wake = new Int32Array(new SharedArrayBuffer(4));
    Atomics.store(wake, 0, WAKE_ARMED);
    expect(settleWake(wake, false)).toBe(false);
    expect(Atomics.load(wake, 0)).toBe(WAKE_IDLE);
    Atomics.store(wake, 0, WAKE_AGAIN); // the writer committed during the pass
    expect(settleWake(wake, false)).toBe(true);
    expect(Atomics.load(wake, 0)).toBe(WAKE_ARMED);
    expect(settleWake(wake, true)).toBe(true); // frames left (a reader held them): try again
    expect(Atomics.load(wake, 0)).toBe(WAKE_ARMED);
  });
});
