/**
 * The simulator's public types and protocol constants: fault descriptions, cluster and simulator options,
 * per-cluster counters, the {@link Simulator} interface, the notification loggers and the subscription limits.
 */
import type { Hostile } from "./hostile.ts";

/** Payload shape of a fault notification: `flat` (current servers) or `nested` (older servers). */
export type SimFaultShape = "flat" | "nested";

/** Severity of a flat fault payload. */
export type SimSeverity = "info" | "warning" | "critical";

/** A fault to inject. Every field is optional; missing ones get realistic defaults derived from `faultType`. */
export interface SimFault {
  /** Payload shape sent to `faults` subscriptions. Default `flat`. */
  shape?: SimFaultShape;
  /** PodCrash, CrashLoop, NodeUnhealthy, DeploymentFailure, JobFailure (or anything else). Default CrashLoop. */
  faultType?: string;
  /** Default depends on `faultType`. */
  severity?: SimSeverity;
  /** Namespace of the event and of the resource (omitted from a Node resource). Default `default`. */
  namespace?: string;
  /** Kind of the involved object. Default depends on `faultType` (Pod, Node, Deployment, Job). */
  kind?: string;
  /** Name of the involved object. Default: a fresh name per injection, so faults are distinct. */
  name?: string;
  /** Event reason. Default depends on `faultType` (e.g. BackOff). */
  reason?: string;
  /** Event message. Default depends on `faultType`. */
  message?: string;
  /** Termination message / log excerpt (flat `context`, nested `logs[0].content`). */
  context?: string;
  /** Override of the flat payload's `faultId` (default: sha256 of namespace/kind/name/faultType, 16 hex). */
  faultId?: string;
  /** RFC 3339 timestamp. Default: now, second precision. */
  timestamp?: string;
  /** Labels of the event (matched by `labelSelector` filters). Default none. */
  labels?: Record<string, string>;
  /** Container named in nested `logs`. Default `app`. */
  container?: string;
  /** Kubernetes event type of the underlying event. Default `Warning`. */
  eventType?: "Normal" | "Warning";
}

/** Options of one simulated cluster. */
export interface SimClusterOptions {
  /** Name of the cluster in the simulator (used by the API and the control server). */
  name: string;
  /** `false` makes the cluster behave like the stock server: no `events_subscribe`/`events_unsubscribe`. */
  eventsSubscribe?: boolean;
  /** The `cluster` field the server puts into payloads. Default: `name`. */
  serverClusterName?: string;
  /** Fixed port for the cluster's listener. Default 0 (ephemeral, kept across `down`/`up`). */
  port?: number;
  /** Required as `Authorization: Bearer <token>` on every request (401 otherwise). Default none. */
  bearerToken?: string;
  /** Headers every request must carry with these values (403 otherwise). Default none. */
  requiredHeaders?: Record<string, string>;
  /**
   * Serve HTTPS with this PEM certificate and key (the endpoint is then `https://`); with `ca`, only
   * clients presenting a certificate that CA signed are accepted (mTLS).
   */
  tls?: { cert: string; key: string; ca?: string };
  /** Offer `events_list_subscriptions` (with the events extension). Default true. */
  listSubscriptions?: boolean;
  /**
   * Hold the standalone event stream's response headers until its first event, as the MCP TypeScript
   * SDK's own server does on Bun (and anything that buffers between client and server). Default false:
   * flush them at once with an SSE comment, as the Go server does.
   */
  holdHeaders?: boolean;
  /**
   * A file that keeps the cluster's recorded events (JSON lines, appended as they are recorded, read back
   * when the cluster is made): a restarted simulator still lists them in `events_list`, as a cluster's
   * API server keeps its events when its MCP server restarts. Default: in memory only.
   */
  eventsFile?: string;
}

/** Options of {@link startSimulator}. */
export interface SimulatorOptions {
  /** A count (names `cluster-1`…), a list of names, or full per-cluster options. */
  clusters: number | string[] | SimClusterOptions[];
  /** Port of the control HTTP API: 0 = ephemeral, undefined = no control server. */
  controlPort?: number;
  /** Address every listener binds to. Default `127.0.0.1`. */
  hostname?: string;
}

/** Counters of one simulated cluster. Counters are cumulative over the simulator's life (kept across down/up). */
export interface SimClusterStats {
  /** Whether the cluster's listener is up. */
  up: boolean;
  /** Live MCP sessions. */
  sessions: number;
  /** Live sessions with an open standalone GET SSE stream (where notifications go). */
  streams: number;
  /** Active subscriptions over all sessions. */
  subscriptions: number;
  /** `logging/setLevel` requests received. */
  setLevelCalls: number;
  /** `events_subscribe` calls received (successful or not). */
  subscribeCalls: number;
  /** `events_unsubscribe` calls received. */
  unsubscribeCalls: number;
  /** Sessions closed by HTTP DELETE. */
  deletes: number;
  /** Notifications written to an open SSE stream. */
  delivered: number;
  /** Requests refused for missing or wrong credentials (401/403). */
  refused: number;
  /** `events_list_subscriptions` calls received. */
  listSubscriptionsCalls: number;
  /** `events_list` calls received. */
  listEventsCalls: number;
  /** `ping` requests received (answered as the SDK's server does: an empty result). */
  pings: number;
}

/** A cluster as listed by the control API. */
export interface SimClusterInfo {
  /** Cluster name. */
  name: string;
  /** MCP endpoint URL. */
  endpoint: string;
  /** Current counters. */
  stats: SimClusterStats;
}

/** A running simulator. Every method taking a cluster name throws on an unknown name. */
export interface Simulator {
  /** Names of the simulated clusters, in order. */
  readonly clusters: string[];
  /** MCP endpoint of a cluster: `http://127.0.0.1:PORT/mcp` (`https://` when it serves TLS). */
  endpoint(cluster: string): string;
  /**
   * Injects a fault: records its Kubernetes event (for `events_list`) and pushes it to every matching
   * subscription (faults → `kubernetes/faults`, events → `kubernetes/events`).
   * @returns the number of subscriptions it was written to.
   */
  inject(cluster: string, fault?: SimFault): number;
  /**
   * Sends an arbitrary `notifications/message` (level warning) once to every session that enabled logging and
   * has an open stream — for malformed payloads and foreign loggers.
   * @returns the number of sessions it was written to.
   */
  injectRaw(cluster: string, logger: string, data: unknown): number;
  /**
   * Writes a hostile payload (deeply nested, huge, an endless SSE line, not JSON: see hostile.ts) straight
   * onto every open standalone stream, bypassing the MCP SDK.
   * @returns the number of streams that took it whole.
   */
  injectHostile(cluster: string, payload: Hostile): Promise<number>;
  /**
   * Sends `kubernetes/subscription_error` (level error) for every subscription.
   * @returns the number of subscriptions it was written to.
   */
  subscriptionError(cluster: string, error: string): number;
  /** Forgets all sessions (their ids get 404) and ends their SSE streams; the listener stays up. */
  dropSessions(cluster: string): void;
  /**
   * Cancels every subscription without a word to the client, as the events server does when one
   * notification cannot be delivered. Returns how many.
   */
  cancelSubscriptions(cluster: string): number;
  /** Requires `token` as bearer token from now on (null: none), e.g. after a rotation. */
  setBearerToken(cluster: string, token: string | null): void;
  /** Holds (true) or flushes (false) the headers of event streams opened from now on (see `holdHeaders`). */
  setHoldHeaders(cluster: string, hold: boolean): void;
  /** Stops the listener, abruptly closing every connection, and forgets all sessions (connection refused). */
  down(cluster: string): Promise<void>;
  /** Listens again on the same port with no sessions, like a restarted server. */
  up(cluster: string): Promise<void>;
  /** Counters of a cluster. */
  stats(cluster: string): SimClusterStats;
  /** Ids of a cluster's live MCP sessions. */
  sessionIds(cluster: string): string[];
  /** Base URL of the control API (`http://127.0.0.1:PORT`), or null without one. */
  readonly controlUrl: string | null;
  /** Stops every listener and the control server and closes every stream. */
  stop(): Promise<void>;
}

/** Maximum subscriptions per MCP session. */
export const SUBSCRIPTIONS_PER_SESSION = 10;
/** Maximum subscriptions per server (cluster). */
export const SUBSCRIPTIONS_PER_SERVER = 100;
/** Logger of fault notifications. */
export const FAULT_LOGGER = "kubernetes/faults";
/** Logger of raw event notifications. */
export const EVENT_LOGGER = "kubernetes/events";
/** Logger of subscription error notifications. */
export const SUBSCRIPTION_ERROR_LOGGER = "kubernetes/subscription_error";
