/**
 * What the incident store holds and hands out: incidents, their events and agent runs, the status
 * and skip-reason lists (defined once here; the schema's CHECK constraints are tested against them),
 * the shapes of its inputs and outputs, and its errors.
 */
import type { RunOutput } from "../agent/output.ts";
import type { FaultEvent, FaultResource, Severity } from "../events/fault.ts";
import { exhaustiveList } from "./exhaustive.ts";
import type { Notification } from "./outbox.ts";

/** Why a fault was recorded but not triaged (the route stage's reasons). */
export type SkipReason = "below_threshold" | "triage_disabled" | "no_agent";

/** The route stage's verdict for one fault, as the store takes it. */
export type RouteDecision = { action: "triage" } | { action: "skip"; reason: SkipReason };

/** Default dedup window: a repeat within this many seconds of `last_seen` joins the incident. */
export const DEFAULT_DEDUP_WINDOW_SECONDS = 300;
/** Default bound on incidents waiting for an agent (`agent.max_queue`). */
export const DEFAULT_MAX_QUEUE = 1000;
/** `IncidentStore.list` returns this many incidents unless told otherwise. */
export const DEFAULT_LIST_LIMIT = 100;
/** `IncidentStore.list` never returns more than this many incidents. */
export const MAX_LIST_LIMIT = 1000;
/** `IncidentStore.get` returns at most this many (most recent) events unless told otherwise. */
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
/** Every run status, in the order the schema lists them. */
export const RUN_STATUSES = exhaustiveList<RunStatus>()([
  "running",
  "succeeded",
  "failed",
  "timed_out",
  "interrupted",
]);

/** Why an incident was recorded without an agent: the router's reasons, or a full queue. */
export type IncidentSkipReason = SkipReason | "queue_full";
/** Every skip reason, in the order the schema lists them. */
export const INCIDENT_SKIP_REASONS = exhaustiveList<IncidentSkipReason>()([
  "below_threshold",
  "triage_disabled",
  "no_agent",
  "queue_full",
]);

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
  /**
   * What the agent left for people (`report.md`, `summary.json`, each with its status); null while it
   * runs, and for runs that ended without an outcome being recorded (e.g. cut short by a crash).
   */
  output: RunOutput | null;
}

/**
 * How an agent run ended, as `IncidentStore.finishRun` records it. The agent runner's outcome has
 * these fields (and more), so it can be passed as it is.
 */
export interface RunEnd {
  /** The agent's exit status; null when a signal ended it or it never started. */
  exit_code: number | null;
  /** The signal that ended the agent, else null. */
  signal: string | null;
  /** faultline ended it for running past its timeout. */
  timed_out: boolean;
  /** faultline ended it (or never started it) because the run was aborted, e.g. on shutdown. */
  interrupted: boolean;
  /** Why the agent could not run at all, else null. */
  error: string | null;
  /** RFC 3339; the run's recorded start is kept when unparseable. */
  started_at: string;
  /** RFC 3339; the store's clock is used when unparseable. */
  finished_at: string;
  duration_ms: number;
  /** Where it ran; empty keeps the workspace recorded when it started. */
  workspace: string;
  /** What the agent left in its workspace (`report.md`, `summary.json`); absent: nothing recorded. */
  output?: RunOutput | null;
}

/**
 * The status a finished run gives its incident: `error` → failed, timed out → timed_out,
 * interrupted → interrupted, exit 0 → succeeded, anything else → failed.
 */
export function runStatusOf(end: RunEnd): RunStatus {
  if (end.error !== null) return "failed";
  if (end.timed_out) return "timed_out";
  if (end.interrupted) return "interrupted";
  return end.exit_code === 0 ? "succeeded" : "failed";
}

/** One received event and the router's verdict on it, as handed to `IncidentStore.ingest`. */
export interface IngestItem {
  event: FaultEvent;
  decision: RouteDecision;
}

/** What recording an event as its incident reads of it (the rest is in the event's JSON text). */
export type IncidentFacts = Pick<
  FaultEvent,
  "cluster" | "fault_id" | "fault_type" | "severity" | "resource" | "received_at"
>;

/** An event as the SQLite store records it: its {@link IncidentFacts} and its route verdict. */
export interface RecordedItem {
  event: IncidentFacts;
  decision: RouteDecision;
}

/**
 * The {@link IncidentFacts} of `event`: a small object, so that what keeps it (the intake journal's
 * entries) does not keep the event's `raw` payload, labels and context alive.
 */
export function incidentFacts(event: IncidentFacts): IncidentFacts {
  const { cluster, fault_id, fault_type, severity, resource, received_at } = event;
  return { cluster, fault_id, fault_type, severity, resource, received_at };
}

/** What `IncidentStore.ingest` did with one event. */
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
  /** Its agent runs, oldest first, each with its output (report and summary). */
  runs: AgentRun[];
  /** The notifications about it (the outbox: pending, sent, dead), oldest first. */
  notifications: Notification[];
}

/** Filter for `IncidentStore.list`. */
export interface IncidentFilter {
  cluster?: string;
  status?: IncidentStatus;
  /** Default {@link DEFAULT_LIST_LIMIT}, capped at {@link MAX_LIST_LIMIT}. */
  limit?: number;
}

/** A run with no recorded end: its agent may still be alive (see `IncidentStore.openRuns`). */
export interface OpenRun {
  run_id: number;
  incident_id: string;
  cluster: string;
  /** The agent supervisor's pid, once it started (a faultline before the supervisor recorded the agent's). */
  pid: number | null;
  workspace: string;
  /** When the run started (epoch ms). */
  started_ms: number;
}

/** Options for `IncidentStore.recoverInterrupted`. */
export interface RecoverOptions {
  /** `agent.retry_interrupted`: queue interrupted incidents again. */
  retry: boolean;
  /** Only incidents with fewer agent runs than this are queued again. */
  maxAttempts: number;
  /** Open runs that are still going (adopted): they and their incidents stay `running`. */
  keepRunIds?: readonly number[];
  /**
   * Shared stores (PostgreSQL): settle the open runs of this replica (one whose lease expired) instead
   * of the store's own. A single-process store (SQLite) has one replica and ignores it.
   */
  replica?: string;
}

/**
 * The store cannot be used: the message names the path and the cause (`state_dir` is a file, not
 * writable, the database is corrupt, the disk is full, …). Thrown by `SqliteStore.open`, and by
 * writes that fail later (e.g. the disk fills up), after which the write has been rolled back.
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

/**
 * A replica's ingest refused a batch: it holds events of clusters whose owner row (`cluster_owners`) no
 * longer names this replica (another took them over after this one was fenced or presumed dead). Nothing
 * of the batch was recorded; the caller drops those clusters' events (their new owner's backfill lists
 * them) and stores the rest. Only a store that checks ownership throws it (PostgreSQL shared by replicas).
 */
export class NotOwnerError extends Error {
  constructor(
    /** The batch's clusters this replica does not hold, sorted. */
    readonly clusters: readonly string[],
  ) {
    super(`this replica no longer holds cluster(s) ${clusters.join(", ")}`);
    this.name = "NotOwnerError";
  }
}

/** A call that does not fit the incident's or run's state (unknown id, not queued, …): a caller bug. */
export class IncidentStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IncidentStateError";
  }
}

/** When a cluster's connection was last known alive, and its MCP session then (null: closed cleanly). */
export type ClusterLiveness = {
  cluster: string;
  /** Epoch ms. */
  last_alive_ms: number;
  session_id: string | null;
};
