/**
 * What the benchmark measures of a running faultline from outside: readiness over the health API, and
 * stored events read straight from its SQLite database (read-only).
 */
import { DatabaseSync } from "node:sqlite";
import type { RegistrySummary } from "../../src/cluster/registry.ts";
import { sleep } from "../../src/runtime/sleep.ts";
import { parseBenchContext, wallMs } from "./context.ts";
import { IntakeTail } from "./intake-tail.ts";

/** Reads `GET <base>/health`'s summary; null when the server does not answer (yet). */
export async function healthSummary(base: string): Promise<RegistrySummary | null> {
  try {
    const response = await fetch(`${base}/health`, { signal: AbortSignal.timeout(2000) });
    if (!response.ok) return null;
    const body = (await response.json()) as { summary?: RegistrySummary };
    return body.summary ?? null;
  } catch {
    return null;
  }
}

/** One stored benchmark event as seen by a poll of the database. */
export interface ObservedEvent {
  seq: number;
  tag: string;
  /** When the simulator sent it (wall-clock ms). */
  sendMs: number;
  /** `received_ms` of the row: when faultline received it (ms precision). */
  receivedMs: number;
  /** Start of the first poll that saw the row committed (wall-clock ms): an upper bound of the commit time. */
  seenMs: number;
  /**
   * False: the first sighting of the event committed (in the intake journal, or already recorded as its
   * incident's). True: the sighting of it recorded as its incident's (in `events`: built, dispatchable).
   * An event seen first in `events` is reported twice, once of each, with the same `seenMs`.
   */
  built: boolean;
}

/** Counts and reads faultline's stored events. */
export interface StoredEvents {
  /**
   * Events stored so far, durable: those recorded as their incident's (the highest `events.id`, ids
   * being sequential) plus those committed to the intake journal and not built yet (its file's lines
   * above the mark; `event_log` rows before schema version 12).
   */
  count(): Promise<number>;
  /** Events recorded as their incident's so far (the highest `events.id`): built, ready to dispatch. */
  built(): Promise<number>;
  /** Benchmark events stored since the last call, stamped with `seenMs`. */
  readNew(seenMs: number): ObservedEvent[];
  /** Makes {@link readNew} start after everything stored so far. */
  skipToEnd(): void;
  /** Incidents stored so far (each a fault never seen before, or one seen outside the dedup window). */
  incidents(): number;
  close(): void;
}

interface EventRow {
  id: number;
  received_ms: number;
  context: string | null;
}

interface JournaledRow {
  id: number;
  received_at: string | null;
  context: string | null;
}

/**
 * Opens faultline's database `dbFile` read-only (faultline creates it, with its `events` table, before its
 * health server answers).
 */
export function openStoredEvents(dbFile: string): StoredEvents {
  const db = new DatabaseSync(dbFile, { readOnly: true });
  const has = (name: string): boolean =>
    db.prepare("SELECT 1 FROM sqlite_master WHERE name = $name").get({ name }) !== undefined;
  // Schema version 12 keeps the journal in a file of its own; 10 and 11 in `event_log` (a
  // `--faultline-main` of an older tree); before 10 there is none.
  return has("intake_mark") ? openWithIntakeFile(db, dbFile) : openWithEventLog(db, has("event_log"));
}

/** What the readers of both journals share: `events`, and the incidents. */
function eventReads(db: DatabaseSync) {
  const maxIdQuery = db.prepare("SELECT max(id) AS id FROM events");
  const newer = db.prepare(
    "SELECT id, received_ms, json_extract(event, '$.context') AS context FROM events WHERE id > $after ORDER BY id",
  );
  const incidentCount = db.prepare("SELECT count(*) AS n FROM incidents");
  return {
    maxId: (): number => (maxIdQuery.get() as { id: number | null } | undefined)?.id ?? 0,
    newer: (after: number) => newer.all({ after }) as unknown as EventRow[],
    incidents: () => Number((incidentCount.get() as { n: number } | undefined)?.n ?? 0),
  };
}

/** Reports the events built since `lastId`, each also as committed unless its journal line was seen. */
function reportBuilt(
  rows: readonly EventRow[],
  seen: Set<string>,
  seenMs: number,
  out: ObservedEvent[],
): void {
  for (const row of rows) {
    const parsed = parseBenchContext(row.context);
    if (parsed === null) continue;
    const event = { ...parsed, receivedMs: row.received_ms, seenMs };
    if (!seen.delete(row.context as string)) out.push({ ...event, built: false });
    out.push({ ...event, built: true });
  }
}

/**
 * Schema version 12: the journal's lines read from its file as it grows (`intake-tail.ts`); the events
 * durable are those built (`events`) and the lines above the mark, the mark and `events` read in one
 * statement, the file's last line after it (a line built in between is counted once, as a line).
 */
function openWithIntakeFile(db: DatabaseSync, dbFile: string): StoredEvents {
  const reads = eventReads(db);
  const tail = new IntakeTail(dbFile);
  const builtQuery = db.prepare(
    "SELECT coalesce((SELECT max(id) FROM events), 0) AS built, (SELECT built_through FROM intake_mark) AS mark",
  );
  const markQuery = db.prepare("SELECT built_through AS mark FROM intake_mark");
  const durable = (): number => {
    // The file first: a line appended after this look is not counted yet; one built after it is counted
    // once (the mark has not passed it, or its event is counted and the mark has).
    const last = tail.lastSeq();
    const { built, mark } = builtQuery.get() as { built: number; mark: number };
    return built + Math.max(0, last - mark);
  };
  let lastId = reads.maxId();
  tail.skipToEnd();
  /** Every line up to this seq was reported from `events` (built) already. */
  let reportedThrough = 0;
  const seen = new Set<string>();
  return {
    count: async () => durable(),
    built: async () => reads.maxId(),
    readNew: (seenMs) => {
      const out: ObservedEvent[] = [];
      // The file first: a line built after this look is seen in `events` below, reported once of each;
      // one built before it was, and is not reported again from here.
      for (const record of tail.poll()) {
        if (record.seq <= reportedThrough) continue;
        const event = JSON.parse(record.event) as { received_at?: string; context?: string | null };
        const context = event.context ?? null;
        const parsed = parseBenchContext(context);
        if (parsed === null || seen.has(context as string)) continue;
        seen.add(context as string);
        out.push({ ...parsed, receivedMs: Date.parse(event.received_at ?? ""), seenMs, built: false });
      }
      // `events` and the mark in one snapshot: every line up to the mark is among the events read.
      db.exec("BEGIN");
      let rows: EventRow[];
      try {
        rows = reads.newer(lastId);
        reportedThrough = (markQuery.get() as { mark: number }).mark;
      } finally {
        db.exec("COMMIT");
      }
      if (rows.length > 0) lastId = (rows.at(-1) as EventRow).id;
      reportBuilt(rows, seen, seenMs, out);
      return out;
    },
    skipToEnd: () => {
      tail.skipToEnd();
      lastId = reads.maxId();
      seen.clear();
    },
    incidents: reads.incidents,
    close: () => {
      tail.close();
      db.close();
    },
  };
}

/** Schema versions 10 and 11 (the journal in `event_log`), and before (no journal). */
function openWithEventLog(db: DatabaseSync, journaled: boolean): StoredEvents {
  const reads = eventReads(db);
  // The journal's rows are counted from its first and last seq, two lookups: `count(*)` walks every page
  // of the table (~5 ms a poll with 20,000 rows waiting, every 5 ms: half a core taken from the machine
  // during faultline's bursts). The rows waiting are contiguous: a build deletes every row up to a seq,
  // and an append takes the next seq (AUTOINCREMENT, one writer).
  const durableQuery = db.prepare(
    journaled
      ? "SELECT coalesce((SELECT max(id) FROM events), 0) + coalesce((SELECT max(seq) FROM event_log) - (SELECT min(seq) FROM event_log) + 1, 0) AS n"
      : "SELECT coalesce(max(id), 0) AS n FROM events",
  );
  const durable = (): number => Number((durableQuery.get() as { n: number } | undefined)?.n ?? 0);
  // The journal's rows (not built yet) read in the same snapshot as `events`: one read transaction.
  const newerJournaled = journaled
    ? db.prepare(
        "SELECT seq AS id, json_extract(event, '$.received_at') AS received_at, json_extract(event, '$.context') AS context FROM event_log WHERE seq > $after ORDER BY seq",
      )
    : null;
  const maxSeqQuery = journaled ? db.prepare("SELECT max(seq) AS seq FROM event_log") : null;
  const maxSeq = (): number => (maxSeqQuery?.get() as { seq: number | null } | undefined)?.seq ?? 0;
  let lastId = reads.maxId();
  let lastSeq = maxSeq();
  // Benchmark events already reported committed (their context), so that building them reports only `built`.
  const seen = new Set<string>();
  return {
    count: async () => durable(),
    built: async () => reads.maxId(),
    readNew: (seenMs) => {
      const out: ObservedEvent[] = [];
      db.exec("BEGIN");
      try {
        for (const row of (newerJournaled?.all({ after: lastSeq }) ?? []) as unknown as JournaledRow[]) {
          lastSeq = row.id;
          const parsed = parseBenchContext(row.context);
          if (parsed === null || seen.has(row.context as string)) continue;
          seen.add(row.context as string);
          out.push({ ...parsed, receivedMs: Date.parse(row.received_at ?? ""), seenMs, built: false });
        }
        const rows = reads.newer(lastId);
        if (rows.length > 0) lastId = (rows.at(-1) as EventRow).id;
        reportBuilt(rows, seen, seenMs, out);
      } finally {
        db.exec("COMMIT");
      }
      return out;
    },
    skipToEnd: () => {
      // One snapshot: an event built between two reads would be reported again, as new.
      db.exec("BEGIN");
      try {
        lastId = reads.maxId();
        lastSeq = maxSeq();
      } finally {
        db.exec("COMMIT");
      }
      seen.clear();
    },
    incidents: reads.incidents,
    close: () => db.close(),
  };
}

/** Result of waiting for a count to reach a target. */
export interface CountWait {
  /** Count reached (may fall short of the target when it stopped growing). */
  count: number;
  /** When the target was first seen reached, or when the last growth was seen. */
  atMs: number;
  complete: boolean;
}

/**
 * Polls `count()` every `intervalMs` until it reaches `base + target`, or until it has not grown for
 * `stallMs`. Counts are relative to `base`.
 */
export async function waitForCount(
  count: () => Promise<number>,
  base: number,
  target: number,
  intervalMs: number,
  stallMs: number,
): Promise<CountWait> {
  let last = -1;
  let lastGrowthMs = wallMs();
  for (;;) {
    const probeMs = wallMs();
    const now = (await count()) - base;
    if (now >= target) return { count: now, atMs: probeMs, complete: true };
    if (now > last) {
      last = now;
      lastGrowthMs = probeMs;
    } else if (probeMs - lastGrowthMs > stallMs) {
      return { count: last, atMs: lastGrowthMs, complete: false };
    }
    await sleep(intervalMs);
  }
}
