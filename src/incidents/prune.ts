/**
 * Retention's SQL: deleting finished incidents older than a cutoff, with their events and runs, in
 * bounded batches (each its own short write transaction, so ingest never waits long), and giving the
 * freed pages back to the file system a few at a time (`auto_vacuum = INCREMENTAL`).
 *
 * "Finished" is every status but `queued` and `running`: those are never touched. An incident's age is
 * its latest activity: its last event and its last change (an agent run that ended recently keeps it).
 */
import type { SqlDatabase } from "../runtime/sqlite.ts";

/** What one batch deleted. */
export interface PrunedBatch {
  /** Ids of the deleted incidents (their workspaces can go too). */
  ids: string[];
  events: number;
  runs: number;
}

/** The database file's page accounting. */
export interface SpaceStats {
  pageSize: number;
  pages: number;
  freePages: number;
  /** `none`, `full` or `incremental`. */
  autoVacuum: "none" | "full" | "incremental";
}

/** Statuses retention may delete. */
export const PRUNABLE_STATUSES = ["succeeded", "failed", "timed_out", "skipped", "interrupted"] as const;

const OLDEST_FINISHED = `
SELECT seq, id FROM incidents
WHERE status IN (${PRUNABLE_STATUSES.map((s) => `'${s}'`).join(", ")})
  AND updated_ms < $cutoff AND last_seen_ms < $cutoff
ORDER BY updated_ms
LIMIT $limit`;

/**
 * Deletes up to `limit` finished incidents whose last activity is before `cutoffMs`, with their events,
 * runs (and outputs) and notifications. Call inside a write transaction.
 */
export function pruneBatch(db: SqlDatabase, cutoffMs: number, limit: number): PrunedBatch {
  const rows = db.query<{ seq: number; id: string }, { cutoff: number; limit: number }>(OLDEST_FINISHED).all({
    cutoff: cutoffMs,
    limit,
  });
  if (rows.length === 0) return { ids: [], events: 0, runs: 0 };
  const seqs = JSON.stringify(rows.map((r) => r.seq));
  const inBatch = "IN (SELECT value FROM json_each($seqs))";
  const remove = (sql: string) => db.query<never, { seqs: string }>(sql).run({ seqs }).changes;
  const events = remove(`DELETE FROM events WHERE incident_seq ${inBatch}`);
  remove(`DELETE FROM run_outputs WHERE run_id IN (SELECT id FROM runs WHERE incident_seq ${inBatch})`);
  // Their messages go too (a message is shared only by the sinks of one change, so of one incident).
  const messageIds = JSON.stringify(
    db
      .query<{ message_id: number }, { seqs: string }>(
        `SELECT DISTINCT message_id FROM notifications WHERE incident_seq ${inBatch}`,
      )
      .all({ seqs })
      .map((row) => row.message_id),
  );
  remove(`DELETE FROM notifications WHERE incident_seq ${inBatch}`);
  db.query<never, { ids: string }>(
    "DELETE FROM notification_messages WHERE id IN (SELECT value FROM json_each($ids))",
  ).run({ ids: messageIds });
  const runs = remove(`DELETE FROM runs WHERE incident_seq ${inBatch}`);
  remove(`DELETE FROM incident_legacy_ids WHERE seq ${inBatch}`);
  remove(`DELETE FROM incidents WHERE seq ${inBatch}`);
  return { ids: rows.map((r) => r.id), events, runs };
}

/** Frees up to `pages` unused pages at the end of the file (incremental auto-vacuum); returns how many went. */
export function reclaimPages(db: SqlDatabase, pages: number): number {
  const before = spaceStats(db).freePages;
  db.exec(`PRAGMA incremental_vacuum(${Math.max(1, Math.floor(pages))})`);
  return before - spaceStats(db).freePages;
}

/** Page size, page count, free pages and the auto-vacuum mode. */
export function spaceStats(db: SqlDatabase): SpaceStats {
  const pragma = (name: string) => db.query<Record<string, number>>(`PRAGMA ${name}`).get()?.[name] ?? 0;
  const modes = ["none", "full", "incremental"] as const;
  return {
    pageSize: pragma("page_size"),
    pages: pragma("page_count"),
    freePages: pragma("freelist_count"),
    autoVacuum: modes[pragma("auto_vacuum")] ?? "none",
  };
}

/**
 * Makes the file give freed pages back incrementally. A new, empty database only needs the pragma; an
 * existing one is rewritten once (`VACUUM`, which needs free disk space about the database's size and
 * takes seconds per gigabyte: see README, Retention). Returns true when it had to rewrite.
 */
export function enableIncrementalVacuum(db: SqlDatabase): boolean {
  if (spaceStats(db).autoVacuum === "incremental") return false;
  db.exec("PRAGMA auto_vacuum = INCREMENTAL");
  const hasTables = (db.query<{ n: number }>("SELECT count(*) n FROM sqlite_master").get()?.n ?? 0) > 0;
  if (!hasTables) return false;
  db.exec("VACUUM");
  // In WAL mode the rewritten file first lands in the log: fold it back so the disk holds one copy.
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  return true;
}
