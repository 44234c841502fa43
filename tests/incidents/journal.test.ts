/**
 * The SQLite store's intake journal (`src/incidents/journal.ts`) on real files: a batch appended is
 * durable at once (a line in its file) and built later into exactly what `ingest` would have recorded; an
 * entry is built once (the mark commits with its incident); what a killed process appended is built at the next open,
 * before anything else; nothing is recorded past an entry not built yet; a failed build changes nothing.
 */
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FaultEvent } from "../../src/events/fault.ts";
import type { IngestItem, IngestResult } from "../../src/incidents/model.ts";
import { StoreError } from "../../src/incidents/model.ts";
import { SqliteStore } from "../../src/incidents/store.ts";
import { numberedFault } from "../helpers/fault.ts";
import { intakePath, intakeWaiting } from "../helpers/intake.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir("faultline-journal-");
afterAll(dir.cleanup);

const STORE_MODULE = join(import.meta.dir, "../../src/incidents/store.ts");
const NOW = new Date("2026-11-25T03:10:00.000Z");
let stateDirs = 0;

function freshStateDir(): string {
  return join(dir.path, `state-${++stateDirs}`);
}

/** Opened as `faultline run` opens it: what the journal holds from before is built at open. */
function openStore(stateDir: string): SqliteStore {
  return SqliteStore.open(stateDir, { now: () => NOW, maxQueue: 3, buildJournal: true });
}

/** Event `n` of fault `f<n % faults>` on cluster `c<n % 2>`, received at 03:05:00 + n ms. */
function fault(n: number, faults: number): FaultEvent {
  return numberedFault(n, faults, "2026-11-25T03:05:00.000Z");
}

/** Items 0..count-1, every third skipped as below threshold, the rest for triage. */
function items(count: number, faults: number, from = 0): IngestItem[] {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    return {
      event: fault(n, faults),
      decision: n % 3 === 0 ? { action: "skip", reason: "below_threshold" } : { action: "triage" },
    };
  });
}

/** What a result says, without the store's row ids. */
function summary(results: readonly IngestResult[]) {
  return results.map((r) => ({
    incident: r.incident.id,
    status: r.incident.status,
    skip: r.incident.skip_reason,
    count: r.incident.count,
    created: r.created,
    queued: r.queued,
  }));
}

function dbRows<T>(stateDir: string, sql: string): T[] {
  const db = new Database(join(stateDir, "faultline.db"), { readonly: true });
  try {
    return db.query<T, []>(sql).all();
  } finally {
    db.close();
  }
}

/** Rows in `table`; for "journal", the journal's entries not built yet (its file's lines above the mark). */
const count = (stateDir: string, table: string): number =>
  table === "journal"
    ? intakeWaiting(stateDir).length
    : (dbRows<{ n: number }>(stateDir, `SELECT count(*) AS n FROM ${table}`)[0]?.n ?? -1);

test("appended, then built: what ingest records (incidents, events, counts, queue bound), and the journal empty", () => {
  const direct = openStore(freshStateDir());
  const journaledDir = freshStateDir();
  const journaled = openStore(journaledDir);
  try {
    const batch = items(40, 7);
    const expected = summary([...direct.ingest(batch.slice(0, 25)), ...direct.ingest(batch.slice(25))]);

    journaled.journal.append(batch.slice(0, 25));
    journaled.journal.append(batch.slice(25));
    expect(journaled.journal.pending).toBe(40);
    expect(count(journaledDir, "journal")).toBe(40); // durable before anything is built
    expect(count(journaledDir, "incidents")).toBe(0);

    const built = [...journaled.journal.build(25), ...journaled.journal.build(100)];
    expect(summary(built)).toEqual(expected);
    expect(journaled.journal.pending).toBe(0);
    expect(journaled.journal.build(10)).toEqual([]);
    expect(count(journaledDir, "journal")).toBe(0);
    expect(journaled.list({ limit: 100 }).map((i) => [i.id, i.count, i.status])).toEqual(
      direct.list({ limit: 100 }).map((i) => [i.id, i.count, i.status]),
    );
    expect(journaled.countsByCluster()).toEqual(direct.countsByCluster());
    expect(journaled.queueDepth()).toBe(3); // the bound held: the rest queue_full
    // Events are stored as the same JSON text.
    const eventsOf = (store: SqliteStore) =>
      store.list({ limit: 100 }).flatMap((i) => store.get(i.id)?.events.map((e) => e.event) ?? []);
    expect(eventsOf(journaled)).toEqual(eventsOf(direct));
  } finally {
    direct.close();
    journaled.close();
  }
});

test("ingest while entries wait builds them first: a repeat ingested after its fault was journaled joins its incident", () => {
  const store = openStore(freshStateDir());
  try {
    store.journal.append([{ event: fault(0, 1), decision: { action: "triage" } }]);
    const [repeat] = store.ingest([{ event: fault(2, 1), decision: { action: "triage" } }]);
    expect(store.journal.pending).toBe(0);
    expect(repeat?.created).toBe(false);
    expect(repeat?.incident.count).toBe(2);
    expect(store.list({ limit: 10 })).toHaveLength(1);
  } finally {
    store.close();
  }
});

test("a failed build changes nothing: the entries wait, their rows stay, and the next build records them once", () => {
  const stateDir = freshStateDir();
  const store = openStore(stateDir);
  try {
    store.journal.append(items(10, 10));
    store.journal.append([
      { event: { ...fault(10, 100), context: "poison" }, decision: { action: "triage" } },
    ]);
    // Another connection makes the 11th event's insert fail (as a full disk would fail the commit).
    const other = new Database(join(stateDir, "faultline.db"));
    other.exec(
      "CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.event LIKE '%poison%' BEGIN SELECT RAISE(ABORT, 'poisoned'); END",
    );
    expect(() => store.journal.build(100)).toThrow(StoreError);
    expect(store.journal.pending).toBe(11);
    expect(count(stateDir, "journal")).toBe(11);
    expect(count(stateDir, "incidents")).toBe(0);
    expect(count(stateDir, "events")).toBe(0);
    other.exec("DROP TRIGGER poison");
    other.close();
    const built = store.journal.build(100);
    expect(built).toHaveLength(11);
    expect(built.every((r) => r.created)).toBe(true);
    expect(count(stateDir, "incidents")).toBe(11);
    expect(count(stateDir, "journal")).toBe(0);
  } finally {
    store.close();
  }
});

test("a process killed after appending: the next open builds every row once, before anything else", () => {
  const stateDir = freshStateDir();
  // First, incidents a repeat in the journal must join.
  const first = openStore(stateDir);
  first.ingest(items(5, 5));
  first.close();
  const script = join(dir.path, "append-then-die.ts");
  Bun.write(
    script,
    `import { SqliteStore } from ${JSON.stringify(STORE_MODULE)};
const store = SqliteStore.open(process.argv[2], { now: () => new Date(${NOW.getTime()}) });
const at = (n) => new Date(Date.parse("2026-11-25T03:05:00.000Z") + n).toISOString();
const event = (n) => ({ cluster: "c" + (n % 2), labels: {}, fault_id: "f" + (n % 8), fault_type: "CrashLoop",
  severity: "critical", resource: { apiVersion: "v1", kind: "Pod", name: "pod-" + (n % 8), namespace: "shop", uid: null },
  context: "ctx", timestamp: at(n), received_at: at(n), raw: {} });
store.journal.append(Array.from({ length: 16 }, (_, i) => ({ event: event(5 + i), decision: { action: "triage" } })));
process.kill(process.pid, "SIGKILL");
`,
  );
  const child = spawnSync(process.execPath, [script, stateDir], { stdio: "inherit" });
  expect(child.signal).toBe("SIGKILL");
  expect(count(stateDir, "journal")).toBe(16);
  expect(count(stateDir, "events")).toBe(5);

  const reopened = openStore(stateDir);
  try {
    expect(reopened.journal.pending).toBe(0);
    expect(count(stateDir, "journal")).toBe(0);
    expect(count(stateDir, "events")).toBe(21);
    // Faults f0..f7 on their clusters: f0-f4 existed (joined), f5-f7 new; n and n+8 share a fault.
    const incidents = reopened.list({ limit: 100 });
    const perFault = new Map<string, number>();
    for (const i of incidents)
      perFault.set(`${i.cluster}/${i.fault_id}`, (perFault.get(`${i.cluster}/${i.fault_id}`) ?? 0) + 1);
    expect([...perFault.values()].every((n) => n === 1)).toBe(true);
    expect(incidents.reduce((sum, i) => sum + i.count, 0)).toBe(21);
  } finally {
    reopened.close();
  }
  // Built once: opening again builds nothing more.
  const again = openStore(stateDir);
  again.close();
  expect(count(stateDir, "events")).toBe(21);
});

test("another process opening the file builds what waits (as after a crash); this one then builds none of it again", () => {
  const stateDir = freshStateDir();
  const running = openStore(stateDir);
  try {
    running.journal.append(items(10, 10));
    const other = openStore(stateDir); // a second store on the file, opened as `faultline run` opens it
    other.close();
    expect(count(stateDir, "events")).toBe(10);
    expect(count(stateDir, "journal")).toBe(0);
    // Appended after the other store built them, before this store built its stale entries: new seqs
    // (above its own last), and the mark says the stale ones were built elsewhere: only the new are built.
    running.journal.append(items(4, 100, 10));
    const built = running.journal.build(100);
    expect(built.map((r) => [r.incident.fault_id, r.created])).toEqual([
      ["f10", true],
      ["f11", true],
      ["f12", true],
      ["f13", true],
    ]);
    expect(running.journal.pending).toBe(0);
    expect(count(stateDir, "events")).toBe(14);
    expect(count(stateDir, "incidents")).toBe(14);
  } finally {
    running.close();
  }
});

test("left by a crash: the CLI's open leaves the rows; faultline run's open builds them, with their messages", () => {
  const stateDir = freshStateDir();
  const crashed = openStore(stateDir);
  crashed.journal.append(items(6, 3)); // 3 faults (f0-f2) on two clusters: 6 incidents
  crashed.close(); // closed unbuilt, as a crash leaves it
  const cli = SqliteStore.open(stateDir); // as the CLI's commands open it: no buildJournal
  expect(cli.journal.pending).toBe(0);
  cli.close();
  expect(count(stateDir, "journal")).toBe(6);
  const run = SqliteStore.open(stateDir, {
    now: () => NOW,
    buildJournal: true,
    notify: ({ trigger, incident }) => [
      {
        sink: "ops",
        idempotency_key: `${trigger}:${incident.id}`,
        message: JSON.stringify({ id: incident.id }),
      },
    ],
  });
  try {
    expect(count(stateDir, "journal")).toBe(0);
    const opened = run
      .list({ limit: 100 })
      .map((i) => i.id)
      .sort();
    expect(opened).toHaveLength(6);
    const messages = dbRows<{ idempotency_key: string }>(
      stateDir,
      "SELECT idempotency_key FROM notifications",
    );
    expect(messages.map((m) => m.idempotency_key).sort()).toEqual(opened.map((id) => `opened:${id}`).sort());
  } finally {
    run.close();
  }
});

test("a journal entry this build cannot read is a clear error at open, naming the file and the entry; nothing is changed", () => {
  const stateDir = freshStateDir();
  const store = openStore(stateDir);
  store.journal.append(items(2, 2));
  store.close(); // closed unbuilt (a crash would leave the same lines)
  const file = intakePath(stateDir);
  const text = readFileSync(file, "utf8");
  const last = text.lastIndexOf("\ttriage\t");
  writeFileSync(file, `${text.slice(0, last)}\tmaybe\t${text.slice(last + "\ttriage\t".length)}`);
  let thrown: unknown;
  try {
    openStore(stateDir).close();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(StoreError);
  expect(String((thrown as Error).message)).toContain(`${file}: seq 2 cannot be read`);
  expect(String((thrown as Error).message)).toContain('"maybe"');
  expect(count(stateDir, "journal")).toBe(2);
  expect(count(stateDir, "incidents")).toBe(0);
});
