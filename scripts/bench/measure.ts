/**
 * What the benchmark measures of a running faultline from outside: readiness over the health API, and
 * stored events read straight from its SQLite database (read-only).
 */
import { DatabaseSync } from "node:sqlite";
import type { RegistrySummary } from "../../src/cluster/registry.ts";
import { sleep } from "../../src/runtime/sleep.ts";
import { parseBenchContext, wallMs } from "./context.ts";

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
   * being sequential) plus those committed to the intake journal and not built yet (`event_log` rows),
   * read in one statement.
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
  const maxIdQuery = db.prepare("SELECT max(id) AS id FROM events");
  const maxId = (): number => (maxIdQuery.get() as { id: number | null } | undefined)?.id ?? 0;
  // A faultline from before the journal (`--faultline-main` of an older tree) has no event_log.
  const journaled = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'event_log'").get() !== undefined;
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
  const newer = db.prepare(
    "SELECT id, received_ms, json_extract(event, '$.context') AS context FROM events WHERE id > $after ORDER BY id",
  );
  // The journal's rows (not built yet) read in the same snapshot as `events`: one read transaction.
  const newerJournaled = journaled
    ? db.prepare(
        "SELECT seq AS id, json_extract(event, '$.received_at') AS received_at, json_extract(event, '$.context') AS context FROM event_log WHERE seq > $after ORDER BY seq",
      )
    : null;
  const maxSeqQuery = journaled ? db.prepare("SELECT max(seq) AS seq FROM event_log") : null;
  const maxSeq = (): number => (maxSeqQuery?.get() as { seq: number | null } | undefined)?.seq ?? 0;
  const incidentCount = db.prepare("SELECT count(*) AS n FROM incidents");
  let lastId = maxId();
  let lastSeq = maxSeq();
  // Benchmark events already reported committed (their context), so that building them reports only `built`.
  const seen = new Set<string>();
  return {
    count: async () => durable(),
    built: async () => maxId(),
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
        for (const row of newer.all({ after: lastId }) as unknown as EventRow[]) {
          lastId = row.id;
          const parsed = parseBenchContext(row.context);
          if (parsed === null) continue;
          const event = { ...parsed, receivedMs: row.received_ms, seenMs };
          if (!seen.delete(row.context as string)) out.push({ ...event, built: false });
          out.push({ ...event, built: true });
        }
      } finally {
        db.exec("COMMIT");
      }
      return out;
    },
    skipToEnd: () => {
      // One snapshot: an event built between two reads would be reported again, as new.
      db.exec("BEGIN");
      try {
        lastId = maxId();
        lastSeq = maxSeq();
      } finally {
        db.exec("COMMIT");
      }
      seen.clear();
    },
    incidents: () => Number((incidentCount.get() as { n: number } | undefined)?.n ?? 0),
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
