/**
 * The worker ↔ main-thread protocol, in one place: every message that crosses the boundary, the
 * connection statuses, and the encoding of event batches.
 * Workers own connections; the main thread owns the registry, the channel and everything after it.
 */
import type {
  ClusterConfig,
  ConnectionTiming,
  EndpointConfig,
  LimitsConfig,
  SubscribeConfig,
} from "../config/types.ts";
import { MAX_REPORTED_CHARS, truncateText } from "../events/bounds.ts";
import { rememberEventJson } from "../events/event-json.ts";
import type { FaultEvent } from "../events/fault.ts";
import type { LogLevel } from "../log.ts";

/** Lifecycle of one cluster connection. */
export const CONNECTION_STATUSES = [
  "disconnected",
  "connecting",
  "connected",
  "subscribing",
  "active",
  "failed",
  "disabled",
] as const;
/** One of {@link CONNECTION_STATUSES}. */
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];

/** How a connection receives faults: pushed (`events_subscribe`) or polled (`events_list`). */
export type FeedMode = "push" | "poll";

/**
 * Where a previous faultline left a cluster: the connection backfills the faults of the gap (where
 * the server has `events_list`) and ends the session that died with that process.
 */
export interface ClusterResume {
  /** RFC 3339: where the backfill starts (shortly before the connection was last known alive). */
  since: string;
  /**
   * RFC 3339: when the connection was last known alive (the stored liveness `since` was derived from).
   * Until the gap is listed, the new connection reports the cluster alive no later than this, so that a
   * restart or a takeover meanwhile resumes from the same point (see `Feed.owedSince`).
   */
  last_alive: string;
  /** The session then, still open on the server unless it was closed cleanly (null). */
  session_id: string | null;
  /**
   * Per object (`kind/namespace/name`), the time (epoch ms) of its newest fault already stored: the
   * backfill skips what is not newer (a pushed fault's id differs from a listed one's).
   */
  seen: Array<[object: string, atMs: number]>;
}

/**
 * What a worker needs to know about a cluster: how to reach its server (URL, kubeconfig context,
 * credentials, headers, TLS; see transport.ts) and what to tag its faults with. Never its kubeconfig:
 * workers do not need it.
 */
export type ClusterSpec = Pick<ClusterConfig, "name" | "labels" | "config_path"> &
  EndpointConfig & {
    /** Set on the first start after a previous faultline ran: see {@link ClusterResume}. */
    resume?: ClusterResume;
  };

/** The {@link ClusterSpec} of a configured cluster. */
export function clusterSpec(cluster: ClusterConfig): ClusterSpec {
  const { name, labels, config_path, mcp_endpoint, context, auth, headers, tls } = cluster;
  return { name, labels, config_path, mcp_endpoint, context, auth, headers, tls };
}

/** Settings shared by every connection. */
export interface ConnectionSettings extends ConnectionTiming {
  subscribe: SubscribeConfig;
  log_level: LogLevel;
  /** Connection attempts (connecting → active or failed) one worker runs at once. */
  connect_concurrency: number;
  /** What a server may send (sizes, nesting, string lengths); the defaults of `limits` when absent. */
  limits?: LimitsConfig;
}

/** main → worker: start these clusters' connections. */
export interface StartMessage {
  type: "start";
  clusters: ClusterSpec[];
  settings: ConnectionSettings;
}

/** main → worker: unsubscribe, close sessions, then answer {@link StoppedMessage}. */
export interface StopMessage {
  type: "stop";
}

/** main → worker: stop reading event streams (the main thread is behind) / read them again. */
export interface FlowMessage {
  type: "hold" | "release";
}

/**
 * main → worker, fault injection for tests and drills: the worker's next event batch fails to encode, an
 * uncaught error that ends the worker with the events it held (see {@link CrashedMessage}).
 */
export interface FailMessage {
  type: "fail";
}

/**
 * main → worker: answer {@link WatchedMessage} now. The supervisor asks a worker it has not heard from for
 * a while; one that stays silent past `workers.hang_seconds` is taken for hung and restarted.
 */
export interface WatchMessage {
  type: "watch";
}

/**
 * main → worker, fault injection for tests and drills: the worker's thread spins forever without
 * yielding (as a runaway loop would), so it answers nothing until the supervisor ends it.
 */
export interface HangMessage {
  type: "hang";
}

/**
 * main → worker (config reload): start connections for these clusters, with these settings (the
 * worker's own from {@link StartMessage} stay for its other connections).
 */
export interface AddClustersMessage {
  type: "add";
  clusters: ClusterSpec[];
  settings: ConnectionSettings;
}

/** main → worker (config reload): unsubscribe and close these clusters' connections, and forget them. */
export interface RemoveClustersMessage {
  type: "remove";
  clusters: string[];
}

/**
 * main → worker (config reload): close each named cluster's connection, then start a new one from
 * its new spec (in that order, so its statuses never interleave).
 */
export interface ReplaceClustersMessage {
  type: "replace";
  clusters: ClusterSpec[];
  settings: ConnectionSettings;
}

/** main → worker (config reload): the log level changed. */
export interface LogLevelMessage {
  type: "log_level";
  level: LogLevel;
}

/** Messages the main thread sends to a worker. */
export type MainToWorker =
  | StartMessage
  | StopMessage
  | FlowMessage
  | WatchMessage
  | HangMessage
  | AddClustersMessage
  | RemoveClustersMessage
  | ReplaceClustersMessage
  | LogLevelMessage
  | FailMessage;

/** A connection changed status. */
export interface StatusMessage {
  type: "status";
  cluster: string;
  status: ConnectionStatus;
  /** Why it failed (set with `failed`, else null). */
  error: string | null;
  /** Delay before the next attempt (set with `failed`, else null). */
  retry_in_ms: number | null;
  /** RFC 3339 time of the change. */
  at: string;
  /** With `active`: how faults arrive on this session. */
  mode?: FeedMode;
}

/** A poll-mode list finished: `error` set when the server could not list events (the feed is degraded). */
export interface PolledMessage {
  type: "polled";
  cluster: string;
  at: string;
  error: string | null;
}

/** A push feed checked that its subscription still exists; `resubscribed` when it was gone and renewed. */
export interface SubscriptionCheckedMessage {
  type: "subscription_checked";
  cluster: string;
  at: string;
  resubscribed: boolean;
}

/** A fault, already validated and normalised, as a connection reports it. */
export interface EventMessage {
  type: "event";
  event: FaultEvent;
}

/**
 * How long a worker holds an event before sending it, gathering the ones that follow into the same
 * {@link EventBatchMessage}. At a low steady rate (500 events/s per worker, one per connection a second)
 * each event otherwise travelled alone: a message, a main-thread wake-up and, behind it, a store
 * transaction each. Bounded well inside the 10 ms p99 fan-in goal; the sink's own wait counts from the
 * event's `received_at`, so the two waits do not add up (see `FAN_IN_LINGER_MS` in pipeline/sink.ts).
 * Equal to that wait (never longer: tests/worker/event-batcher.test.ts), a batch reaches the sink about
 * when the sink would store it anyway, so waiting here costs no latency. 4 ms, not 2: at 1000 events/s
 * the main thread's cost is per message and per commit far more than per event (a commit of 2-3 events
 * cost ~350 µs of it), so ~5 events a batch instead of ~3 took ~25 % off the steady phase's CPU (main and
 * worker together; docs/performance.md, eighth pass) for ~1-2 ms more p50, p99 inside its goal.
 */
export const EVENT_BATCH_MS = 4;

/**
 * The faults a source's connections reported within {@link EVENT_BATCH_MS} (one message, not one each).
 * From a worker thread as JSON text, one {@link FaultEvent} per line: measured 3.5× cheaper than
 * structured-cloning the objects (0.84 vs 2.98 µs per event), and each line is the event's JSON the store
 * records (not serialised again on the main thread). From a source on the main thread (`workers.threads`)
 * as the objects themselves: nothing crosses a thread, so nothing is encoded. Validated in the source; the
 * main thread trusts its own source's events.
 */
export type EventBatchMessage = EventJsonBatch | EventObjectBatch;

/** An {@link EventBatchMessage} from a worker thread. */
export interface EventJsonBatch {
  type: "events";
  /** One event's JSON per line, `\n` between lines (JSON text never holds a raw line break). */
  json: string;
}

/** An {@link EventBatchMessage} from a source on the main thread. */
export interface EventObjectBatch {
  type: "events";
  /** The events as the source validated them. */
  events: FaultEvent[];
}

/** The server reported its own watch failing (`kubernetes/subscription_error`); the connection stays. */
export interface DegradedMessage {
  type: "degraded";
  cluster: string;
  error: string;
  at: string;
}

/**
 * Why a source dropped what a server sent: `malformed` (fails validation or normalisation), `oversized`
 * (over `limits.max_event_bytes`), `too_deep` (nested past `limits.max_event_depth`), `unparsable` (not
 * JSON, or not JSON-RPC).
 */
export type SourceDropReason = "malformed" | "oversized" | "too_deep" | "unparsable";

/** A notification that could not be used, with why (never its content beyond a short excerpt). */
export interface DroppedMessage {
  type: "dropped";
  cluster: string;
  reason: SourceDropReason;
  detail: string;
}

/**
 * A worker's last words: it is dying of an uncaught error. `held` counts, by cluster, the events it had
 * accepted but not yet sent (they are lost, and counted as `worker_crashed`).
 */
export interface CrashedMessage {
  type: "crashed";
  error: string;
  held: Record<string, number>;
}

/**
 * The connection was alive at `at` on session `session_id` (null once the session was closed
 * cleanly). Sent at most every few seconds per connection; the main thread stores the latest in
 * batches, so a restarted faultline knows where each cluster's gap begins.
 */
export interface AliveMessage {
  type: "alive";
  cluster: string;
  at: string;
  session_id: string | null;
}

/**
 * A worker's {@link AliveMessage}s of the last moment, in one message: a connection proves alive at every
 * ping, and one message per ping cost each thread a wake-up (the main thread's handler did nothing else
 * with it than keep the latest). Sent at most every {@link ALIVE_BATCH_MS}, and before any other message.
 */
export interface AliveBatchMessage {
  type: "alives";
  reports: AliveMessage[];
}

/** How long a worker gathers `alive` reports before sending them (see {@link AliveBatchMessage}). */
export const ALIVE_BATCH_MS = 1000;

/** The worker finished a {@link StopMessage}. */
export interface StoppedMessage {
  type: "stopped";
}

/** The worker's answer to a {@link WatchMessage}: its event loop still turns. */
export interface WatchedMessage {
  type: "watched";
}

/** The worker closed these clusters' connections (unsubscribed, sessions ended) for a {@link RemoveClustersMessage}. */
export interface RemovedMessage {
  type: "removed";
  clusters: string[];
}

/** What a connection reports; the worker batches the events before they cross to the main thread. */
export type ConnectionMessage =
  | StatusMessage
  | EventMessage
  | DegradedMessage
  | PolledMessage
  | SubscriptionCheckedMessage
  | DroppedMessage
  | AliveMessage;

/** Messages a worker sends to the main thread. */
export type WorkerToMain =
  | Exclude<ConnectionMessage, EventMessage | AliveMessage>
  | EventBatchMessage
  | AliveBatchMessage
  | StoppedMessage
  | RemovedMessage
  | WatchedMessage
  | CrashedMessage;

/**
 * `message` with the server-sent text it carries (a status's `error`, a `subscription_error`, a poll error,
 * a drop's detail) cut at {@link MAX_REPORTED_CHARS}: a server cannot fill health or logs.
 */
export function boundReport(message: ConnectionMessage): ConnectionMessage {
  const cut = (text: string): string => truncateText(text, MAX_REPORTED_CHARS);
  switch (message.type) {
    case "status":
      return message.error === null ? message : { ...message, error: cut(message.error) };
    case "degraded":
      return { ...message, error: cut(message.error) };
    case "polled":
      return message.error === null ? message : { ...message, error: cut(message.error) };
    case "dropped":
      return { ...message, detail: cut(message.detail) };
    case "event":
    case "subscription_checked":
    case "alive":
      return message;
  }
}

/** Encodes a worker's batch of events for an {@link EventBatchMessage}: one JSON line per event. */
export function encodeEventBatch(events: readonly FaultEvent[]): EventJsonBatch {
  let json = "";
  for (let i = 0; i < events.length; i++) json += (i === 0 ? "" : "\n") + JSON.stringify(events[i]);
  return { type: "events", json };
}

/**
 * Decodes an {@link EventBatchMessage}. The JSON was written by {@link encodeEventBatch} in one of our
 * own workers from events it had already validated, so the cast is sound: this is the only place the
 * main thread trusts a JSON cast.
 */
export function decodeEventBatch(message: EventBatchMessage): FaultEvent[] {
  if ("events" in message) return message.events;
  if (message.json === "") return [];
  const lines = message.json.split("\n");
  const events: FaultEvent[] = new Array(lines.length);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const event = JSON.parse(line) as FaultEvent;
    rememberEventJson(event, line); // the store records this text instead of serialising the event again
    events[i] = event;
  }
  return events;
}
