/**
 * Retention: at start and then hourly, deletes finished incidents older than `retention.days` with
 * their events, runs and workspaces, then (for a store kept in a file of ours, SQLite:
 * `maintenance.file`) gives the freed space back to the file system a few pages at a time. Queued and running incidents are never touched. Work is done in small batches with the
 * event loop free in between, so ingest and the HTTP API keep going while a large backlog is pruned.
 */
import { rm } from "node:fs/promises";
import { setImmediate as nextTurn } from "node:timers/promises";
import { workspacePath } from "../agent/workspace.ts";
import { errorMessage, logger } from "../log.ts";
import { errnoCode } from "../runtime/errno.ts";
import type { FileSpace, IncidentStore } from "./store-api.ts";

const log = logger({ component: "retention" });

/** Incidents deleted per transaction. */
export const PRUNE_BATCH = 500;
/** Pages (4 KiB each by default) given back per step. */
export const RECLAIM_PAGES = 2048;
/** How often retention runs after the first time. */
export const RETENTION_INTERVAL_MS = 3_600_000;

/** What one retention pass did. */
export interface RetentionReport {
  incidents: number;
  events: number;
  runs: number;
  workspaces: number;
  /** Bytes the database file gave back. */
  reclaimed_bytes: number;
  /** True when the file was first switched to incremental vacuum (rewritten once). */
  converted: boolean;
  duration_ms: number;
}

/** Options for {@link Retention}. */
export interface RetentionOptions {
  store: IncidentStore;
  stateDir: string;
  /** `retention.days`, read at every pass (a reload may change it); 0 keeps everything. */
  days: () => number;
  intervalMs?: number;
  now?: () => Date;
}

/** Runs retention passes, one at a time. */
export class Retention {
  readonly #options: RetentionOptions;
  #timer: ReturnType<typeof setInterval> | undefined;
  #running: Promise<RetentionReport | null> | null = null;
  #stopped = false;

  constructor(options: RetentionOptions) {
    this.#options = options;
  }

  /** Runs a pass now (in the background) and then every interval. */
  start(): void {
    void this.run();
    this.#timer = setInterval(() => void this.run(), this.#options.intervalMs ?? RETENTION_INTERVAL_MS);
    this.#timer.unref?.();
  }

  /** Stops the timer and waits for a pass in progress (it stops between batches). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#running;
  }

  /** One pass, or the one already running; null when retention is off or stopped. Never rejects. */
  run(): Promise<RetentionReport | null> {
    this.#running ??= this.#pass()
      .catch((error: unknown) => {
        log.error("retention pass failed; next try in an hour", { error: errorMessage(error) });
        return null;
      })
      .finally(() => {
        this.#running = null;
      });
    return this.#running;
  }

  async #pass(): Promise<RetentionReport | null> {
    const days = this.#options.days();
    if (days <= 0 || this.#stopped) return null;
    const { store, stateDir } = this.#options;
    const file = store.maintenance.file;
    const started = performance.now();
    const converted = file ? this.#enableIncrementalVacuum(file, store.location) : false;
    const cutoff = new Date((this.#options.now?.() ?? new Date()).getTime() - days * 86_400_000);
    const report: RetentionReport = {
      incidents: 0,
      events: 0,
      runs: 0,
      workspaces: 0,
      reclaimed_bytes: 0,
      converted,
      duration_ms: 0,
    };
    for (
      let batch = await store.maintenance.pruneFinished(cutoff, PRUNE_BATCH);
      ;
      batch = await store.maintenance.pruneFinished(cutoff, PRUNE_BATCH)
    ) {
      report.incidents += batch.ids.length;
      report.events += batch.events;
      report.runs += batch.runs;
      report.workspaces += await removeWorkspaces(stateDir, batch.ids);
      if (batch.ids.length < PRUNE_BATCH || this.#stopped) break;
      await nextTurn();
    }
    if (file) {
      report.reclaimed_bytes = await this.#reclaimSpace(file);
      if (report.incidents > 0) file.checkpoint();
    }
    report.duration_ms = Math.round(performance.now() - started);
    if (report.incidents > 0 || converted) log.info("retention pass", { days, ...report });
    return report;
  }

  /** Switches the store's file to incremental vacuum (logged, as it rewrites the file once); true if it did. */
  #enableIncrementalVacuum(file: FileSpace, location: string): boolean {
    if (file.space().autoVacuum !== "incremental") {
      const { pages, pageSize } = file.space();
      log.info("switching the database to incremental vacuum: rewriting it once (about 10 s per GB)", {
        path: location,
        size_bytes: pages * pageSize,
      });
    }
    const converted = file.enableIncrementalVacuum();
    if (converted) log.info("database switched to incremental vacuum", { path: location });
    return converted;
  }

  /** Gives the file's free pages back a few at a time (the event loop free between steps); the bytes freed. */
  async #reclaimSpace(file: FileSpace): Promise<number> {
    const { pageSize } = file.space();
    let reclaimed = 0;
    while (!this.#stopped && file.space().freePages > 0) {
      const freed = file.reclaimSpace(RECLAIM_PAGES);
      reclaimed += freed * pageSize;
      if (freed === 0) break;
      await nextTurn();
    }
    return reclaimed;
  }
}

/** Removes the incidents' workspaces (those that exist); returns how many were there. */
async function removeWorkspaces(stateDir: string, ids: readonly string[]): Promise<number> {
  let removed = 0;
  for (const id of ids) {
    try {
      const path = workspacePath(stateDir, id);
      await rm(path, { recursive: true, force: false });
      removed++;
    } catch (error) {
      if (errnoCode(error) !== "ENOENT") {
        log.warn("cannot remove an incident workspace", { incident_id: id, error: errorMessage(error) });
      }
    }
  }
  return removed;
}
