/**
 * The durable incident store: every received fault event, the incidents they group into, and the
 * agent runs for each, in one SQLite database at `<state_dir>/faultline.db` (WAL mode).
 *
 * - An incident groups the events of one fault, keyed by (cluster, fault_id). A repeat joins the
 *   fault's latest incident while that incident's `last_seen` is within the dedup window of the
 *   repeat's `received_at` (a sliding window), whatever the incident's status: a running or
 *   finished incident absorbs repeats too, so one fault never starts a second agent inside the
 *   window. After the window a repeat starts a new incident.
 * - The triage decision is made when an incident is created. The one exception: a repeat routed to
 *   triage promotes a `skipped` incident (below threshold, then escalated; or queue full) to
 *   `queued`, since no agent has run for it yet.
 * - Incidents waiting for an agent slot are `queued` rows, served oldest first within a cluster and
 *   round-robin across clusters. At most `maxQueue` wait; past that, new incidents are recorded as
 *   `skipped` with reason `queue_full`.
 *
 * Times come from faultline's clock: `first_seen`/`last_seen` are the events' `received_at`
 * (never the server's `timestamp`, which may be skewed), the rest are the store's `now()`.
 * Every write is one IMMEDIATE transaction, so two processes on the same file (a restarted
 * faultline while the old one is still exiting) serialise instead of corrupting anything.
 *
 * - Status changes people may be told about (an incident opened; a run finished: triaged, failed or
 *   timed out) put their notifications in the outbox (`outbox.ts`) in the same transaction, as the
 *   `notify` planner decides; a finished run's output (`report.md`, `summary.json`) is stored with it.
 *
 * The model (types, statuses, errors) is in `model.ts`, opening the file in `open.ts`, the rows
 * and statements in `rows.ts`, the read queries in `queries.ts`, the outbox in `outbox.ts`.
 */
import { eventJson } from "../events/event-json.ts";
import type { Severity } from "../events/fault.ts";
import { logger } from "../log.ts";
import { type SqlDatabase, sqliteFailure } from "../runtime/sqlite.ts";
import { Checkpointer } from "./checkpointer.ts";
import { DedupLookup } from "./dedup-lookup.ts";
import { faultKey } from "./fault-key.ts";
import { seqOfIncidentId, sequencedIncidentId } from "./id.ts";
import { IntakeJournal, type JournalEntry } from "./journal.ts";
import { StoreMaintenance } from "./maintenance.ts";
import {
  type AgentRun,
  type Incident,
  type IncidentDetail,
  type IncidentFacts,
  type IncidentFilter,
  type IncidentSkipReason,
  IncidentStateError,
  type IncidentStatus,
  type IngestItem,
  type IngestResult,
  type OpenRun,
  type RecordedItem,
  type RecoverOptions,
  type RouteDecision,
  type RunEnd,
  type RunStatus,
  runStatusOf,
} from "./model.ts";
import { DEFAULT_MIN_FREE_BYTES, openStoreDatabase, toStoreError } from "./open.ts";
import { NotificationOutbox, type NotifyTrigger } from "./outbox.ts";
import { countsByCluster, IncidentQueries, skipsByCluster } from "./queries.ts";
import {
  ABSORB_COLUMNS,
  type CountRow,
  type IncidentRow,
  newIncidentInsert,
  newIncidentRow,
  pick,
  prepareStatements,
  type RunRow,
  type Statements,
  toAgentRun,
  toIncident,
  toNewIncident,
} from "./rows.ts";
import { prepareRunOutputStatements, type RunOutputStatements, toRunOutputRow } from "./run-outputs.ts";
import { type IncidentStoreOptions, resolveSettings, type Settings } from "./settings.ts";
import type {
  ClaimedRun,
  EventJournal,
  IncidentStore,
  RecoverResult,
  StoreSettingsChange,
} from "./store-api.ts";

/** Journal entries built in one transaction at most (as many as the sink stores at once). */
export const JOURNAL_BUILD_CHUNK = 4096;

/** Where a new or promoted incident goes: the queue, or skipped and why. */
interface TriageState {
  status: IncidentStatus;
  skip_reason: IncidentSkipReason | null;
}

/** What one batch is ingested with: the places left in the queue, the new incidents to count. */
interface BatchState {
  queued: number;
  /** New incidents by cluster, then by status and skip reason (`incident_counts` rows to add). */
  created: Map<string, CountRow[]>;
}

/**
 * Counts one new incident in `created` (keyed by the cluster string the event already hashed, then a
 * short list: a batch gives a cluster one or two statuses, so no key is built per incident).
 */
function countNew(
  created: Map<string, CountRow[]>,
  cluster: string,
  status: string,
  skipReason: string,
): void {
  let rows = created.get(cluster);
  if (rows === undefined) {
    rows = [];
    created.set(cluster, rows);
  }
  for (const row of rows) {
    if (row.status === status && row.skip_reason === skipReason) {
      row.n += 1;
      return;
    }
  }
  rows.push({ cluster, status, skip_reason: skipReason, n: 1 });
}

const log = logger({ component: "incident-store" });
/**
 * The SQLite incident store, one backend of the {@link IncidentStore} contract. Open with
 * {@link SqliteStore.open}; every method answers synchronously.
 */
export class SqliteStore implements IncidentStore {
  /** Which backend this is. */
  readonly backend = "sqlite";
  readonly #db: SqlDatabase;
  readonly #statements: Statements;
  readonly #queries: IncidentQueries;
  readonly #outputs: RunOutputStatements;
  readonly #settings: Settings;
  /** Which incident a fault's event joins: the dedup window in memory, and its spill. */
  readonly #dedup: DedupLookup;
  /** The next new incident's `seq` (0: ask the database), kept across batches and forgotten with the window. */
  #nextSeq = 0;
  /** The thread copying the WAL into the file, when the store was opened with `checkpointInThread`. */
  #checkpointer: Checkpointer | null = null;
  /** Absolute path of the database file. */
  readonly path: string;
  /** Where the data lives (the database file's absolute path; the contract's name for {@link path}). */
  readonly location: string;
  /** The notification outbox (filled by this store's status changes, drained by `src/notify/`). */
  readonly outbox: NotificationOutbox;
  /** Liveness for the restart gap, retention and space: see `maintenance.ts`. */
  readonly maintenance: StoreMaintenance;
  /** The journal's entries not built yet, and its statements. */
  readonly #journal: IntakeJournal;

  private constructor(db: SqlDatabase, path: string, settings: Settings) {
    this.#db = db;
    this.path = path;
    this.location = path;
    this.#settings = settings;
    this.#statements = prepareStatements(db);
    this.#dedup = new DedupLookup(this.#statements, settings.dedupWindowMs, settings.dedupWindowEntries);
    this.#outputs = prepareRunOutputStatements(db);
    const journal = new IntakeJournal(db, path, settings.intakeFileBytes);
    this.#journal = journal;
    this.journal = {
      get pending() {
        return journal.pending;
      },
      get pendingChars() {
        return journal.pendingChars;
      },
      oldestWaitMs: () => journal.oldestWaitMs(),
      append: (batch) => this.#append(batch),
      build: (limit) => this.#build(limit),
    };
    this.outbox = new NotificationOutbox(db, (action, work) => this.#write(action, work), settings.now);
    this.#queries = new IncidentQueries(db, this.outbox);
    this.maintenance = new StoreMaintenance(db, this.#statements, {
      write: (action, work) => this.#write(action, work),
      read: (action, work) => this.#read(action, work),
      // Space upkeep (incremental vacuum) writes outside a transaction of #write: copied all the same.
      rewrite: (action, work) => {
        const result = this.#read(action, work);
        this.#checkpointer?.committed();
        return result;
      },
    });
  }

  /**
   * Opens (creating if needed) `<stateDir>/faultline.db`: creates `stateDir`, checks it is a writable
   * directory with free space, opens the database in WAL mode with a busy timeout, checks its
   * integrity, migrates its schema and makes a test write. Throws {@link StoreError} naming the
   * path and the cause when any of that fails.
   */
  static open(stateDir: string, options: IncidentStoreOptions = {}): SqliteStore {
    const settings = resolveSettings(options);
    const { db, file } = openStoreDatabase(stateDir, options.minFreeBytes ?? DEFAULT_MIN_FREE_BYTES);
    let journal: IntakeJournal | undefined;
    try {
      const store = new SqliteStore(db, file, settings);
      journal = store.#journal;
      store.#write("record the start-up", () => {
        store.#statements.recordOpened.run({ now: settings.now().toISOString() });
      });
      if (options.buildJournal) store.#buildLeftovers();
      if (options.checkpointInThread) store.#checkpointer = Checkpointer.start(db, file);
      return store;
    } catch (error) {
      journal?.finalize(); // its file, if the journal opened it
      db.close();
      throw toStoreError(file, "cannot write to the database", error);
    }
  }

  /**
   * Records a batch of received events in one transaction, each joined to its fault's open incident
   * or starting a new one (queued for triage, or skipped with the router's reason, or `queue_full`
   * when `maxQueue` incidents already wait). Results are in batch order. If it throws (a
   * {@link StoreError}, e.g. disk full), nothing of the batch was recorded.
   */
  ingest(batch: readonly IngestItem[]): IngestResult[] {
    // Nothing is recorded past an entry of the journal not built yet: dedup sees events in order. The
    // sink never ingests while entries wait; a caller that does gets only its own batch's results.
    while (this.#journal.pending > 0) this.#build(JOURNAL_BUILD_CHUNK);
    if (batch.length === 0) return [];
    return this.#record(
      "record events",
      (now, state) => batch.map((item) => this.#ingestOne(item, eventJson(item.event), now, state)),
      batch,
    );
  }

  /**
   * The intake journal (`journal.ts`): events recorded at once, each as one cheap append,
   * their incidents built later by {@link EventJournal.build}, oldest first.
   */
  readonly journal: EventJournal;

  #append(batch: readonly IngestItem[]): void {
    if (batch.length === 0) return;
    let entries: JournalEntry[];
    try {
      entries = this.#journal.append(batch);
    } catch (error) {
      throw toStoreError(this.#journal.path, "cannot append to the intake journal", error);
    }
    this.#journal.accept(entries);
  }

  #build(limit: number): IngestResult[] {
    const entries = this.#journal.oldest(limit);
    const last = entries.at(-1);
    if (last === undefined) return [];
    const results = this.#record(
      "build incidents from the journal",
      (now, state) => {
        const unbuilt = this.#journal.unbuilt(entries);
        const built = unbuilt.map((entry) => this.#ingestOne(entry.item, entry.json, now, state));
        this.#journal.markBuilt(last.seq);
        return built;
      },
      entries.map((entry) => entry.item),
    );
    this.#journal.drop(entries.length);
    return results;
  }

  /**
   * One write transaction recording events as incidents (`work` calls {@link #ingestOne} for each), with
   * the dedup window warmed first and the batch's new incidents counted last. If it throws, nothing was
   * recorded and the window (which may hold uncommitted incidents) is warmed again next time.
   */
  #record(
    action: string,
    work: (now: number, state: BatchState) => IngestResult[],
    items: readonly RecordedItem[],
  ): IngestResult[] {
    try {
      return this.#write(action, () => {
        const now = this.#settings.now().getTime();
        if (this.#dedup.prepare(now, oldestReceived(items, now))) this.#nextSeq = 0;
        // Only triage needs the queue bound; skip the count when nothing in the batch asks for it.
        const state: BatchState = {
          queued: items.some((item) => item.decision.action === "triage") ? this.#queueDepth() : 0,
          created: new Map(),
        };
        const results = work(now, state);
        for (const counts of state.created.values()) {
          for (const count of counts) this.#statements.countIncidents.run(count);
        }
        this.#dedup.keepSpilled();
        return results;
      });
    } catch (error) {
      // Rolled back: the window may hold incidents that were never committed; it is warmed again.
      this.#dedup.reset();
      this.#nextSeq = 0;
      throw error;
    }
  }

  /**
   * At open: builds what a previous run appended to the journal and did not build (it stopped, or
   * crashed, in between), before anything else is read or recorded: its incidents are queued then,
   * and the dispatcher finds them as any queued incident.
   */
  #buildLeftovers(): void {
    let left: number;
    try {
      left = this.#journal.load();
    } catch (error) {
      throw toStoreError(this.#journal.path, "cannot read the intake journal", error);
    }
    if (left === 0) return;
    let created = 0;
    while (this.#journal.pending > 0) {
      for (const result of this.#build(JOURNAL_BUILD_CHUNK)) if (result.created) created++;
    }
    log.info("built the events a previous run had journaled", { events: left, incidents_created: created });
  }

  /** Records one event (its facts and its JSON text) as its incident's: new, or a repeat joined. */
  #ingestOne(item: RecordedItem, json: string, now: number, state: BatchState): IngestResult {
    const received = receivedMs(item.event, now);
    const { cluster, fault_id } = item.event;
    const repeat = this.#repeatOf(cluster, fault_id, received, now, item.event.severity);
    const { row, created, queued } =
      repeat === null
        ? this.#createIncident(item, received, now, state)
        : this.#absorbEvent(repeat, item, now, state);
    this.#dedup.seen(cluster, fault_id, row.seq, row.last_seen_ms);
    const eventId = this.#statements.insertEvent.run({
      incident_seq: row.seq,
      received_ms: received,
      event: json,
    }).lastInsertRowid;
    const incident = created ? toNewIncident(row, item.event.resource) : toIncident(row);
    if (created) this.#notify("opened", row.seq, incident, null);
    return { incident, event_id: Number(eventId), created, queued };
  }

  /**
   * The fault's open incident (last seen within the dedup window of `received`) with this repeat
   * counted in it, or null when it has none: the window is asked first, the database only when the
   * window does not reach back that far.
   */
  #repeatOf(
    cluster: string,
    faultId: string,
    received: number,
    now: number,
    severity: Severity,
  ): IncidentRow | null {
    const seq = this.#dedup.find(cluster, faultId, received);
    if (seq === null) return null;
    const row = this.#statements.absorbRepeat.get({ seq, received_ms: received, severity, updated_ms: now });
    // Deleted meanwhile (retention): the fault starts a new incident.
    if (row === null) this.#dedup.forget(cluster, faultId);
    return row;
  }

  #createIncident(
    item: RecordedItem,
    received: number,
    now: number,
    state: BatchState,
  ): { row: IncidentRow; created: true; queued: boolean } {
    const { event } = item;
    const triage = this.#triageState(item.decision, state);
    if (this.#nextSeq === 0) this.#nextSeq = this.#statements.nextSeq.get()?.seq ?? 1;
    const seq = this.#nextSeq++;
    const id = sequencedIncidentId(event.cluster, received, seq);
    const row = newIncidentRow(event, seq, id, received, now, triage);
    this.#statements.insertIncident.run(newIncidentInsert(row, faultKey(event.cluster, event.fault_id)));
    countNew(state.created, row.cluster, row.status, row.skip_reason ?? "");
    return { row, created: true, queued: triage.status === "queued" };
  }

  /**
   * A repeat, already counted with its `last_seen` and worst severity (`row`, as the database now holds
   * it): promotes a skip routed to triage.
   */
  #absorbEvent(
    row: IncidentRow,
    item: RecordedItem,
    now: number,
    state: BatchState,
  ): { row: IncidentRow; created: false; queued: boolean } {
    const promote = row.status === "skipped" && item.decision.action === "triage";
    if (!promote) return { row, created: false, queued: false };
    const triage = this.#triageState(item.decision, state);
    const updated: IncidentRow = { ...row, ...triage, updated_ms: now };
    this.#statements.absorbEvent.run(pick(updated, ["seq", ...ABSORB_COLUMNS]));
    return { row: updated, created: false, queued: triage.status === "queued" };
  }

  /** Queued if the decision is triage and the queue has room (taking a place), else skipped and why. */
  #triageState(decision: RouteDecision, room: BatchState): TriageState {
    if (decision.action === "skip") return { status: "skipped", skip_reason: decision.reason };
    if (room.queued >= this.#settings.maxQueue) return { status: "skipped", skip_reason: "queue_full" };
    room.queued += 1;
    return { status: "queued", skip_reason: null };
  }

  /**
   * The incident to give the next free agent slot, without changing anything: the oldest queued
   * incident of the cluster served least recently (clusters never served first), so one noisy
   * cluster cannot starve the others. Null when nothing is queued.
   */
  nextQueued(): Incident | null {
    const row = this.#read("find the next queued incident", () => this.#statements.nextQueued.get());
    return row === null ? null : toIncident(row);
  }

  /**
   * Hands a queued incident to an agent: status `running`, one more attempt, a new run row (started
   * now, in `workspace`), and its cluster's turn recorded for fairness. Throws
   * {@link IncidentStateError} if the incident is unknown or not queued.
   */
  markRunning(id: string, workspace: string): AgentRun {
    return this.#write("start an agent run", () => this.#start(this.#incidentRow(id), workspace).run);
  }

  /**
   * Hands the next queued incident ({@link nextQueued}'s fair order) to an agent in one IMMEDIATE
   * transaction, so two processes on one file never claim the same incident: status `running`, one
   * more attempt, a new run in `workspaceOf(incident)`, the cluster's turn recorded, with the
   * incident's newest event. Null when nothing is queued. If it throws, nothing was claimed.
   *
   * @example
   * ```ts
   * const claimed = await store.claimNext((incident) => workspacePath(stateDir, incident.id));
   * if (claimed) launch(claimed.incident, claimed.run);
   * ```
   */
  claimNext(workspaceOf: (incident: Incident) => string): ClaimedRun | null {
    return this.#write("claim the next queued incident", () => {
      const row = this.#statements.nextQueued.get();
      if (row === null) return null;
      const event = this.#queries.newestEvent(row.seq, row.id);
      return { ...this.#start(row, workspaceOf(toIncident(row))), event };
    });
  }

  /** Inside a write transaction: starts `incident` (queued) in `workspace`; the incident and run after. */
  #start(incident: IncidentRow, workspace: string): Omit<ClaimedRun, "event"> {
    const now = this.#settings.now().getTime();
    if (this.#statements.startIncident.run({ seq: incident.seq, workspace, now }).changes === 0) {
      throw new IncidentStateError(`incident ${incident.id} is ${incident.status}, not queued`);
    }
    const runId = Number(
      this.#statements.insertRun.run({
        incident_seq: incident.seq,
        attempt: incident.attempts + 1,
        status: "running",
        started_ms: now,
        workspace,
      }).lastInsertRowid,
    );
    this.#statements.recordTurn.run({ cluster: incident.cluster, run_id: runId });
    return {
      incident: toIncident(this.#incidentRowBySeq(incident.seq)),
      run: toAgentRun(this.#runRow(runId)),
    };
  }

  /**
   * Records how a run ended, what its agent left (`outcome.output`), sets its incident's status (see
   * {@link runStatusOf}) and queues the notifications that causes, in one transaction. A run already
   * closed (e.g. by another process's {@link recoverInterrupted}) is left as it is, with a warning.
   * Returns the incident as it now stands. Throws {@link IncidentStateError} for an unknown run.
   */
  finishRun(runId: number, outcome: RunEnd): Incident {
    return this.#write("record an agent run's outcome", () => {
      const run = this.#runRow(runId);
      const status = runStatusOf(outcome);
      const now = this.#settings.now().getTime();
      const closed = this.#statements.finishRun.run({
        id: runId,
        status,
        exit_code: outcome.exit_code,
        signal: outcome.signal,
        started_ms: parseTime(outcome.started_at) ?? run.started_ms,
        finished_ms: parseTime(outcome.finished_at) ?? now,
        duration_ms: outcome.duration_ms,
        workspace: outcome.workspace,
        error: outcome.error,
      });
      if (closed.changes === 0) {
        log.warn("agent run already closed, outcome not recorded", {
          incident_id: run.incident_id,
          run_id: runId,
          recorded_status: run.status,
          outcome_status: status,
        });
        return toIncident(this.#incidentRowBySeq(run.incident_seq));
      }
      if (outcome.output) this.#outputs.insert.run(toRunOutputRow(runId, outcome.output));
      const finished = this.#statements.finishIncident.run({
        seq: run.incident_seq,
        status,
        workspace: outcome.workspace,
        now,
      });
      const incident = toIncident(this.#incidentRowBySeq(run.incident_seq));
      const trigger = TRIGGER_OF_RUN[status];
      if (finished.changes > 0 && trigger) {
        const closedRun = { ...toAgentRun(this.#runRow(runId)), output: outcome.output ?? null };
        this.#notify(trigger, run.incident_seq, incident, closedRun);
      }
      return incident;
    });
  }

  /**
   * Start-up recovery, before any agent starts: incidents left `running` (a crash, or the previous
   * process still exiting) become `interrupted` and their open runs are closed as interrupted, except
   * the runs in `keepRunIds` (still going, adopted) and their incidents. With
   * `retry`, every interrupted incident with fewer than `maxAttempts` runs is queued again (oldest
   * first, like any queued incident); the rest stay interrupted. Queued incidents simply resume.
   */
  recoverInterrupted(options: RecoverOptions): RecoverResult {
    const result = this.#write("recover interrupted incidents", () => {
      const now = this.#settings.now().getTime();
      this.#statements.interruptOpenRuns.run({
        now,
        error: "faultline stopped while the agent was running",
        keep: JSON.stringify(options.keepRunIds ?? []),
      });
      const interrupted = this.#statements.interruptRunning.run({ now }).changes;
      const requeued = options.retry
        ? this.#statements.requeueInterrupted.run({ max_attempts: options.maxAttempts, now }).changes
        : 0;
      return { interrupted, requeued };
    });
    if (result.interrupted > 0 || result.requeued > 0) log.warn("recovered interrupted incidents", result);
    return result;
  }

  /** Records the agent process of a run (its pid is its process-group id). */
  recordPid(runId: number, pid: number): void {
    this.#write("record an agent pid", () => {
      this.#statements.recordPid.run({ id: runId, pid });
    });
  }

  /**
   * Runs with no recorded end. At start-up, before {@link recoverInterrupted}, these are the agents a
   * crashed faultline may have left running.
   */
  openRuns(): OpenRun[] {
    return this.#statements.openRuns.all();
  }

  /** Incidents, newest first, optionally of one cluster and/or status. */
  list(filter: IncidentFilter = {}): Incident[] {
    return this.#read("list incidents", () => this.#queries.list(filter));
  }

  /** An incident with its most recent events (at most `eventLimit`) and all its runs; null if unknown. */
  get(id: string, options: { eventLimit?: number } = {}): IncidentDetail | null {
    return this.#read("read an incident", () => this.#queries.detail(id, options.eventLimit));
  }

  /** Incident counts per cluster and status (statuses with none are left out). */
  countsByCluster(): Map<string, Partial<Record<IncidentStatus, number>>> {
    return countsByCluster(this.#countRows());
  }

  /** Skipped-incident counts per cluster and reason (e.g. how many `queue_full`). */
  skipsByCluster(): Map<string, Partial<Record<IncidentSkipReason, number>>> {
    return skipsByCluster(this.#countRows());
  }

  /** Incidents waiting for an agent slot. */
  queueDepth(): number {
    return this.#read("count queued incidents", () => this.#queueDepth());
  }

  /**
   * Config reload: the dedup window, the queue bound and the notification planner for events ingested
   * and runs finished from now on (what is not given stays). Throws a RangeError for values
   * {@link SqliteStore.open} would refuse.
   */
  configure(options: StoreSettingsChange): void {
    if (options.dedupWindowSeconds !== undefined || options.maxQueue !== undefined) {
      const next = resolveSettings({
        dedupWindowSeconds: options.dedupWindowSeconds ?? this.#settings.dedupWindowMs / 1000,
        maxQueue: options.maxQueue ?? this.#settings.maxQueue,
        now: this.#settings.now,
      });
      if (next.dedupWindowMs !== this.#settings.dedupWindowMs) this.#dedup.reset(next.dedupWindowMs);
      this.#settings.dedupWindowMs = next.dedupWindowMs;
      this.#settings.maxQueue = next.maxQueue;
    }
    if (options.notify !== undefined) this.#settings.notify = options.notify;
  }

  /**
   * Closes the database (idempotent). The store is unusable afterwards. With the checkpoint thread it
   * returns a promise: the thread makes its last checkpoint and ends first.
   */
  close(): void | Promise<void> {
    const checkpointer = this.#checkpointer;
    this.#checkpointer = null;
    if (checkpointer) return checkpointer.stop().then(() => this.#closeDatabase());
    this.#closeDatabase();
  }

  #closeDatabase(): void {
    for (const statement of Object.values(this.#statements)) statement.finalize();
    this.#queries.finalize();
    for (const statement of Object.values(this.#outputs)) statement.finalize();
    this.outbox.finalize();
    this.#journal.finalize();
    this.#db.close();
  }

  /** Inside a write transaction: the change's notifications into the outbox, as the planner decides. */
  #notify(trigger: NotifyTrigger, seq: number, incident: Incident, run: AgentRun | null): void {
    const planned = this.#settings.notify?.({ trigger, incident, run }) ?? [];
    if (planned.length > 0) this.outbox.enqueue(seq, trigger, planned);
  }

  #queueDepth(): number {
    return this.#statements.queueDepth.get()?.n ?? 0;
  }

  #countRows(): CountRow[] {
    return this.#read("count incidents", () => this.#queries.countRows());
  }

  #incidentRow(id: string): IncidentRow {
    const row = this.#statements.incidentById.get({ id, seq: seqOfIncidentId(id) });
    if (row === null) throw new IncidentStateError(`no incident ${id}`);
    return row;
  }

  #incidentRowBySeq(seq: number): IncidentRow {
    const row = this.#statements.incidentBySeq.get({ seq });
    if (row === null) throw new IncidentStateError(`no incident #${seq}`);
    return row;
  }

  #runRow(id: number): RunRow {
    const row = this.#statements.runById.get({ id });
    if (row === null) throw new IncidentStateError(`no agent run ${id}`);
    return row;
  }

  /** Runs `work` in an IMMEDIATE transaction; SQLite failures become a {@link StoreError}. */
  #write<T>(action: string, work: () => T): T {
    try {
      const result = this.#db.immediate(work);
      this.#checkpointer?.committed(); // the thread copies the WAL once something is in it
      return result;
    } catch (error) {
      throw sqliteFailure(error) ? toStoreError(this.path, `cannot ${action}`, error) : error;
    }
  }

  /** Runs a read; SQLite failures become a {@link StoreError}. */
  #read<T>(action: string, work: () => T): T {
    try {
      return work();
    } catch (error) {
      throw sqliteFailure(error) ? toStoreError(this.path, `cannot ${action}`, error) : error;
    }
  }
}

/** The notification a run's end causes: succeeded → triaged; failed and timed out → failed. */
const TRIGGER_OF_RUN: Partial<Record<RunStatus, NotifyTrigger>> = {
  succeeded: "triaged",
  failed: "failed",
  timed_out: "failed",
};

/** The earliest `received_at` of `items` in ms (`now` for one missing or unparseable, and for none). */
function oldestReceived(items: readonly RecordedItem[], now: number): number {
  let oldest = now;
  for (const item of items) oldest = Math.min(oldest, receivedMs(item.event, now));
  return oldest;
}

/** The last `received_at` parsed and its value: events of one burst share their millisecond. */
let lastReceived = { text: "", ms: null as number | null };

/** The event's `received_at` in ms; the store's clock when it is missing or unparseable. */
function receivedMs(event: IncidentFacts, fallback: number): number {
  const text = event.received_at;
  if (text !== lastReceived.text) lastReceived = { text, ms: parseTime(text) };
  return lastReceived.ms ?? fallback;
}

function parseTime(text: string): number | null {
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}
