/**
 * The incident store on PostgreSQL (`store.postgres.url`), shared by every replica naming the same
 * database: the same contract and semantics as the SQLite store (`../store-api.ts`, checked by one
 * contract suite), with what sharing needs (docs/ha-design.md §1, §3, §4):
 * - ingest locks the faults' heads first, so a fault seen by two replicas at once joins one incident;
 * - `max_queue` is counted in the database (fleet-wide), admitted under one advisory lock;
 * - claims are one `FOR UPDATE SKIP LOCKED` pick, and runs record the replica that claimed them;
 * - `openRuns` and `recoverInterrupted` settle this replica's runs, or a named (dead) replica's;
 * - with `ownedClustersOnly` (replicas), ingest stores only the clusters this replica holds (`fence.ts`).
 *
 * Every failure becomes a `StoreError` naming the database by its redacted URL (never the password).
 * The SQL lives beside this file: `ingest.ts`, `claim.ts`, `runs.ts`, `queries.ts`, `outbox.ts`,
 * `maintenance.ts`, `schema.ts`.
 */
import { logger } from "../../log.ts";
import {
  type Incident,
  type IncidentDetail,
  type IncidentFilter,
  type IncidentSkipReason,
  IncidentStateError,
  type IncidentStatus,
  type IngestItem,
  type IngestResult,
  NotOwnerError,
  type OpenRun,
  type RecoverOptions,
  type RunEnd,
} from "../model.ts";
import { countsByCluster, skipsByCluster } from "../queries.ts";
import { type IncidentStoreOptions, resolveSettings, type Settings } from "../settings.ts";
import type {
  ClaimedRun,
  IncidentStore,
  RecoverResult,
  StoreBackend,
  StoreSettingsChange,
} from "../store-api.ts";
import { claimNext } from "./claim.ts";
import {
  connectPostgres,
  type PgClient,
  type PgDatabase,
  type PgTransaction,
  retryableConflict,
  toPgStoreError,
} from "./connect.ts";
import { clustersOf, type IngestFence, lockOwnedClusters } from "./fence.ts";
import { ingestBatch } from "./ingest.ts";
import { compactCountDeltas, PgMaintenance } from "./maintenance.ts";
import { PgOutbox } from "./outbox.ts";
import { countRows, incidentDetail, listIncidents, queueDepth } from "./queries.ts";
import { finishRun, openRuns, recoverInterrupted } from "./runs.ts";
import { migratePostgres, NewerPostgresSchemaError } from "./schema.ts";

const log = logger({ component: "incident-store" });

/** Options of {@link PostgresStore.open}. */
export interface PostgresStoreOptions extends IncidentStoreOptions {
  /** `store.postgres.url` (may carry a password: it is never shown). */
  url: string;
  /** `store.postgres.max_connections`. */
  maxConnections?: number;
  /** This replica's name (`ha.replica`): recorded on its runs. */
  replica: string;
  /**
   * Store events only of clusters this replica holds (`cluster_owners`, src/ha/): checked and locked in
   * each ingest's transaction (`fence.ts`), else the batch throws `NotOwnerError`. `faultline run` sets
   * it (replicas share the store); off for a store opened alone (tests, benches, the CLI).
   */
  ownedClustersOnly?: boolean;
  /**
   * With `ownedClustersOnly`: the server ends a session whose ingest transaction waits this long for
   * faultline (stalled or cut off mid-batch), so a takeover waiting for its owner rows waits no longer;
   * `faultline run` sets the lease. Unset: the server's `idle_in_transaction_session_timeout`.
   */
  idleInTransactionMs?: number;
}

/** Ingest batches between two foldings of the incident count deltas. */
const COMPACT_EVERY_BATCHES = 256;
/** How often a transaction PostgreSQL aborted as a deadlock or serialization failure is tried again. */
const CONFLICT_RETRIES = 3;

/** The PostgreSQL incident store. Open with {@link PostgresStore.open}. */
export class PostgresStore implements IncidentStore {
  readonly backend: StoreBackend = "postgres";
  /** The database URL with its credentials replaced by `***`. */
  readonly location: string;
  /** This replica's name. */
  readonly replica: string;
  readonly outbox: PgOutbox;
  readonly maintenance: PgMaintenance;
  readonly #db: PgDatabase;
  readonly #settings: Settings;
  readonly #fence: IngestFence | null;
  #batches = 0;
  #closed: Promise<void> | null = null;

  private constructor(db: PgDatabase, settings: Settings, replica: string, fence: IngestFence | null) {
    this.#db = db;
    this.#settings = settings;
    this.location = db.location;
    this.replica = replica;
    this.#fence = fence;
    const run = <T>(action: string, work: (sql: PgClient) => Promise<T>) => this.#run(action, work);
    this.outbox = new PgOutbox(run, settings.now);
    this.maintenance = new PgMaintenance(run);
  }

  /**
   * Connects to `options.url`, migrates the schema (once across replicas starting together) and makes a
   * test write. Throws `StoreError` naming the redacted URL and the cause when any of that fails.
   *
   * @example
   * ```ts
   * const store = await PostgresStore.open({ url: process.env.FAULTLINE_DATABASE_URL!, replica: "faultline-0" });
   * ```
   */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const settings = resolveSettings(options);
    const db = connectPostgres(options.url, options.maxConnections);
    const fence = options.ownedClustersOnly
      ? { replica: options.replica, idleInTransactionMs: options.idleInTransactionMs }
      : null;
    const store = new PostgresStore(db, settings, options.replica, fence);
    try {
      const { from, to } = await migratePostgres(db.sql);
      if (from !== to) log.info("incident store schema migrated", { location: db.location, from, to });
      await db.sql`
        INSERT INTO store_meta (key, value) VALUES ('last_opened_at', ${settings.now().toISOString()})
        ON CONFLICT (key) DO UPDATE SET value = excluded.value`;
      return store;
    } catch (error) {
      await db.sql.end({ timeout: 1 }).catch(() => {});
      if (error instanceof NewerPostgresSchemaError) {
        throw toPgStoreError(db, "cannot open the database", new Error(error.message));
      }
      throw toPgStoreError(db, "cannot open the database", error);
    }
  }

  /**
   * Records a batch in one transaction (see `ingest.ts`); results in batch order. With
   * `ownedClustersOnly`, only while this replica holds every cluster of the batch (`fence.ts`): else
   * nothing is recorded and `NotOwnerError` names the others.
   */
  async ingest(batch: readonly IngestItem[]): Promise<IngestResult[]> {
    if (batch.length === 0) return [];
    const fence = this.#fence;
    const results = await this.#transaction("record events", async (tx) => {
      if (fence) await lockOwnedClusters(tx, clustersOf(batch), fence);
      return ingestBatch(tx, batch, this.#settings);
    });
    this.#batches += 1;
    if (this.#batches % COMPACT_EVERY_BATCHES === 0) {
      await this.#run("fold incident counts", (sql) => compactCountDeltas(sql, true));
    }
    return results;
  }

  /** Claims the next queued incident for this replica (`FOR UPDATE SKIP LOCKED`, fair order). */
  claimNext(workspaceOf: (incident: Incident) => string): Promise<ClaimedRun | null> {
    return this.#transaction("start an agent run", (tx) =>
      claimNext(tx, this.replica, workspaceOf, this.#settings.now().getTime()),
    );
  }

  /** Records how a run ended, its output and the notifications it causes, in one transaction. */
  finishRun(runId: number, outcome: RunEnd): Promise<Incident> {
    return this.#transaction("record an agent run's outcome", (tx) =>
      finishRun(tx, runId, outcome, this.#settings),
    );
  }

  /** Settles this replica's open runs (or `options.replica`'s) as interrupted, requeuing within limits. */
  async recoverInterrupted(options: RecoverOptions): Promise<RecoverResult> {
    const replica = options.replica ?? this.replica;
    const result = await this.#transaction("recover interrupted incidents", (tx) =>
      recoverInterrupted(tx, options, replica, this.#settings.now().getTime()),
    );
    if (result.interrupted > 0 || result.requeued > 0) {
      log.warn("recovered interrupted incidents", { ...result, replica });
    }
    return result;
  }

  /** Records the agent process of a run (its pid is its process-group id). */
  async recordPid(runId: number, pid: number): Promise<void> {
    await this.#run("record an agent pid", (sql) => sql`UPDATE runs SET pid = ${pid} WHERE id = ${runId}`);
  }

  /** Runs this replica started that have no recorded end. */
  openRuns(): Promise<OpenRun[]> {
    return this.#run("read open agent runs", (sql) => openRuns(sql, this.replica));
  }

  /** Incidents, newest first, optionally of one cluster and/or status. */
  list(filter: IncidentFilter = {}): Promise<Incident[]> {
    return this.#run("list incidents", (sql) => listIncidents(sql, filter));
  }

  /** An incident with its newest events, its runs and notifications; null if unknown. */
  get(id: string, options: { eventLimit?: number } = {}): Promise<IncidentDetail | null> {
    return this.#run("read an incident", (sql) => incidentDetail(sql, id, options.eventLimit));
  }

  /** Incident counts per cluster and status (fleet-wide). */
  async countsByCluster(): Promise<Map<string, Partial<Record<IncidentStatus, number>>>> {
    return countsByCluster(await this.#run("count incidents", countRows));
  }

  /** Skipped-incident counts per cluster and reason (fleet-wide). */
  async skipsByCluster(): Promise<Map<string, Partial<Record<IncidentSkipReason, number>>>> {
    return skipsByCluster(await this.#run("count incidents", countRows));
  }

  /** Incidents waiting for an agent slot, across every replica. */
  queueDepth(): Promise<number> {
    return this.#run("count queued incidents", queueDepth);
  }

  /** Config reload: the dedup window, queue bound and planner from now on. Throws RangeError. */
  configure(options: StoreSettingsChange): void {
    if (options.dedupWindowSeconds !== undefined || options.maxQueue !== undefined) {
      const next = resolveSettings({
        dedupWindowSeconds: options.dedupWindowSeconds ?? this.#settings.dedupWindowMs / 1000,
        maxQueue: options.maxQueue ?? this.#settings.maxQueue,
      });
      this.#settings.dedupWindowMs = next.dedupWindowMs;
      this.#settings.maxQueue = next.maxQueue;
    }
    if (options.notify !== undefined) this.#settings.notify = options.notify;
  }

  /** Closes the connections (idempotent); waits up to 5 s for queries under way. */
  close(): Promise<void> {
    this.#closed ??= this.#db.sql.end({ timeout: 5 });
    return this.#closed;
  }

  /** One transaction; a deadlock or serialization failure PostgreSQL aborted is tried again. */
  #transaction<T>(action: string, work: (tx: PgTransaction) => Promise<T>): Promise<T> {
    return this.#run(action, async (sql) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return (await sql.begin((tx) => work(tx))) as T;
        } catch (error) {
          if (attempt >= CONFLICT_RETRIES || !retryableConflict(error)) throw error;
        }
      }
    });
  }

  /** Runs `work` on the pool; client and server failures become a `StoreError` (redacted). */
  async #run<T>(action: string, work: (sql: PgClient) => Promise<T>): Promise<T> {
    try {
      return await work(this.#db.sql);
    } catch (error) {
      if (error instanceof IncidentStateError || error instanceof NotOwnerError) throw error;
      throw toPgStoreError(this.#db, `cannot ${action}`, error);
    }
  }
}
