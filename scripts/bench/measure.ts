/**
 * What the benchmark measures of a running faultline from outside: readiness over the health API, and
 * stored events read straight from its SQLite database (read-only), or, while there is no database, from
 * the health API's per-cluster `event_count`.
 */
import { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import { parseBenchContext, wallMs } from "./context.ts";
import { sleep } from "./proc.ts";

/** `GET /health` summary. */
export interface HealthSummary {
  total: number;
  active: number;
  unhealthy: number;
}

/** Reads `GET <base>/health`'s summary; null when the server does not answer (yet). */
export async function healthSummary(base: string): Promise<HealthSummary | null> {
  try {
    const response = await fetch(`${base}/health`, { signal: AbortSignal.timeout(2000) });
    if (!response.ok) return null;
    const body = (await response.json()) as { summary?: HealthSummary };
    return body.summary ?? null;
  } catch {
    return null;
  }
}

/** Sum of `event_count` over `GET <base>/health/clusters`. */
export async function healthEventCount(base: string): Promise<number> {
  const response = await fetch(`${base}/health/clusters`, { signal: AbortSignal.timeout(5000) });
  const body = (await response.json()) as { clusters?: Array<{ event_count?: number }> };
  return (body.clusters ?? []).reduce((sum, c) => sum + (c.event_count ?? 0), 0);
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
}

/** Where faultline's stored events are counted from. */
export type StoredSource = "db" | "health";

/** Counts and reads faultline's stored events. */
export interface StoredEvents {
  readonly source: StoredSource;
  /** Events stored so far (db: highest `events.id`, ids being sequential; health: sum of `event_count`). */
  count(): Promise<number>;
  /** Benchmark events stored since the last call (db only), stamped with `seenMs`. */
  readNew(seenMs: number): ObservedEvent[];
  /** Makes {@link readNew} start after everything stored so far. */
  skipToEnd(): void;
  close(): void;
}

interface EventRow {
  id: number;
  received_ms: number;
  context: string | null;
}

/**
 * Opens `<stateDir>/faultline.db` read-only when it exists and has an `events` table; otherwise counts
 * over the health API (and cannot see individual events).
 */
export function openStoredEvents(dbFile: string, healthBase: string): StoredEvents {
  if (existsSync(dbFile)) {
    const db = new Database(dbFile, { readonly: true });
    const table = db
      .query<{ n: number }, []>(
        "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'events'",
      )
      .get();
    if ((table?.n ?? 0) > 0) {
      const maxId = db.query<{ id: number | null }, []>("SELECT max(id) AS id FROM events");
      const newer = db.query<EventRow, { after: number }>(
        "SELECT id, received_ms, json_extract(event, '$.context') AS context FROM events WHERE id > $after ORDER BY id",
      );
      let lastId = maxId.get()?.id ?? 0;
      return {
        source: "db",
        count: async () => maxId.get()?.id ?? 0,
        readNew: (seenMs) => {
          const rows = newer.all({ after: lastId });
          const out: ObservedEvent[] = [];
          for (const row of rows) {
            lastId = row.id;
            const parsed = parseBenchContext(row.context);
            if (parsed) out.push({ ...parsed, receivedMs: row.received_ms, seenMs });
          }
          return out;
        },
        skipToEnd: () => {
          lastId = maxId.get()?.id ?? 0;
        },
        close: () => db.close(),
      };
    }
    db.close();
  }
  return {
    source: "health",
    count: () => healthEventCount(healthBase),
    readNew: () => [],
    skipToEnd: () => {},
    close: () => {},
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
