/**
 * The SQLite store's upkeep, beside its main job: when each cluster was last known alive (the restart
 * gap's state), and retention's deletes ({@link MaintenanceStore}), and the file's space accounting
 * ({@link FileSpace}, as `maintenance.file`). Reached as `store.maintenance`; every call is one short
 * transaction or read through the store's own error handling.
 */
import type { FaultEvent } from "../events/fault.ts";
import type { SqlDatabase } from "../runtime/sqlite.ts";
import type { ClusterLiveness } from "./model.ts";
import {
  enableIncrementalVacuum,
  type PrunedBatch,
  pruneBatch,
  reclaimPages,
  type SpaceStats,
  spaceStats,
} from "./prune.ts";
import { parseStoredEvent, type Statements } from "./rows.ts";
import type { FileSpace, MaintenanceStore } from "./store-api.ts";

/**
 * How upkeep reaches the database: the store's write (IMMEDIATE transaction) and read, with its errors;
 * `rewrite` for work that writes outside a transaction (incremental vacuum), so the WAL checkpointer
 * hears of it as of a commit.
 */
export interface StoreAccess {
  write<T>(action: string, work: () => T): T;
  read<T>(action: string, work: () => T): T;
  rewrite<T>(action: string, work: () => T): T;
}

/** Liveness and retention on the store's database, and its file's space under {@link file}. */
export class StoreMaintenance implements MaintenanceStore {
  readonly #db: SqlDatabase;
  readonly #statements: Statements;
  readonly #access: StoreAccess;
  /** The database file's space upkeep. */
  readonly file: SqliteFileSpace;

  /** Built by the store over its own database, statements and error handling. */
  constructor(db: SqlDatabase, statements: Statements, access: StoreAccess) {
    this.#db = db;
    this.#statements = statements;
    this.#access = access;
    this.file = new SqliteFileSpace(db, access);
  }

  /** Records when clusters were last known alive and their session ids (one transaction for the batch). */
  recordLiveness(reports: readonly ClusterLiveness[]): void {
    if (reports.length === 0) return;
    this.#access.write("record cluster liveness", () => {
      for (const report of reports) this.#statements.recordLiveness.run(report);
    });
  }

  /** Every cluster's last recorded liveness (what a previous faultline left). */
  liveness(): ClusterLiveness[] {
    return this.#access.read("read cluster liveness", () => this.#statements.liveness.all());
  }

  /** The newest event of each of `cluster`'s incidents received at or after `sinceMs`: at most `limit`, newest first. */
  recentEvents(cluster: string, sinceMs: number, limit: number): FaultEvent[] {
    return this.#access.read("read recent events", () =>
      this.#statements.recentEvents
        .all({ cluster, since: sinceMs, limit })
        .map((row) => parseStoredEvent(row.event)),
    );
  }

  /**
   * Retention: deletes up to `limit` finished incidents (never queued or running) whose last event and
   * last change are before `cutoff`, with their events and runs, in one transaction.
   */
  pruneFinished(cutoff: Date, limit: number): PrunedBatch {
    return this.#access.write("delete old incidents", () => pruneBatch(this.#db, cutoff.getTime(), limit));
  }
}

/** Space upkeep of the SQLite file: page accounting, incremental vacuum, WAL checkpoints. */
export class SqliteFileSpace implements FileSpace {
  readonly #db: SqlDatabase;
  readonly #access: StoreAccess;

  /** Built by {@link StoreMaintenance} over the store's database and error handling. */
  constructor(db: SqlDatabase, access: StoreAccess) {
    this.#db = db;
    this.#access = access;
  }

  /** Gives up to `pages` free pages back to the file system; returns how many. */
  reclaimSpace(pages: number): number {
    return this.#access.rewrite("reclaim free space", () => reclaimPages(this.#db, pages));
  }

  /** The database's page accounting. */
  space(): SpaceStats {
    return this.#access.read("read the database size", () => spaceStats(this.#db));
  }

  /** Switches the file to incremental auto-vacuum, rewriting it once if it has data; true if it did. */
  enableIncrementalVacuum(): boolean {
    return this.#access.rewrite("enable incremental vacuum", () => enableIncrementalVacuum(this.#db));
  }

  /** Copies the write-ahead log into the database and truncates it (after a large delete). */
  checkpoint(): void {
    this.#access.read("checkpoint the write-ahead log", () =>
      this.#db.exec("PRAGMA wal_checkpoint(TRUNCATE)"),
    );
  }
}
