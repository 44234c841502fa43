/**
 * The incident store's contract: what the pipeline, the dispatcher, the notifier, the HTTP routes and
 * the CLI may ask of the durable store, whichever backend holds it.
 *
 * Two backends implement it and pass one contract suite (`tests/incidents/contract/`):
 * - `SqliteStore` (`store.ts`): embedded SQLite at `<state_dir>/faultline.db`, the default. It answers
 *   synchronously; its transactions are IMMEDIATE, so two processes on one file serialise.
 * - `PostgresStore` (`pg/store.ts`): `store.postgres.url`, shared by replicas (see `docs/ha-design.md`).
 *   It answers asynchronously; claims use `FOR UPDATE SKIP LOCKED`, dedup an upsert on the fault's head.
 *
 * Every method may answer with a value or a promise ({@link Awaitable}): callers always `await` it, so
 * one caller serves both backends, and the SQLite path pays no more than a microtask.
 *
 * Semantics every backend keeps (the suite checks each):
 * - `ingest` records the whole batch in one transaction or nothing of it (then throws `StoreError`).
 *   A repeat of a fault joins the fault's latest incident while that incident's `last_seen` is within
 *   the dedup window (sliding), whatever its status; one fault seen by two writers at once joins one
 *   incident.
 * - `claimNext` hands each queued incident to exactly one caller, oldest first within a cluster and
 *   round-robin across clusters (the cluster served least recently first).
 * - Status changes people may be told about write their notifications to the outbox in the same
 *   transaction as the change.
 */
import type { FaultEvent } from "../events/fault.ts";
import type {
  AgentRun,
  ClusterLiveness,
  Incident,
  IncidentDetail,
  IncidentFilter,
  IncidentSkipReason,
  IncidentStatus,
  IngestItem,
  IngestResult,
  OpenRun,
  RecoverOptions,
  RunEnd,
} from "./model.ts";
import type {
  AttemptResult,
  DueNotification,
  Notification,
  NotificationFilter,
  OutboxCounts,
} from "./outbox.ts";
import type { PrunedBatch, SpaceStats } from "./prune.ts";
import type { IncidentStoreOptions } from "./settings.ts";

/** A value, or a promise of it: what a store method answers (see the module doc). */
export type Awaitable<T> = T | Promise<T>;

/** Which backend holds the store. */
export type StoreBackend = "sqlite" | "postgres";

/** A queued incident handed to an agent by {@link IncidentStore.claimNext}, and the run just opened for it. */
export interface ClaimedRun {
  /** The incident, now `running`. */
  incident: Incident;
  /** The new run (status `running`, started now, in the workspace `workspaceOf` gave). */
  run: AgentRun;
  /**
   * The incident's newest event (what its agent is started on), read in the claim's transaction: if
   * it cannot be read, nothing is claimed (the claim throws and the incident stays queued). Null when
   * the incident has no event left.
   */
  event: FaultEvent | null;
}

/** What {@link IncidentStore.recoverInterrupted} changed. */
export interface RecoverResult {
  /** Incidents that were `running` and became `interrupted`. */
  interrupted: number;
  /** Of those (and earlier interrupted ones), how many were queued again. */
  requeued: number;
}

/** The settings a config reload may change (what is not given stays). */
export type StoreSettingsChange = Pick<IncidentStoreOptions, "dedupWindowSeconds" | "maxQueue" | "notify">;

/**
 * The intake journal, where a backend has one (SQLite: `journal.ts`): a batch recorded durably at once,
 * one cheap append per event, and its incidents built later, oldest first, by {@link build}. What
 * {@link IncidentStore.ingest} does in one step, split in two, so that a burst is recorded at the
 * append's rate and built once it has passed. While entries wait, `ingest` builds them first.
 */
export interface EventJournal {
  /** Events appended and not built yet. */
  readonly pending: number;
  /** Their JSON text's length, summed (UTF-16 units): what they hold in memory, roughly. */
  readonly pendingChars: number;
  /** How long (ms) the oldest event not built yet has waited; 0 when none waits. */
  oldestWaitMs(): number;
  /** Records the batch in one transaction, or nothing of it (then throws `StoreError`). */
  append(batch: readonly IngestItem[]): void;
  /**
   * Builds up to `limit` of the oldest events appended, in one transaction that also removes them from
   * the journal: what `ingest` would have answered for them, in order (leaving out any another process
   * on the same file built meanwhile). If it throws, nothing changed.
   */
  build(limit: number): IngestResult[];
}

/** The notification outbox: filled by the store's status changes, drained by `src/notify/`. */
export interface OutboxStore {
  /** The oldest pending message of `sink` due at `nowMs`, or null. */
  nextDue(sink: string, nowMs: number): Awaitable<DueNotification | null>;
  /** When `sink`'s next pending message is due (epoch ms), or null when none is pending. */
  nextAttemptAt(sink: string): Awaitable<number | null>;
  /** Records one delivery attempt: sent, retry at a time, or dead. */
  recordAttempt(id: number, result: AttemptResult): Awaitable<void>;
  /** Marks dead every pending message of a sink not in `known`; the counts buried, by sink. */
  buryUnknownSinks(known: ReadonlySet<string>): Awaitable<Map<string, number>>;
  /** Messages, newest first, optionally filtered. */
  list(filter?: NotificationFilter): Awaitable<Notification[]>;
  /** Message counts by sink and status. */
  counts(): Awaitable<OutboxCounts>;
}

/** The store's upkeep: liveness for the restart gap, and retention. */
export interface MaintenanceStore {
  /** Records when clusters were last known alive and their session ids (one transaction). */
  recordLiveness(reports: readonly ClusterLiveness[]): Awaitable<void>;
  /** Every cluster's last recorded liveness. */
  liveness(): Awaitable<ClusterLiveness[]>;
  /** The newest event of each of `cluster`'s incidents received at or after `sinceMs`: at most `limit`, newest first. */
  recentEvents(cluster: string, sinceMs: number, limit: number): Awaitable<FaultEvent[]>;
  /**
   * Retention: deletes up to `limit` finished incidents (never queued or running) whose last event and
   * last change are before `cutoff`, with their events, runs and messages, in one transaction.
   */
  pruneFinished(cutoff: Date, limit: number): Awaitable<PrunedBatch>;
  /**
   * File-space upkeep, only where the store is a file of ours (SQLite); absent on a database server,
   * which reclaims its own space.
   */
  readonly file?: FileSpace;
}

/** Space upkeep of a store kept in a local file (SQLite). */
export interface FileSpace {
  /** The file's page accounting. */
  space(): SpaceStats;
  /** Gives up to `pages` free pages back to the file system; returns how many. */
  reclaimSpace(pages: number): number;
  /** Switches the file to incremental auto-vacuum (rewriting it once if it has data); true if it did. */
  enableIncrementalVacuum(): boolean;
  /** Copies the write-ahead log into the database and truncates it. */
  checkpoint(): void;
}

/** The durable incident store (see the module doc). */
export interface IncidentStore {
  /** Which backend this is. */
  readonly backend: StoreBackend;
  /** Where the data lives, safe to log: a file path, or a database URL without its credentials. */
  readonly location: string;
  /** The notification outbox. */
  readonly outbox: OutboxStore;
  /** Liveness and retention. */
  readonly maintenance: MaintenanceStore;

  /**
   * Records a batch of received events in one transaction, each joined to its fault's incident or
   * starting a new one (queued, or skipped with the router's reason, or `queue_full`). Results are
   * in batch order. If it throws (`StoreError`), nothing of the batch was recorded. A store shared by
   * replicas (PostgreSQL, opened by `faultline run`) records a batch only while this replica holds every
   * one of its clusters, checked in the same transaction: else it throws `NotOwnerError` naming the
   * others, and nothing was recorded (`pg/fence.ts`). SQLite (one process, no ownership) never does.
   */
  ingest(batch: readonly IngestItem[]): Awaitable<IngestResult[]>;
  /**
   * The intake journal, where this backend has one (SQLite; not PostgreSQL, whose set-based ingest is
   * one statement per batch already). The sink appends a burst to it and builds it once the burst has
   * passed (`src/pipeline/sink.ts`).
   */
  readonly journal?: EventJournal;
  /**
   * Hands the next queued incident (fair order, see the module doc) to an agent in one step: status
   * `running`, one more attempt, a new run in `workspaceOf(incident)`, the cluster's turn recorded,
   * with the incident's newest event. Null when nothing is queued. Two callers never get the same
   * incident. If it throws (`StoreError`), nothing was claimed.
   */
  claimNext(workspaceOf: (incident: Incident) => string): Awaitable<ClaimedRun | null>;
  /**
   * Records how a run ended and what its agent left, sets its incident's status and queues the
   * notifications that causes, in one transaction. A run already closed is left as it is (warned).
   * Throws `IncidentStateError` for an unknown run.
   */
  finishRun(runId: number, outcome: RunEnd): Awaitable<Incident>;
  /** Closes open runs as interrupted (except `keepRunIds`) and requeues within `maxAttempts` when asked. */
  recoverInterrupted(options: RecoverOptions): Awaitable<RecoverResult>;
  /** Records the agent process of a run (its pid is its process-group id). */
  recordPid(runId: number, pid: number): Awaitable<void>;
  /** Runs with no recorded end that this process's replica started (every one, on SQLite). */
  openRuns(): Awaitable<OpenRun[]>;
  /** Incidents, newest first, optionally of one cluster and/or status. */
  list(filter?: IncidentFilter): Awaitable<Incident[]>;
  /** An incident with its newest events (at most `eventLimit`) and all its runs; null if unknown. */
  get(id: string, options?: { eventLimit?: number }): Awaitable<IncidentDetail | null>;
  /** Incident counts per cluster and status (statuses with none left out). */
  countsByCluster(): Awaitable<Map<string, Partial<Record<IncidentStatus, number>>>>;
  /** Skipped-incident counts per cluster and reason. */
  skipsByCluster(): Awaitable<Map<string, Partial<Record<IncidentSkipReason, number>>>>;
  /** Incidents waiting for an agent slot (across every replica sharing the store). */
  queueDepth(): Awaitable<number>;
  /** Config reload: the dedup window, queue bound and notification planner from now on. Throws RangeError. */
  configure(options: StoreSettingsChange): void;
  /** Closes the store (idempotent); unusable afterwards. */
  close(): Awaitable<void>;
}
