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
 */
import { Database, SQLiteError } from "bun:sqlite";
import { accessSync, constants, mkdirSync, statfsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { AgentOutcome } from "../agent/runner.ts";
import { newIncidentId } from "../agent/workspace.ts";
import { type FaultEvent, type FaultResource, SEVERITIES, type Severity } from "../events/fault.ts";
import { errorMessage, logger } from "../log.ts";
import type { RouteDecision, SkipReason } from "../pipeline/route.ts";
import { migrate, NewerSchemaError } from "./schema.ts";

/** The database's file name inside `state_dir`. */
export const DB_FILE = "faultline.db";
/** Default dedup window: a repeat within this many seconds of `last_seen` joins the incident. */
export const DEFAULT_DEDUP_WINDOW_SECONDS = 300;
/** Default bound on incidents waiting for an agent (`agent.max_queue`). */
export const DEFAULT_MAX_QUEUE = 1000;
/** Default free space the filesystem must have at start-up. */
export const DEFAULT_MIN_FREE_BYTES = 8 * 1024 * 1024;
/** How long a write waits for another process's transaction before failing. */
export const BUSY_TIMEOUT_MS = 5000;
/** {@link IncidentStore.list} returns this many incidents unless told otherwise. */
export const DEFAULT_LIST_LIMIT = 100;
/** {@link IncidentStore.list} never returns more than this many incidents. */
export const MAX_LIST_LIMIT = 1000;
/** {@link IncidentStore.get} returns at most this many (most recent) events unless told otherwise. */
export const DEFAULT_EVENT_LIMIT = 100;

/** Every incident status. */
export const INCIDENT_STATUSES = [
  "queued",
  "running",
  "succeeded",
  "failed",
  "timed_out",
  "skipped",
  "interrupted",
] as const;
/** Where an incident stands: waiting, with an agent, finished, skipped, or cut short by a stop. */
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

/** How one agent run ended (or `running` while it has not). */
export type RunStatus = Exclude<IncidentStatus, "queued" | "skipped">;

/** Why an incident was recorded without an agent: the router's reasons, or a full queue. */
export type IncidentSkipReason = SkipReason | "queue_full";

const SKIP_REASONS: readonly IncidentSkipReason[] = [
  "below_threshold",
  "triage_disabled",
  "no_agent",
  "queue_full",
];
const RUN_STATUSES: readonly RunStatus[] = ["running", "succeeded", "failed", "timed_out", "interrupted"];

/** One fault's incident: the events of that fault inside the dedup window, and its triage state. */
export interface Incident {
  /** Sortable, unique and path-safe (it names the workspace), e.g. `20261125T030512Z-prod-eu-1f2e3d4c`. */
  id: string;
  cluster: string;
  fault_id: string;
  /** From the first event. */
  fault_type: string;
  /** The most severe of its events. */
  severity: Severity;
  /** From the first event. */
  resource: FaultResource;
  status: IncidentStatus;
  /** Set exactly when `status` is `skipped`. */
  skip_reason: IncidentSkipReason | null;
  /** Events grouped into this incident. */
  count: number;
  /** RFC 3339: `received_at` of the first event. */
  first_seen: string;
  /** RFC 3339: the latest `received_at` of its events. */
  last_seen: string;
  /** Agent runs started for it. */
  attempts: number;
  /** Workspace of its latest run, null before the first. */
  workspace: string | null;
  /** RFC 3339. */
  created_at: string;
  /** RFC 3339. */
  updated_at: string;
}

/** A received event as recorded. */
export interface StoredEvent {
  id: number;
  incident_id: string;
  /** RFC 3339: when faultline received it. */
  received_at: string;
  event: FaultEvent;
}

/** One agent run for an incident. */
export interface AgentRun {
  id: number;
  incident_id: string;
  /** 1 for the first run of the incident, 2 for its first retry, … */
  attempt: number;
  status: RunStatus;
  exit_code: number | null;
  signal: string | null;
  /** RFC 3339. */
  started_at: string;
  /** RFC 3339, null while running. */
  finished_at: string | null;
  duration_ms: number | null;
  workspace: string;
  error: string | null;
}

/** One received event and the router's verdict on it, as handed to {@link IncidentStore.ingest}. */
export interface IngestItem {
  event: FaultEvent;
  decision: RouteDecision;
}

/** What {@link IncidentStore.ingest} did with one event. */
export interface IngestResult {
  /** The event's incident after this event. */
  incident: Incident;
  event_id: number;
  /** True when the event started a new incident; false when it joined an open one. */
  created: boolean;
  /** True when this event put its incident in the queue (a new queued incident, or a promoted skip). */
  queued: boolean;
}

/** An incident with everything recorded about it. */
export interface IncidentDetail {
  incident: Incident;
  /** Its most recent events, oldest first (see {@link DEFAULT_EVENT_LIMIT}); `incident.count` has the total. */
  events: StoredEvent[];
  /** Its agent runs, oldest first. */
  runs: AgentRun[];
}

/** Filter for {@link IncidentStore.list}. */
export interface IncidentFilter {
  cluster?: string;
  status?: IncidentStatus;
  /** Default {@link DEFAULT_LIST_LIMIT}, capped at {@link MAX_LIST_LIMIT}. */
  limit?: number;
}

/** Options for {@link IncidentStore.open}. */
export interface IncidentStoreOptions {
  /** `dedup_window_seconds`, default {@link DEFAULT_DEDUP_WINDOW_SECONDS}. */
  dedupWindowSeconds?: number;
  /** `agent.max_queue`, default {@link DEFAULT_MAX_QUEUE}. */
  maxQueue?: number;
  /** Start-up fails when the filesystem has less free space; default {@link DEFAULT_MIN_FREE_BYTES}. */
  minFreeBytes?: number;
  /** The store's clock (tests inject one). */
  now?: () => Date;
}

/** A run with no recorded end: its agent may still be alive (see {@link IncidentStore.openRuns}). */
export interface OpenRun {
  run_id: number;
  incident_id: string;
  /** The agent's pid and process-group id, when it started. */
  pid: number | null;
}

/** Options for {@link IncidentStore.recoverInterrupted}. */
export interface RecoverOptions {
  /** `agent.retry_interrupted`: queue interrupted incidents again. */
  retry: boolean;
  /** Only incidents with fewer agent runs than this are queued again. */
  maxAttempts: number;
}

/**
 * The store cannot be used: the message names the path and the cause (`state_dir` is a file, not
 * writable, the database is corrupt, the disk is full, …). Thrown by {@link IncidentStore.open}, and
 * by writes that fail later (e.g. the disk fills up), after which the write has been rolled back.
 */
export class StoreError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`incident store ${path}: ${problem}`, options);
    this.name = "StoreError";
  }
}

/** A call that does not fit the incident's or run's state (unknown id, not queued, …): a caller bug. */
export class IncidentStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IncidentStateError";
  }
}

/** `incidents` as SQLite returns it. */
interface IncidentRow {
  seq: number;
  id: string;
  cluster: string;
  fault_id: string;
  fault_type: string;
  severity: string;
  resource: string;
  status: string;
  skip_reason: string | null;
  count: number;
  first_seen_ms: number;
  last_seen_ms: number;
  attempts: number;
  workspace: string | null;
  created_ms: number;
  updated_ms: number;
}

/** `events` as SQLite returns it. */
interface EventRow {
  id: number;
  received_ms: number;
  event: string;
}

/** `runs` as SQLite returns it (with its incident's public id). */
interface RunRow {
  id: number;
  incident_seq: number;
  incident_id: string;
  attempt: number;
  status: string;
  exit_code: number | null;
  signal: string | null;
  started_ms: number;
  finished_ms: number | null;
  duration_ms: number | null;
  workspace: string;
  error: string | null;
}

/** `incident_counts` as SQLite returns it. */
interface CountRow {
  cluster: string;
  status: string;
  skip_reason: string;
  n: number;
}

const INCIDENT_COLUMNS =
  "seq, id, cluster, fault_id, fault_type, severity, resource, status, skip_reason, count, " +
  "first_seen_ms, last_seen_ms, attempts, workspace, created_ms, updated_ms";
const RUN_COLUMNS =
  "r.id, r.incident_seq, i.id AS incident_id, r.attempt, r.status, r.exit_code, r.signal, " +
  "r.started_ms, r.finished_ms, r.duration_ms, r.workspace, r.error";

/** Every statement the store runs, compiled once when it opens. */
function prepareStatements(db: Database) {
  return {
    incidentById: db.prepare<IncidentRow, { id: string }>(
      `SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE id = $id`,
    ),
    incidentBySeq: db.prepare<IncidentRow, { seq: number }>(
      `SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE seq = $seq`,
    ),
    openIncident: db.prepare<IncidentRow, { cluster: string; fault_id: string; since: number }>(
      `SELECT ${INCIDENT_COLUMNS} FROM incidents
       WHERE cluster = $cluster AND fault_id = $fault_id AND last_seen_ms >= $since
       ORDER BY last_seen_ms DESC LIMIT 1`,
    ),
    insertIncident: db.prepare<
      never,
      {
        id: string;
        cluster: string;
        fault_id: string;
        fault_type: string;
        severity: string;
        resource: string;
        status: string;
        skip_reason: string | null;
        seen: number;
        now: number;
      }
    >(
      `INSERT INTO incidents (id, cluster, fault_id, fault_type, severity, resource, status, skip_reason,
         count, first_seen_ms, last_seen_ms, attempts, workspace, created_ms, updated_ms)
       VALUES ($id, $cluster, $fault_id, $fault_type, $severity, $resource, $status, $skip_reason,
         1, $seen, $seen, 0, NULL, $now, $now)`,
    ),
    absorbEvent: db.prepare<
      never,
      {
        seq: number;
        count: number;
        last_seen: number;
        severity: string;
        status: string;
        skip_reason: string | null;
        now: number;
      }
    >(
      `UPDATE incidents SET count = $count, last_seen_ms = $last_seen, severity = $severity,
         status = $status, skip_reason = $skip_reason, updated_ms = $now
       WHERE seq = $seq`,
    ),
    insertEvent: db.prepare<never, { incident_seq: number; received: number; event: string }>(
      "INSERT INTO events (incident_seq, received_ms, event) VALUES ($incident_seq, $received, $event)",
    ),
    queueDepth: db.prepare<{ n: number }, []>(
      "SELECT COALESCE(SUM(n), 0) AS n FROM incident_counts WHERE status = 'queued'",
    ),
    // The oldest queued incident of the cluster served least recently (never served first; ties go
    // to the cluster whose head is older).
    nextQueued: db.prepare<IncidentRow, []>(
      `SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE seq = (
         SELECT head.seq FROM (
           SELECT cluster, MIN(seq) AS seq FROM incidents WHERE status = 'queued' GROUP BY cluster
         ) AS head
         LEFT JOIN cluster_turns AS turn ON turn.cluster = head.cluster
         ORDER BY COALESCE(turn.last_served, 0), head.seq
         LIMIT 1)`,
    ),
    startIncident: db.prepare<never, { seq: number; workspace: string; now: number }>(
      `UPDATE incidents SET status = 'running', attempts = attempts + 1, workspace = $workspace,
         updated_ms = $now
       WHERE seq = $seq AND status = 'queued'`,
    ),
    insertRun: db.prepare<never, { incident_seq: number; attempt: number; now: number; workspace: string }>(
      `INSERT INTO runs (incident_seq, attempt, status, started_ms, workspace)
       VALUES ($incident_seq, $attempt, 'running', $now, $workspace)`,
    ),
    recordTurn: db.prepare<never, { cluster: string; run_id: number }>(
      `INSERT INTO cluster_turns (cluster, last_served) VALUES ($cluster, $run_id)
       ON CONFLICT DO UPDATE SET last_served = excluded.last_served`,
    ),
    runById: db.prepare<RunRow, { id: number }>(
      `SELECT ${RUN_COLUMNS} FROM runs AS r JOIN incidents AS i ON i.seq = r.incident_seq WHERE r.id = $id`,
    ),
    runsOfIncident: db.prepare<RunRow, { seq: number }>(
      `SELECT ${RUN_COLUMNS} FROM runs AS r JOIN incidents AS i ON i.seq = r.incident_seq
       WHERE r.incident_seq = $seq ORDER BY r.id`,
    ),
    finishRun: db.prepare<
      never,
      {
        id: number;
        status: string;
        exit_code: number | null;
        signal: string | null;
        started: number;
        finished: number;
        duration_ms: number;
        workspace: string;
        error: string | null;
      }
    >(
      `UPDATE runs SET status = $status, exit_code = $exit_code, signal = $signal, started_ms = $started,
         finished_ms = $finished, duration_ms = $duration_ms,
         workspace = COALESCE(NULLIF($workspace, ''), workspace), error = $error
       WHERE id = $id AND finished_ms IS NULL`,
    ),
    finishIncident: db.prepare<never, { seq: number; status: string; workspace: string; now: number }>(
      `UPDATE incidents SET status = $status, workspace = COALESCE(NULLIF($workspace, ''), workspace),
         updated_ms = $now
       WHERE seq = $seq AND status = 'running'`,
    ),
    interruptOpenRuns: db.prepare<never, { now: number; error: string }>(
      `UPDATE runs SET status = 'interrupted', finished_ms = $now,
         duration_ms = MAX(0, $now - started_ms), error = $error
       WHERE finished_ms IS NULL`,
    ),
    interruptRunning: db.prepare<never, { now: number }>(
      "UPDATE incidents SET status = 'interrupted', updated_ms = $now WHERE status = 'running'",
    ),
    requeueInterrupted: db.prepare<never, { max_attempts: number; now: number }>(
      `UPDATE incidents SET status = 'queued', updated_ms = $now
       WHERE status = 'interrupted' AND attempts < $max_attempts`,
    ),
    recordPid: db.prepare<never, { id: number; pid: number }>("UPDATE runs SET pid = $pid WHERE id = $id"),
    openRuns: db.prepare<OpenRun, []>(
      `SELECT r.id AS run_id, i.id AS incident_id, r.pid FROM runs r JOIN incidents i ON i.seq = r.incident_seq
       WHERE r.finished_ms IS NULL ORDER BY r.id`,
    ),
    listAll: db.prepare<IncidentRow, { limit: number }>(
      `SELECT ${INCIDENT_COLUMNS} FROM incidents ORDER BY seq DESC LIMIT $limit`,
    ),
    listByCluster: db.prepare<IncidentRow, { cluster: string; limit: number }>(
      `SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE cluster = $cluster ORDER BY seq DESC LIMIT $limit`,
    ),
    listByStatus: db.prepare<IncidentRow, { status: string; limit: number }>(
      `SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE status = $status ORDER BY seq DESC LIMIT $limit`,
    ),
    listByClusterAndStatus: db.prepare<IncidentRow, { cluster: string; status: string; limit: number }>(
      `SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE cluster = $cluster AND status = $status
       ORDER BY seq DESC LIMIT $limit`,
    ),
    recentEvents: db.prepare<EventRow, { seq: number; limit: number }>(
      `SELECT id, received_ms, event FROM (
         SELECT id, received_ms, event FROM events WHERE incident_seq = $seq ORDER BY id DESC LIMIT $limit
       ) ORDER BY id`,
    ),
    counts: db.prepare<CountRow, []>(
      "SELECT cluster, status, skip_reason, n FROM incident_counts WHERE n > 0 ORDER BY cluster",
    ),
    recordOpened: db.prepare<never, { now: string }>(
      `INSERT INTO store_meta (key, value) VALUES ('last_opened_at', $now)
       ON CONFLICT DO UPDATE SET value = excluded.value`,
    ),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

/** Store settings after defaults and validation. */
interface Settings {
  dedupWindowMs: number;
  maxQueue: number;
  now: () => Date;
}

const log = logger({ component: "incident-store" });

/** The incident store. Open with {@link IncidentStore.open}; every method is synchronous. */
export class IncidentStore {
  readonly #db: Database;
  readonly #statements: Statements;
  readonly #settings: Settings;
  /** Absolute path of the database file. */
  readonly path: string;

  private constructor(db: Database, path: string, settings: Settings) {
    this.#db = db;
    this.path = path;
    this.#settings = settings;
    this.#statements = prepareStatements(db);
  }

  /**
   * Opens (creating if needed) `<stateDir>/faultline.db`: creates `stateDir`, checks it is a writable
   * directory with free space, opens the database in WAL mode with a busy timeout, checks its
   * integrity, migrates its schema and makes a test write. Throws {@link StoreError} naming the
   * path and the cause when any of that fails.
   */
  static open(stateDir: string, options: IncidentStoreOptions = {}): IncidentStore {
    const settings = resolveSettings(options);
    const dir = resolve(stateDir);
    const file = join(dir, DB_FILE);
    prepareStateDir(dir);
    checkDatabaseFile(file);
    checkFreeSpace(dir, options.minFreeBytes ?? DEFAULT_MIN_FREE_BYTES);
    const db = openDatabase(file);
    try {
      const store = new IncidentStore(db, file, settings);
      store.#write("record the start-up", () => {
        store.#statements.recordOpened.run({ now: settings.now().toISOString() });
      });
      return store;
    } catch (error) {
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
    if (batch.length === 0) return [];
    return this.#write("record events", () => {
      const now = this.#settings.now().getTime();
      // Only triage needs the queue bound; skip the count when nothing in the batch asks for it.
      const room = {
        queued: batch.some((item) => item.decision.action === "triage") ? this.#queueDepth() : 0,
      };
      return batch.map((item) => this.#ingestOne(item, now, room));
    });
  }

  #ingestOne(item: IngestItem, now: number, room: { queued: number }): IngestResult {
    const received = receivedMs(item.event, now);
    const open = this.#statements.openIncident.get({
      cluster: item.event.cluster,
      fault_id: item.event.fault_id,
      since: received - this.#settings.dedupWindowMs,
    });
    const { row, created, queued } =
      open === null
        ? this.#createIncident(item, received, now, room)
        : this.#absorbEvent(open, item, received, now, room);
    const eventId = this.#statements.insertEvent.run({
      incident_seq: row.seq,
      received,
      event: JSON.stringify(item.event),
    }).lastInsertRowid;
    return { incident: toIncident(row), event_id: Number(eventId), created, queued };
  }

  #createIncident(
    item: IngestItem,
    received: number,
    now: number,
    room: { queued: number },
  ): { row: IncidentRow; created: true; queued: boolean } {
    const { event } = item;
    const triage = this.#triageState(item.decision, room);
    const row: IncidentRow = {
      seq: 0,
      id: newIncidentId(event, new Date(received)),
      cluster: event.cluster,
      fault_id: event.fault_id,
      fault_type: event.fault_type,
      severity: event.severity,
      resource: JSON.stringify(event.resource),
      status: triage.status,
      skip_reason: triage.skip_reason,
      count: 1,
      first_seen_ms: received,
      last_seen_ms: received,
      attempts: 0,
      workspace: null,
      created_ms: now,
      updated_ms: now,
    };
    const inserted = this.#statements.insertIncident.run({
      id: row.id,
      cluster: row.cluster,
      fault_id: row.fault_id,
      fault_type: row.fault_type,
      severity: row.severity,
      resource: row.resource,
      status: row.status,
      skip_reason: row.skip_reason,
      seen: received,
      now,
    });
    row.seq = Number(inserted.lastInsertRowid);
    return { row, created: true, queued: triage.status === "queued" };
  }

  /** A repeat: count it, move `last_seen`, keep the worst severity, promote a skip routed to triage. */
  #absorbEvent(
    row: IncidentRow,
    item: IngestItem,
    received: number,
    now: number,
    room: { queued: number },
  ): { row: IncidentRow; created: false; queued: boolean } {
    const promote = row.status === "skipped" && item.decision.action === "triage";
    const triage = promote ? this.#triageState(item.decision, room) : null;
    const updated: IncidentRow = {
      ...row,
      count: row.count + 1,
      last_seen_ms: Math.max(row.last_seen_ms, received),
      severity: worseSeverity(toSeverity(row.severity), item.event.severity),
      status: triage?.status ?? row.status,
      skip_reason: triage ? triage.skip_reason : row.skip_reason,
      updated_ms: now,
    };
    this.#statements.absorbEvent.run({
      seq: updated.seq,
      count: updated.count,
      last_seen: updated.last_seen_ms,
      severity: updated.severity,
      status: updated.status,
      skip_reason: updated.skip_reason,
      now,
    });
    return { row: updated, created: false, queued: triage?.status === "queued" };
  }

  /** Queued if the decision is triage and the queue has room (taking a place), else skipped and why. */
  #triageState(
    decision: RouteDecision,
    room: { queued: number },
  ): { status: IncidentStatus; skip_reason: IncidentSkipReason | null } {
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
    return this.#write("start an agent run", () => {
      const incident = this.#incidentRow(id);
      const now = this.#settings.now().getTime();
      if (this.#statements.startIncident.run({ seq: incident.seq, workspace, now }).changes === 0) {
        throw new IncidentStateError(`incident ${id} is ${incident.status}, not queued`);
      }
      const runId = Number(
        this.#statements.insertRun.run({
          incident_seq: incident.seq,
          attempt: incident.attempts + 1,
          now,
          workspace,
        }).lastInsertRowid,
      );
      this.#statements.recordTurn.run({ cluster: incident.cluster, run_id: runId });
      return toAgentRun(this.#runRow(runId));
    });
  }

  /**
   * Records how a run ended and sets its incident's status: `error` → failed, timed out →
   * timed_out, interrupted → interrupted, exit 0 → succeeded, anything else → failed. A run already
   * closed (e.g. by another process's {@link recoverInterrupted}) is left as it is, with a warning.
   * Returns the incident as it now stands. Throws {@link IncidentStateError} for an unknown run.
   */
  finishRun(runId: number, outcome: AgentOutcome): Incident {
    return this.#write("record an agent run's outcome", () => {
      const run = this.#runRow(runId);
      const status = runStatusOf(outcome);
      const now = this.#settings.now().getTime();
      const closed = this.#statements.finishRun.run({
        id: runId,
        status,
        exit_code: outcome.exit_code,
        signal: outcome.signal,
        started: parseTime(outcome.started_at) ?? run.started_ms,
        finished: parseTime(outcome.finished_at) ?? now,
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
      } else {
        this.#statements.finishIncident.run({
          seq: run.incident_seq,
          status,
          workspace: outcome.workspace,
          now,
        });
      }
      return toIncident(this.#incidentRowBySeq(run.incident_seq));
    });
  }

  /**
   * Start-up recovery, before any agent starts: incidents left `running` (a crash, or the previous
   * process still exiting) become `interrupted` and their open runs are closed as interrupted. With
   * `retry`, every interrupted incident with fewer than `maxAttempts` runs is queued again (oldest
   * first, like any queued incident); the rest stay interrupted. Queued incidents simply resume.
   */
  recoverInterrupted(options: RecoverOptions): { interrupted: number; requeued: number } {
    const result = this.#write("recover interrupted incidents", () => {
      const now = this.#settings.now().getTime();
      this.#statements.interruptOpenRuns.run({ now, error: "faultline stopped while the agent was running" });
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
    const limit = clampLimit(filter.limit);
    const { cluster, status } = filter;
    const rows = this.#read("list incidents", () => {
      const s = this.#statements;
      if (cluster !== undefined && status !== undefined) {
        return s.listByClusterAndStatus.all({ cluster, status, limit });
      }
      if (cluster !== undefined) return s.listByCluster.all({ cluster, limit });
      if (status !== undefined) return s.listByStatus.all({ status, limit });
      return s.listAll.all({ limit });
    });
    return rows.map(toIncident);
  }

  /** An incident with its most recent events (at most `eventLimit`) and all its runs; null if unknown. */
  get(id: string, options: { eventLimit?: number } = {}): IncidentDetail | null {
    const limit = Math.max(1, Math.floor(options.eventLimit ?? DEFAULT_EVENT_LIMIT));
    return this.#read("read an incident", () => {
      const row = this.#statements.incidentById.get({ id });
      if (row === null) return null;
      const events = this.#statements.recentEvents.all({ seq: row.seq, limit });
      const runs = this.#statements.runsOfIncident.all({ seq: row.seq });
      return {
        incident: toIncident(row),
        events: events.map((event) => toStoredEvent(event, row.id)),
        runs: runs.map(toAgentRun),
      };
    });
  }

  /** Incident counts per cluster and status (statuses with none are left out). */
  countsByCluster(): Map<string, Partial<Record<IncidentStatus, number>>> {
    const counts = new Map<string, Partial<Record<IncidentStatus, number>>>();
    for (const row of this.#countRows()) {
      const status = toIncidentStatus(row.status);
      const perStatus = counts.get(row.cluster) ?? {};
      perStatus[status] = (perStatus[status] ?? 0) + row.n;
      counts.set(row.cluster, perStatus);
    }
    return counts;
  }

  /** Skipped-incident counts per cluster and reason (e.g. how many `queue_full`). */
  skipsByCluster(): Map<string, Partial<Record<IncidentSkipReason, number>>> {
    const counts = new Map<string, Partial<Record<IncidentSkipReason, number>>>();
    for (const row of this.#countRows()) {
      if (row.status !== "skipped") continue;
      const reason = toSkipReason(row.skip_reason);
      const perReason = counts.get(row.cluster) ?? {};
      perReason[reason] = (perReason[reason] ?? 0) + row.n;
      counts.set(row.cluster, perReason);
    }
    return counts;
  }

  /** Incidents waiting for an agent slot. */
  queueDepth(): number {
    return this.#read("count queued incidents", () => this.#queueDepth());
  }

  /** Closes the database (idempotent). The store is unusable afterwards. */
  close(): void {
    for (const statement of Object.values(this.#statements)) statement.finalize();
    this.#db.close();
  }

  #queueDepth(): number {
    return this.#statements.queueDepth.get()?.n ?? 0;
  }

  #countRows(): CountRow[] {
    return this.#read("count incidents", () => this.#statements.counts.all());
  }

  #incidentRow(id: string): IncidentRow {
    const row = this.#statements.incidentById.get({ id });
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
      return this.#db.transaction(work).immediate();
    } catch (error) {
      throw error instanceof SQLiteError ? toStoreError(this.path, `cannot ${action}`, error) : error;
    }
  }

  /** Runs a read; SQLite failures become a {@link StoreError}. */
  #read<T>(action: string, work: () => T): T {
    try {
      return work();
    } catch (error) {
      throw error instanceof SQLiteError ? toStoreError(this.path, `cannot ${action}`, error) : error;
    }
  }
}

function resolveSettings(options: IncidentStoreOptions): Settings {
  const dedupWindowSeconds = options.dedupWindowSeconds ?? DEFAULT_DEDUP_WINDOW_SECONDS;
  const maxQueue = options.maxQueue ?? DEFAULT_MAX_QUEUE;
  if (!Number.isFinite(dedupWindowSeconds) || dedupWindowSeconds < 0) {
    throw new RangeError(`dedupWindowSeconds must be a number >= 0, got ${dedupWindowSeconds}`);
  }
  if (!Number.isInteger(maxQueue) || maxQueue < 0) {
    throw new RangeError(`maxQueue must be an integer >= 0, got ${maxQueue}`);
  }
  return { dedupWindowMs: dedupWindowSeconds * 1000, maxQueue, now: options.now ?? (() => new Date()) };
}

/** Creates `state_dir` if missing; it must be a writable directory. */
export function prepareStateDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") {
      throw new StoreError(dir, "state_dir is not a directory", { cause: error });
    }
    throw new StoreError(dir, `cannot create state_dir: ${describeFsError(error)}`, { cause: error });
  }
  if (!statSync(dir).isDirectory()) throw new StoreError(dir, "state_dir is not a directory");
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw new StoreError(dir, `state_dir is not writable: ${describeFsError(error)}`, { cause: error });
  }
}

/** An existing database file must be a regular file faultline can read and write. */
function checkDatabaseFile(file: string): void {
  let isFile: boolean;
  try {
    isFile = statSync(file).isFile();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw new StoreError(file, `cannot inspect the database file: ${describeFsError(error)}`, {
      cause: error,
    });
  }
  if (!isFile) throw new StoreError(file, "the database path exists but is not a file");
  try {
    accessSync(file, constants.R_OK | constants.W_OK);
  } catch (error) {
    throw new StoreError(file, `database file is not writable: ${describeFsError(error)}`, { cause: error });
  }
}

/** Refuses to start on a (nearly) full filesystem rather than failing on the first write. */
function checkFreeSpace(dir: string, minFreeBytes: number): void {
  if (minFreeBytes <= 0) return;
  const stats = statfsSync(dir);
  const free = stats.bavail * stats.bsize;
  if (free < minFreeBytes) {
    throw new StoreError(
      dir,
      `disk full: ${formatBytes(free)} free on the filesystem holding state_dir, need at least ${formatBytes(minFreeBytes)}`,
    );
  }
}

/** Opens the file in WAL mode, checks its integrity and migrates its schema; closes it again on failure. */
function openDatabase(file: string): Database {
  let db: Database;
  try {
    db = new Database(file, { create: true, readwrite: true, strict: true });
  } catch (error) {
    throw toStoreError(file, "cannot open the database", error);
  }
  try {
    db.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const mode = db.query<{ journal_mode: string }, []>("PRAGMA journal_mode = WAL").get()?.journal_mode;
    if (mode !== "wal")
      throw new StoreError(file, `cannot switch the database to WAL mode (it stays in ${mode})`);
    db.run("PRAGMA synchronous = NORMAL");
    db.run("PRAGMA foreign_keys = ON");
    checkIntegrity(db, file);
    const { from, to } = migrate(db);
    if (from !== to) log.info("incident store schema migrated", { path: file, from, to });
    return db;
  } catch (error) {
    db.close();
    if (error instanceof StoreError) throw error;
    if (error instanceof NewerSchemaError) throw new StoreError(file, error.message, { cause: error });
    throw toStoreError(file, "cannot open the database", error);
  }
}

/** `PRAGMA quick_check`: structural damage found now, not in the middle of a burst of events. */
function checkIntegrity(db: Database, file: string): void {
  const report = db
    .query<{ quick_check: string }, []>("PRAGMA quick_check(3)")
    .all()
    .map((row) => row.quick_check);
  if (report.length === 1 && report[0] === "ok") return;
  const problems = report
    .flatMap((text) => text.split("\n"))
    .filter((line) => line !== "" && !line.startsWith("***"))
    .slice(0, 3);
  throw new StoreError(
    file,
    `database is corrupt (${problems.join("; ")}); move it aside to start with an empty store`,
  );
}

/** A StoreError for `path` saying what could not be done and, as plainly as possible, why. */
function toStoreError(path: string, action: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  return new StoreError(path, `${action}: ${describeFailure(error)}`, { cause: error });
}

/** SQLite and file-system failures in words an operator can act on. */
function describeFailure(error: unknown): string {
  if (!(error instanceof SQLiteError)) return describeFsError(error);
  const code = error.code ?? "";
  if (code === "SQLITE_NOTADB") {
    return "file is not a database (corrupt, or not a faultline database); move it aside to start with an empty store";
  }
  if (code.startsWith("SQLITE_CORRUPT")) return `database is corrupt (${error.message}); move it aside`;
  if (code === "SQLITE_FULL" || code === "SQLITE_IOERR_WRITE" || code === "SQLITE_IOERR_FSYNC") {
    return code === "SQLITE_FULL" ? "disk full" : `write failed, the disk may be full (${code})`;
  }
  if (code.startsWith("SQLITE_READONLY")) return `database is read-only (${error.message})`;
  if (code.startsWith("SQLITE_CANTOPEN")) return `cannot open the database file (${error.message})`;
  if (code.startsWith("SQLITE_BUSY")) {
    return `database is locked by another process for more than ${BUSY_TIMEOUT_MS} ms`;
  }
  return `${error.message} (${code || `SQLite error ${error.errno}`})`;
}

/** A Node file-system error in words: `permission denied`, `not a directory`, … */
function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "ENOTDIR":
      return "a parent of the path is a file, not a directory";
    case "ENOSPC":
      return "disk full";
    case "EROFS":
      return "read-only file system";
    default:
      return errorMessage(error);
  }
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

/** How a finished run maps to a status. */
function runStatusOf(outcome: AgentOutcome): RunStatus {
  if (outcome.error !== null) return "failed";
  if (outcome.timed_out) return "timed_out";
  if (outcome.interrupted) return "interrupted";
  return outcome.exit_code === 0 ? "succeeded" : "failed";
}

/** The event's `received_at` in ms; the store's clock when it is missing or unparseable. */
function receivedMs(event: FaultEvent, fallback: number): number {
  return parseTime(event.received_at) ?? fallback;
}

function parseTime(text: string): number | null {
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}

function clampLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_LIST_LIMIT;
  return Math.min(MAX_LIST_LIMIT, Math.max(1, Math.floor(limit)));
}

function worseSeverity(a: Severity, b: Severity): Severity {
  return SEVERITIES.indexOf(a) >= SEVERITIES.indexOf(b) ? a : b;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : iso(ms);
}

function toIncident(row: IncidentRow): Incident {
  return {
    id: row.id,
    cluster: row.cluster,
    fault_id: row.fault_id,
    fault_type: row.fault_type,
    severity: toSeverity(row.severity),
    resource: parseJson<FaultResource>(row.resource),
    status: toIncidentStatus(row.status),
    skip_reason: row.skip_reason === null ? null : toSkipReason(row.skip_reason),
    count: row.count,
    first_seen: iso(row.first_seen_ms),
    last_seen: iso(row.last_seen_ms),
    attempts: row.attempts,
    workspace: row.workspace,
    created_at: iso(row.created_ms),
    updated_at: iso(row.updated_ms),
  };
}

function toStoredEvent(row: EventRow, incidentId: string): StoredEvent {
  return {
    id: row.id,
    incident_id: incidentId,
    received_at: iso(row.received_ms),
    event: parseJson<FaultEvent>(row.event),
  };
}

function toAgentRun(row: RunRow): AgentRun {
  return {
    id: row.id,
    incident_id: row.incident_id,
    attempt: row.attempt,
    status: toRunStatus(row.status),
    exit_code: row.exit_code,
    signal: row.signal,
    started_at: iso(row.started_ms),
    finished_at: isoOrNull(row.finished_ms),
    duration_ms: row.duration_ms,
    workspace: row.workspace,
    error: row.error,
  };
}

/** JSON the store wrote itself from a value of type `T`. */
function parseJson<T>(text: string): T {
  return JSON.parse(text) as T;
}

function oneOf<T extends string>(allowed: readonly T[], value: string, what: string): T {
  const found = allowed.find((candidate) => candidate === value);
  if (found === undefined)
    throw new Error(`unexpected ${what} in the incident store: ${JSON.stringify(value)}`);
  return found;
}

function toSeverity(value: string): Severity {
  return oneOf(SEVERITIES, value, "severity");
}

function toIncidentStatus(value: string): IncidentStatus {
  return oneOf(INCIDENT_STATUSES, value, "incident status");
}

function toRunStatus(value: string): RunStatus {
  return oneOf(RUN_STATUSES, value, "run status");
}

function toSkipReason(value: string): IncidentSkipReason {
  return oneOf(SKIP_REASONS, value, "skip reason");
}
