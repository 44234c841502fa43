/**
 * The bench's reader of faultline's database (`openStoredEvents`), over a real store: events committed to
 * the intake journal count as stored (durable) before they are built, the count stays exact as the journal
 * is built (its rows deleted, their events written), and `readNew` reports each benchmark event once
 * committed (from the journal) and once built.
 */
import { expect, test } from "bun:test";
import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { benchContext } from "../../scripts/bench/context.ts";
import { IntakeTail } from "../../scripts/bench/intake-tail.ts";
import { openStoredEvents } from "../../scripts/bench/measure.ts";
import { intakeLine } from "../../src/incidents/journal-file.ts";
import { SqliteStore } from "../../src/incidents/store.ts";
import { makeFault } from "../helpers/fault.ts";
import { tempDir } from "../helpers/tmp.ts";

test("journaled events count as stored before they are built; readNew reports each committed, then built", async () => {
  const dir = tempDir("faultline-bench-measure-");
  const store = SqliteStore.open(dir.path);
  const stored = openStoredEvents(join(dir.path, "faultline.db"));
  try {
    const sentMs = Date.now() - 5;
    const item = (i: number) => ({
      event: makeFault({ fault_id: `f-${i}`, at: new Date(), context: benchContext("t", i, sentMs) }),
      decision: { action: "skip", reason: "no_agent" } as const,
    });
    // Two recorded as incidents at once, then five journaled in two appends.
    store.ingest([item(0), item(1)]);
    store.journal?.append([item(2), item(3), item(4)]);
    store.journal?.append([item(5), item(6)]);
    expect(await stored.count()).toBe(7);
    expect(await stored.built()).toBe(2);
    const first = stored.readNew(Date.now());
    expect(first.filter((e) => !e.built).map((e) => e.seq)).toEqual([2, 3, 4, 5, 6, 0, 1]);
    expect(first.filter((e) => e.built).map((e) => e.seq)).toEqual([0, 1]);
    expect(first.every((e) => e.tag === "t" && e.sendMs === Number(sentMs.toFixed(3)))).toBe(true);

    // Built in part: the count is still every event once.
    store.journal?.build(4);
    expect(await stored.count()).toBe(7);
    expect(await stored.built()).toBe(6);
    const second = stored.readNew(Date.now());
    expect(second.map((e) => [e.seq, e.built])).toEqual([
      [2, true],
      [3, true],
      [4, true],
      [5, true],
    ]);
    store.journal?.build(4);
    store.journal?.append([item(7)]);
    expect(await stored.count()).toBe(8);
    const third = stored.readNew(Date.now());
    expect(third.map((e) => [e.seq, e.built])).toEqual([
      [7, false],
      [6, true],
    ]);
  } finally {
    stored.close();
    store.close();
    dir.cleanup();
  }
});

test("the journal's file emptied or renamed under the reader: every event reported committed once, then built once", async () => {
  const dir = tempDir("faultline-bench-measure-");
  const sentMs = Date.now() - 5;
  const item = (i: number) => ({
    event: makeFault({ fault_id: `g-${i}`, at: new Date(), context: benchContext("u", i, sentMs) }),
    decision: { action: "skip", reason: "no_agent" } as const,
  });
  const reported = (events: readonly { seq: number; built: boolean }[]) =>
    events.map((e) => [e.seq, e.built]);
  for (const bytes of [
    { reset: 0, rotate: 1 << 30 }, // emptied after every build that leaves nothing waiting
    { reset: 1 << 30, rotate: 1 }, // renamed after every append while nothing renamed waits
  ]) {
    const stateDir = join(dir.path, `state-${bytes.reset}`);
    const store = SqliteStore.open(stateDir, { intakeFileBytes: bytes });
    const stored = openStoredEvents(join(stateDir, "faultline.db"));
    try {
      store.journal?.append([item(0), item(1), item(2)]);
      expect(reported(stored.readNew(Date.now()))).toEqual([
        [0, false],
        [1, false],
        [2, false],
      ]);
      store.journal?.build(10);
      store.journal?.append([item(3), item(4)]);
      expect(await stored.count()).toBe(5);
      expect(reported(stored.readNew(Date.now()))).toEqual([
        [3, false],
        [4, false],
        [0, true],
        [1, true],
        [2, true],
      ]);
      store.journal?.build(1);
      store.journal?.append([item(5)]);
      expect(await stored.count()).toBe(6);
      expect(reported(stored.readNew(Date.now()))).toEqual([
        [5, false],
        [3, true],
      ]);
    } finally {
      stored.close();
      store.close();
    }
  }
  dir.cleanup();
});

test("the journal's last seq is read from the file's end, also past lines longer than the first look", () => {
  const dir = tempDir("faultline-bench-measure-");
  const dbFile = join(dir.path, "faultline.db");
  const tail = new IntakeTail(dbFile);
  try {
    expect(tail.lastSeq()).toBe(0); // no file
    const long = `{"context":"${"x".repeat(40_000)}"}`;
    writeFileSync(`${dbFile}-intake`, `${intakeLine(1, "triage", "{}")}${intakeLine(2, "triage", long)}`);
    expect(tail.lastSeq()).toBe(2);
    appendFileSync(`${dbFile}-intake`, `${intakeLine(3, "triage", long)}3`); // and a torn line
    expect(tail.lastSeq()).toBe(3);
    writeFileSync(`${dbFile}-intake`, intakeLine(9, "triage", long)); // one line, the whole file
    expect(tail.lastSeq()).toBe(9);
    expect(tail.poll().map((record) => record.seq)).toEqual([9]);
  } finally {
    tail.close();
    dir.cleanup();
  }
});
