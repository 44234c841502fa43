/**
 * Simulator of kubernetes-mcp-server instances with the events extension (see /work/shared/PROTOCOL.md §1),
 * and of the stock server without it (§2).
 *
 * Every simulated cluster gets its own HTTP listener on loopback serving MCP Streamable HTTP at `/mcp`, so a
 * cluster that is "down" refuses connections for real. Faults are injected through the library API or the
 * optional control HTTP API and pushed as `notifications/message` on each session's standalone SSE stream.
 *
 * Library: `startSimulator({ clusters: 3 })`. CLI: `bun scripts/sim.ts --clusters 3 --control-port 9090`.
 */
import { createHash, randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListToolsRequestSchema,
  type LoggingLevel,
  LoggingLevelSchema,
  SetLevelRequestSchema,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv";
import { type Context, Hono } from "hono";
import * as v from "valibot";
import { stringify as toYaml } from "yaml";

// ---------------------------------------------------------------------------------------------------------------
// Public types and constants
// ---------------------------------------------------------------------------------------------------------------

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
  /** MCP endpoint of a cluster: `http://127.0.0.1:PORT/mcp`. */
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
   * Sends `kubernetes/subscription_error` (level error) for every subscription.
   * @returns the number of subscriptions it was written to.
   */
  subscriptionError(cluster: string, error: string): number;
  /** Forgets all sessions (their ids get 404) and ends their SSE streams; the listener stays up. */
  dropSessions(cluster: string): void;
  /** Stops the listener, abruptly closing every connection, and forgets all sessions (connection refused). */
  down(cluster: string): Promise<void>;
  /** Listens again on the same port with no sessions, like a restarted server. */
  up(cluster: string): Promise<void>;
  /** Counters of a cluster. */
  stats(cluster: string): SimClusterStats;
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

// ---------------------------------------------------------------------------------------------------------------
// Kubernetes events and fault payloads
// ---------------------------------------------------------------------------------------------------------------

/** How many recorded events a cluster keeps for `events_list` (oldest are dropped). */
const MAX_RECORDED_EVENTS = 1000;

interface InvolvedObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid: string;
}

interface KubeEvent {
  namespace: string;
  timestamp: string;
  type: string;
  reason: string;
  message: string;
  labels?: Record<string, string>;
  involvedObject: InvolvedObject;
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
}

interface ResolvedFault {
  shape: SimFaultShape;
  faultId: string;
  faultType: string;
  severity: SimSeverity;
  context: string;
  container: string;
  event: KubeEvent;
}

interface FaultProfile {
  kind: string;
  reason: string;
  severity: SimSeverity;
  message(name: string, container: string): string;
}

const FAULT_PROFILES: Record<string, FaultProfile> = {
  CrashLoop: {
    kind: "Pod",
    reason: "BackOff",
    severity: "warning",
    message: (name, container) => `Back-off restarting failed container ${container} in pod ${name}`,
  },
  PodCrash: {
    kind: "Pod",
    reason: "Failed",
    severity: "critical",
    message: (name, container) =>
      `Container ${container} in pod ${name} terminated: OOMKilled (exit code 137)`,
  },
  NodeUnhealthy: {
    kind: "Node",
    reason: "NodeNotReady",
    severity: "critical",
    message: (name) => `Node ${name} status is now: NodeNotReady`,
  },
  DeploymentFailure: {
    kind: "Deployment",
    reason: "ProgressDeadlineExceeded",
    severity: "warning",
    message: (name) => `Deployment "${name}" has timed out progressing`,
  },
  JobFailure: {
    kind: "Job",
    reason: "BackoffLimitExceeded",
    severity: "warning",
    message: () => "Job has reached the specified backoff limit",
  },
};

const API_VERSIONS: Readonly<Record<string, string>> = {
  Deployment: "apps/v1",
  ReplicaSet: "apps/v1",
  StatefulSet: "apps/v1",
  DaemonSet: "apps/v1",
  Job: "batch/v1",
  CronJob: "batch/v1",
};

/** The apiVersion Kubernetes gives objects of `kind` (the kinds faults are about). */
export function apiVersionOf(kind: string): string {
  return API_VERSIONS[kind] ?? "v1";
}

/** Kinds whose objects have no namespace. */
export const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set(["Node", "Namespace", "PersistentVolume"]);

const DEFAULT_CONTEXT =
  "Error: connect ECONNREFUSED 10.96.0.12:5432\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1595:16)";

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Stable fault id of a fault condition, independent of the cluster. */
function faultIdOf(namespace: string, kind: string, name: string, faultType: string): string {
  return sha256Hex(`${namespace}/${kind}/${name}/${faultType}`).slice(0, 16);
}

function uidOf(cluster: string, namespace: string, kind: string, name: string): string {
  const hex = sha256Hex(`${cluster}/${namespace}/${kind}/${name}`);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Now as RFC 3339 with second precision, like Go's time.RFC3339. */
function rfc3339Now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Go's time.Time.String() of a UTC time, as the stock server prints it: `2026-11-25 02:54:13 +0000 UTC`. */
function goTimeString(timestamp: string): string {
  const date = new Date(timestamp);
  if (Number.isNaN(date.getTime())) return timestamp;
  const iso = date.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} +0000 UTC`;
}

/** Fills in the defaults of a fault; `sequence` makes default names distinct. */
function resolveFault(cluster: string, fault: SimFault, sequence: number): ResolvedFault {
  const faultType = fault.faultType ?? "CrashLoop";
  const profile = FAULT_PROFILES[faultType];
  const kind = fault.kind ?? profile?.kind ?? "Pod";
  const name = fault.name ?? `sim-${kind.toLowerCase()}-${sequence}`;
  const namespace = fault.namespace ?? "default";
  const container = fault.container ?? "app";
  const timestamp = fault.timestamp ?? rfc3339Now();
  const involvedObject: InvolvedObject = {
    apiVersion: apiVersionOf(kind),
    kind,
    name,
    ...(CLUSTER_SCOPED_KINDS.has(kind) ? {} : { namespace }),
    uid: uidOf(cluster, namespace, kind, name),
  };
  const event: KubeEvent = {
    namespace,
    timestamp,
    type: fault.eventType ?? "Warning",
    reason: fault.reason ?? profile?.reason ?? faultType,
    message: fault.message ?? profile?.message(name, container) ?? `${kind} ${name} has fault ${faultType}`,
    ...(fault.labels ? { labels: fault.labels } : {}),
    involvedObject,
    count: 1,
    firstTimestamp: timestamp,
    lastTimestamp: timestamp,
  };
  return {
    shape: fault.shape ?? "flat",
    faultId: fault.faultId ?? faultIdOf(namespace, kind, name, faultType),
    faultType,
    severity: fault.severity ?? profile?.severity ?? "warning",
    context: fault.context ?? DEFAULT_CONTEXT,
    container,
    event,
  };
}

function flatFaultPayload(fault: ResolvedFault, subscriptionId: string, cluster: string): object {
  const { event } = fault;
  return {
    faultId: fault.faultId,
    subscriptionId,
    cluster,
    faultType: fault.faultType,
    severity: fault.severity,
    resource: event.involvedObject,
    context: fault.context,
    timestamp: event.timestamp,
  };
}

function nestedFaultPayload(fault: ResolvedFault, subscriptionId: string, cluster: string): object {
  const logs =
    fault.event.involvedObject.kind === "Pod"
      ? [{ container: fault.container, previous: true, content: fault.context }]
      : undefined;
  return { subscriptionId, cluster, event: fault.event, ...(logs ? { logs } : {}) };
}

/** The item format of the stock server's `events_list` YAML (Go field names, sorted keys, no uid/count). */
function eventListItem(event: KubeEvent): object {
  const { involvedObject } = event;
  return {
    InvolvedObject: {
      Kind: involvedObject.kind,
      Name: involvedObject.name,
      apiVersion: involvedObject.apiVersion,
    },
    Message: event.message,
    Namespace: event.namespace,
    Reason: event.reason,
    Timestamp: goTimeString(event.lastTimestamp),
    Type: event.type,
  };
}

/** Text of an `events_list` answer. */
function formatEventList(events: KubeEvent[]): string {
  if (events.length === 0) return "# No events found";
  return `# The following events (YAML format) were found:\n${toYaml(events.map(eventListItem))}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Subscriptions
// ---------------------------------------------------------------------------------------------------------------

const SubscribeArgsSchema = v.object({
  mode: v.picklist(["faults", "events"], 'mode must be "faults" or "events"'),
  namespaces: v.optional(v.array(v.string())),
  labelSelector: v.optional(v.string()),
  involvedKind: v.optional(v.string()),
  involvedName: v.optional(v.string()),
  involvedNamespace: v.optional(v.string()),
  type: v.optional(v.picklist(["Normal", "Warning"], 'type must be "Normal" or "Warning"')),
  reason: v.optional(v.string()),
});

type SubscribeArgs = v.InferOutput<typeof SubscribeArgsSchema>;
type SubscriptionFilters = Omit<SubscribeArgs, "mode">;

interface Subscription {
  id: string;
  mode: SubscribeArgs["mode"];
  filters: SubscriptionFilters;
  createdAt: string;
}

/** Equality-based label selector (`a=b,c!=d,e,!f`). */
function matchesLabelSelector(selector: string, labels: Record<string, string> = {}): boolean {
  for (const rawTerm of selector.split(",")) {
    const term = rawTerm.trim();
    if (term === "") continue;
    const notEqual = term.split("!=");
    if (notEqual.length === 2) {
      if (labels[notEqual[0]?.trim() ?? ""] === notEqual[1]?.trim()) return false;
      continue;
    }
    const equal = term.split(/==?/);
    if (equal.length === 2) {
      if (labels[equal[0]?.trim() ?? ""] !== equal[1]?.trim()) return false;
      continue;
    }
    const present = !term.startsWith("!");
    if (Object.hasOwn(labels, present ? term : term.slice(1)) !== present) return false;
  }
  return true;
}

function matchesFilters(filters: SubscriptionFilters, event: KubeEvent): boolean {
  const { involvedObject } = event;
  if (filters.namespaces && filters.namespaces.length > 0 && !filters.namespaces.includes(event.namespace)) {
    return false;
  }
  if (filters.involvedKind && filters.involvedKind !== involvedObject.kind) return false;
  if (filters.involvedName && filters.involvedName !== involvedObject.name) return false;
  if (
    filters.involvedNamespace &&
    filters.involvedNamespace !== (involvedObject.namespace ?? event.namespace)
  ) {
    return false;
  }
  if (filters.type && filters.type !== event.type) return false;
  if (filters.reason && !event.reason.startsWith(filters.reason)) return false;
  if (filters.labelSelector && !matchesLabelSelector(filters.labelSelector, event.labels)) return false;
  return true;
}

function newSubscriptionId(): string {
  return `sub-${randomUUID().replaceAll("-", "").slice(0, 16)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// MCP tools
// ---------------------------------------------------------------------------------------------------------------

const EVENTS_LIST_TOOL: Tool = {
  name: "events_list",
  description: "List all the Kubernetes events in the current cluster from all namespaces",
  inputSchema: {
    type: "object",
    properties: {
      namespace: { type: "string", description: "Optional Namespace to retrieve the events from" },
    },
  },
};

const EVENTS_SUBSCRIBE_TOOL: Tool = {
  name: "events_subscribe",
  description: "Subscribe to Kubernetes events or detected faults; they are pushed as logging notifications",
  inputSchema: {
    type: "object",
    properties: {
      mode: { type: "string", enum: ["faults", "events"] },
      namespaces: { type: "array", items: { type: "string" } },
      labelSelector: { type: "string" },
      involvedKind: { type: "string" },
      involvedName: { type: "string" },
      involvedNamespace: { type: "string" },
      type: { type: "string", enum: ["Normal", "Warning"] },
      reason: { type: "string", description: "Reason prefix" },
    },
    required: ["mode"],
  },
};

const EVENTS_UNSUBSCRIBE_TOOL: Tool = {
  name: "events_unsubscribe",
  description: "Cancel a subscription created by events_subscribe",
  inputSchema: {
    type: "object",
    properties: { subscriptionId: { type: "string" } },
    required: ["subscriptionId"],
  },
};

const EXTENSION_TOOLS: Tool[] = [EVENTS_LIST_TOOL, EVENTS_SUBSCRIBE_TOOL, EVENTS_UNSUBSCRIBE_TOOL];
const STOCK_TOOLS: Tool[] = [EVENTS_LIST_TOOL];

const SERVER_INFO = { name: "kubernetes-mcp-server", version: "0.0.0-sim" };
const LOG_LEVELS: readonly LoggingLevel[] = LoggingLevelSchema.options;

function textResult(text: string, isError = false): CallToolResult {
  return isError
    ? { content: [{ type: "text", text }], isError: true }
    : { content: [{ type: "text", text }] };
}

/** Whether a session whose level is `sessionLevel` receives a message at `level` (no level set → nothing). */
function acceptsLevel(sessionLevel: LoggingLevel | null, level: LoggingLevel): boolean {
  return sessionLevel !== null && LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(sessionLevel);
}

let sharedSchemaValidator: AjvJsonSchemaValidator | undefined;

/** One JSON Schema validator for every session's Server (the SDK would create an Ajv instance per Server). */
function schemaValidator(): AjvJsonSchemaValidator {
  sharedSchemaValidator ??= new AjvJsonSchemaValidator();
  return sharedSchemaValidator;
}

/**
 * A JSON-RPC error whose message goes on the wire verbatim (the SDK's McpError would prefix "MCP error N: ",
 * which the real Go server does not).
 */
class JsonRpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const STREAM_OPEN_COMMENT = new TextEncoder().encode(": stream open\n\n");

/**
 * Prefixes the standalone SSE stream with an SSE comment. Bun.serve sends a streamed response's headers only with
 * its first chunk, and the SDK writes nothing until the first notification or keep-alive (15 s), so without this a
 * client would not see the GET answered. Real servers flush the headers at once; the comment makes Bun do the same.
 */
function withOpeningComment(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      start(controller) {
        controller.enqueue(STREAM_OPEN_COMMENT);
      },
    }),
  );
}

function jsonRpcErrorResponse(status: number, code: number, message: string): Response {
  return Response.json({ jsonrpc: "2.0", error: { code, message }, id: null }, { status });
}

// ---------------------------------------------------------------------------------------------------------------
// A simulated cluster
// ---------------------------------------------------------------------------------------------------------------

interface SimSession {
  id: string;
  readonly transport: WebStandardStreamableHTTPServerTransport;
  readonly server: Server;
  level: LoggingLevel | null;
  readonly subscriptions: Map<string, Subscription>;
  /** The GET request carrying the standalone SSE stream, or null when none is open. */
  stream: Request | null;
}

interface RequestExtra {
  sessionId?: string;
}

type Counters = Omit<SimClusterStats, "up" | "sessions" | "streams" | "subscriptions">;

class SimCluster {
  readonly name: string;
  readonly serverClusterName: string;
  readonly eventsSubscribe: boolean;
  private readonly hostname: string;
  private port: number;
  private listener: Bun.Server<undefined> | null = null;
  private readonly sessions = new Map<string, SimSession>();
  private readonly recordedEvents = new Map<string, KubeEvent>();
  private faultSequence = 0;
  private readonly counters: Counters = {
    setLevelCalls: 0,
    subscribeCalls: 0,
    unsubscribeCalls: 0,
    deletes: 0,
    delivered: 0,
  };

  constructor(options: SimClusterOptions, hostname: string) {
    this.name = options.name;
    this.serverClusterName = options.serverClusterName ?? options.name;
    this.eventsSubscribe = options.eventsSubscribe ?? true;
    this.hostname = hostname;
    this.port = options.port ?? 0;
  }

  get endpoint(): string {
    return `http://${this.hostname}:${this.port}/mcp`;
  }

  listen(): void {
    if (this.listener) return;
    this.listener = Bun.serve({
      hostname: this.hostname,
      port: this.port,
      idleTimeout: 0,
      development: false,
      fetch: this.handleHttp,
      error: (error) => jsonRpcErrorResponse(500, ErrorCode.InternalError, error.message),
    });
    this.port = this.listener.port ?? this.port;
  }

  async down(): Promise<void> {
    const listener = this.listener;
    if (!listener) return;
    this.listener = null;
    const stopping = listener.stop(true);
    this.closeAllSessions();
    await stopping;
  }

  closeAllSessions(): void {
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    for (const session of sessions) void session.server.close().catch(ignoreError);
  }

  stats(): SimClusterStats {
    let streams = 0;
    let subscriptions = 0;
    for (const session of this.sessions.values()) {
      if (session.stream) streams++;
      subscriptions += session.subscriptions.size;
    }
    return {
      up: this.listener !== null,
      sessions: this.sessions.size,
      streams,
      subscriptions,
      ...this.counters,
    };
  }

  inject(fault: SimFault): number {
    const resolved = resolveFault(this.name, fault, ++this.faultSequence);
    resolved.event = this.recordEvent(resolved.event);
    let delivered = 0;
    for (const session of this.sessions.values()) {
      for (const subscription of session.subscriptions.values()) {
        if (!matchesFilters(subscription.filters, resolved.event)) continue;
        const [logger, data] = this.payloadFor(subscription, resolved);
        if (this.send(session, "warning", logger, data)) delivered++;
      }
    }
    return delivered;
  }

  injectRaw(logger: string, data: unknown): number {
    let delivered = 0;
    for (const session of this.sessions.values()) {
      if (this.send(session, "warning", logger, data)) delivered++;
    }
    return delivered;
  }

  subscriptionError(error: string): number {
    let delivered = 0;
    for (const session of this.sessions.values()) {
      for (const subscription of session.subscriptions.values()) {
        const data = {
          subscriptionId: subscription.id,
          cluster: this.serverClusterName,
          error,
          degraded: true,
        };
        if (this.send(session, "error", SUBSCRIPTION_ERROR_LOGGER, data)) delivered++;
      }
    }
    return delivered;
  }

  private payloadFor(subscription: Subscription, fault: ResolvedFault): [string, object] {
    const cluster = this.serverClusterName;
    if (subscription.mode === "events") {
      return [EVENT_LOGGER, { subscriptionId: subscription.id, cluster, event: fault.event }];
    }
    const payload =
      fault.shape === "nested"
        ? nestedFaultPayload(fault, subscription.id, cluster)
        : flatFaultPayload(fault, subscription.id, cluster);
    return [FAULT_LOGGER, payload];
  }

  /** Records an event like the API server does: a repeat of the same object+reason bumps `count`. */
  private recordEvent(event: KubeEvent): KubeEvent {
    const { involvedObject } = event;
    const key = `${event.namespace}/${involvedObject.kind}/${involvedObject.name}/${event.reason}`;
    const previous = this.recordedEvents.get(key);
    const recorded = previous
      ? { ...event, count: previous.count + 1, firstTimestamp: previous.firstTimestamp }
      : event;
    this.recordedEvents.delete(key);
    this.recordedEvents.set(key, recorded);
    if (this.recordedEvents.size > MAX_RECORDED_EVENTS) {
      const oldest = this.recordedEvents.keys().next().value;
      if (oldest !== undefined) this.recordedEvents.delete(oldest);
    }
    return recorded;
  }

  /** Writes a logging notification to the session's standalone stream (without a related request id). */
  private send(session: SimSession, level: LoggingLevel, logger: string, data: unknown): boolean {
    if (!session.stream || !acceptsLevel(session.level, level)) return false;
    session.server.sendLoggingMessage({ level, logger, data }).catch(ignoreError);
    this.counters.delivered++;
    return true;
  }

  // --- HTTP ------------------------------------------------------------------------------------------------------

  private readonly handleHttp = async (request: Request): Promise<Response> => {
    if (new URL(request.url).pathname !== "/mcp") return new Response("404 page not found", { status: 404 });
    const sessionId = request.headers.get("mcp-session-id");
    if (sessionId === null) return this.handleSessionless(request);
    const session = this.sessions.get(sessionId);
    if (!session) return jsonRpcErrorResponse(404, -32001, "Session not found");
    const response = await session.transport.handleRequest(request);
    if (request.method !== "GET" || response.status !== 200 || !response.body) return response;
    this.trackStream(session, request);
    return new Response(withOpeningComment(response.body), {
      status: response.status,
      headers: response.headers,
    });
  };

  /** A request without a session id: an initialize request opens a session, anything else is rejected. */
  private async handleSessionless(request: Request): Promise<Response> {
    if (request.method !== "POST") {
      return jsonRpcErrorResponse(400, -32000, "Bad Request: Mcp-Session-Id header is required");
    }
    const session = await this.openSession();
    const response = await session.transport.handleRequest(request);
    if (session.id === "") void session.server.close().catch(ignoreError);
    return response;
  }

  private trackStream(session: SimSession, request: Request): void {
    session.stream = request;
    request.signal.addEventListener(
      "abort",
      () => {
        if (session.stream === request) session.stream = null;
      },
      { once: true },
    );
  }

  // --- MCP -------------------------------------------------------------------------------------------------------

  private async openSession(): Promise<SimSession> {
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      onsessioninitialized: (id) => {
        session.id = id;
        this.sessions.set(id, session);
      },
      onsessionclosed: () => {
        this.counters.deletes++;
      },
    });
    const server = new Server(SERVER_INFO, {
      capabilities: { logging: {}, tools: {} },
      jsonSchemaValidator: schemaValidator(),
    });
    const session: SimSession = {
      id: "",
      transport,
      server,
      level: null,
      subscriptions: new Map(),
      stream: null,
    };
    server.setRequestHandler(SetLevelRequestSchema, this.handleSetLevel);
    server.setRequestHandler(ListToolsRequestSchema, this.handleListTools);
    server.setRequestHandler(CallToolRequestSchema, this.handleCallTool);
    server.onclose = () => this.forgetSession(session);
    await server.connect(transport);
    return session;
  }

  private forgetSession(session: SimSession): void {
    session.stream = null;
    if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
  }

  private sessionOf(extra: RequestExtra): SimSession {
    const session = extra.sessionId === undefined ? undefined : this.sessions.get(extra.sessionId);
    if (!session) throw new JsonRpcError(ErrorCode.InvalidRequest, "session not found");
    return session;
  }

  private readonly handleSetLevel = (request: { params: { level: LoggingLevel } }, extra: RequestExtra) => {
    this.counters.setLevelCalls++;
    this.sessionOf(extra).level = request.params.level;
    return {};
  };

  private readonly handleListTools = () => ({ tools: this.eventsSubscribe ? EXTENSION_TOOLS : STOCK_TOOLS });

  private readonly handleCallTool = (
    request: { params: { name: string; arguments?: Record<string, unknown> } },
    extra: RequestExtra,
  ): CallToolResult => {
    const { name, arguments: args = {} } = request.params;
    if (name === "events_list") return this.listEvents(args);
    if (this.eventsSubscribe && name === "events_subscribe")
      return this.subscribe(this.sessionOf(extra), args);
    if (this.eventsSubscribe && name === "events_unsubscribe") {
      return this.unsubscribe(this.sessionOf(extra), args);
    }
    throw new JsonRpcError(ErrorCode.InvalidParams, `unknown tool "${name}"`);
  };

  private listEvents(args: Record<string, unknown>): CallToolResult {
    const namespace =
      typeof args.namespace === "string" && args.namespace !== "" ? args.namespace : undefined;
    const events = [...this.recordedEvents.values()].filter(
      (event) => namespace === undefined || event.namespace === namespace,
    );
    return textResult(formatEventList(events));
  }

  private subscribe(session: SimSession, args: Record<string, unknown>): CallToolResult {
    this.counters.subscribeCalls++;
    const parsed = v.safeParse(SubscribeArgsSchema, args);
    if (!parsed.success) return textResult(`invalid arguments: ${v.summarize(parsed.issues)}`, true);
    const limitError = this.subscriptionLimitError(session);
    if (limitError) return textResult(limitError, true);
    const { mode, ...filters } = parsed.output;
    const subscription: Subscription = { id: newSubscriptionId(), mode, filters, createdAt: rfc3339Now() };
    session.subscriptions.set(subscription.id, subscription);
    const body = {
      subscriptionId: subscription.id,
      cluster: this.serverClusterName,
      mode,
      filters,
      createdAt: subscription.createdAt,
      status: "active",
    };
    return textResult(`Subscription created:\n\`\`\`json\n${JSON.stringify(body, null, 2)}\n\`\`\``);
  }

  private subscriptionLimitError(session: SimSession): string | null {
    if (session.subscriptions.size >= SUBSCRIPTIONS_PER_SESSION) {
      return `subscription limit reached: at most ${SUBSCRIPTIONS_PER_SESSION} subscriptions per session`;
    }
    if (this.stats().subscriptions >= SUBSCRIPTIONS_PER_SERVER) {
      return `subscription limit reached: at most ${SUBSCRIPTIONS_PER_SERVER} subscriptions per server`;
    }
    return null;
  }

  private unsubscribe(session: SimSession, args: Record<string, unknown>): CallToolResult {
    this.counters.unsubscribeCalls++;
    const { subscriptionId } = args;
    if (typeof subscriptionId !== "string" || subscriptionId === "") {
      return textResult("invalid arguments: subscriptionId is required", true);
    }
    const removed = session.subscriptions.delete(subscriptionId);
    return textResult(
      removed
        ? `Subscription ${subscriptionId} cancelled`
        : `Subscription ${subscriptionId} not found (already cancelled)`,
    );
  }
}

function ignoreError(): void {}

// ---------------------------------------------------------------------------------------------------------------
// The simulator
// ---------------------------------------------------------------------------------------------------------------

function normalizeClusterOptions(clusters: SimulatorOptions["clusters"]): SimClusterOptions[] {
  const list: SimClusterOptions[] =
    typeof clusters === "number"
      ? Array.from({ length: clusters }, (_, index) => ({ name: `cluster-${index + 1}` }))
      : clusters.map((cluster) => (typeof cluster === "string" ? { name: cluster } : cluster));
  const seen = new Set<string>();
  for (const { name } of list) {
    if (name === "") throw new Error("cluster names must not be empty");
    if (seen.has(name)) throw new Error(`duplicate cluster name: ${name}`);
    seen.add(name);
  }
  return list;
}

class RunningSimulator implements Simulator {
  readonly clusters: string[];
  controlUrl: string | null = null;
  private readonly byName = new Map<string, SimCluster>();
  private control: Bun.Server<undefined> | null = null;

  constructor(options: SimClusterOptions[], hostname: string) {
    for (const clusterOptions of options) {
      this.byName.set(clusterOptions.name, new SimCluster(clusterOptions, hostname));
    }
    this.clusters = options.map((cluster) => cluster.name);
  }

  hasCluster(name: string): boolean {
    return this.byName.has(name);
  }

  listenAll(): void {
    for (const cluster of this.byName.values()) cluster.listen();
  }

  startControl(hostname: string, port: number): void {
    this.control = Bun.serve({
      hostname,
      port,
      development: false,
      fetch: createControlApp(this).fetch,
    });
    this.controlUrl = `http://${hostname}:${this.control.port}`;
  }

  private cluster(name: string): SimCluster {
    const cluster = this.byName.get(name);
    if (!cluster) throw new Error(`unknown cluster: ${name}`);
    return cluster;
  }

  endpoint(cluster: string): string {
    return this.cluster(cluster).endpoint;
  }

  inject(cluster: string, fault: SimFault = {}): number {
    return this.cluster(cluster).inject(fault);
  }

  injectRaw(cluster: string, logger: string, data: unknown): number {
    return this.cluster(cluster).injectRaw(logger, data);
  }

  subscriptionError(cluster: string, error: string): number {
    return this.cluster(cluster).subscriptionError(error);
  }

  dropSessions(cluster: string): void {
    this.cluster(cluster).closeAllSessions();
  }

  async down(cluster: string): Promise<void> {
    await this.cluster(cluster).down();
  }

  async up(cluster: string): Promise<void> {
    this.cluster(cluster).listen();
  }

  stats(cluster: string): SimClusterStats {
    return this.cluster(cluster).stats();
  }

  info(cluster: string): SimClusterInfo {
    return { name: cluster, endpoint: this.endpoint(cluster), stats: this.stats(cluster) };
  }

  async stop(): Promise<void> {
    const control = this.control;
    this.control = null;
    await Promise.all([control?.stop(true), ...[...this.byName.values()].map((cluster) => cluster.down())]);
  }
}

/** Starts the simulated clusters (and the control API when `controlPort` is given). */
export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const hostname = options.hostname ?? "127.0.0.1";
  const simulator = new RunningSimulator(normalizeClusterOptions(options.clusters), hostname);
  try {
    simulator.listenAll();
    if (options.controlPort !== undefined) simulator.startControl(hostname, options.controlPort);
  } catch (error) {
    await simulator.stop();
    throw error;
  }
  return simulator;
}

// ---------------------------------------------------------------------------------------------------------------
// Control HTTP API
// ---------------------------------------------------------------------------------------------------------------

const SimFaultEntries = {
  shape: v.optional(v.picklist(["flat", "nested"])),
  faultType: v.optional(v.string()),
  severity: v.optional(v.picklist(["info", "warning", "critical"])),
  namespace: v.optional(v.string()),
  kind: v.optional(v.string()),
  name: v.optional(v.string()),
  reason: v.optional(v.string()),
  message: v.optional(v.string()),
  context: v.optional(v.string()),
  faultId: v.optional(v.string()),
  timestamp: v.optional(v.string()),
  labels: v.optional(v.record(v.string(), v.string())),
  container: v.optional(v.string()),
  eventType: v.optional(v.picklist(["Normal", "Warning"])),
};

const FaultRequestSchema = v.strictObject({
  ...SimFaultEntries,
  count: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100_000))),
});

const SubscriptionErrorRequestSchema = v.strictObject({ error: v.pipe(v.string(), v.minLength(1)) });

const RawRequestSchema = v.strictObject({ logger: v.string(), data: v.unknown() });

type BodyResult<T> = { ok: true; value: T } | { ok: false; response: Response };

/** Reads and validates a JSON body; an empty body counts as `{}`. */
async function readBody<TSchema extends v.GenericSchema>(
  c: Context,
  schema: TSchema,
): Promise<BodyResult<v.InferOutput<TSchema>>> {
  const text = await c.req.text();
  let json: unknown = {};
  if (text.trim() !== "") {
    try {
      json = JSON.parse(text);
    } catch {
      return { ok: false, response: c.json({ error: "invalid JSON body" }, 400) };
    }
  }
  const parsed = v.safeParse(schema, json);
  if (!parsed.success) {
    return { ok: false, response: c.json({ error: `invalid body: ${v.summarize(parsed.issues)}` }, 400) };
  }
  return { ok: true, value: parsed.output };
}

/** The i-th of `count` faults: distinct names (and derived fault ids) when more than one is requested. */
function nthFault(fault: SimFault, index: number, count: number): SimFault {
  if (count === 1) return fault;
  const { faultId: _ignored, ...rest } = fault;
  return fault.name === undefined ? rest : { ...rest, name: `${fault.name}-${index + 1}` };
}

type ClusterRoute = (c: Context, cluster: string) => Response | Promise<Response>;

function createControlApp(simulator: RunningSimulator): Hono {
  const app = new Hono();
  const forCluster =
    (route: ClusterRoute) =>
    (c: Context): Response | Promise<Response> => {
      const name = c.req.param("name") ?? "";
      if (!simulator.hasCluster(name)) return c.json({ error: `unknown cluster: ${name}` }, 404);
      return route(c, name);
    };

  app.get("/clusters", (c) => c.json({ clusters: simulator.clusters.map((name) => simulator.info(name)) }));
  app.get(
    "/clusters/:name",
    forCluster((c, name) => c.json(simulator.info(name))),
  );
  app.post(
    "/clusters/:name/faults",
    forCluster(async (c, name) => {
      const body = await readBody(c, FaultRequestSchema);
      if (!body.ok) return body.response;
      const { count = 1, ...fault } = body.value;
      let delivered = 0;
      for (let index = 0; index < count; index++)
        delivered += simulator.inject(name, nthFault(fault, index, count));
      return c.json({ injected: count, delivered });
    }),
  );
  app.post(
    "/clusters/:name/subscription-error",
    forCluster(async (c, name) => {
      const body = await readBody(c, SubscriptionErrorRequestSchema);
      if (!body.ok) return body.response;
      return c.json({ delivered: simulator.subscriptionError(name, body.value.error) });
    }),
  );
  app.post(
    "/clusters/:name/raw",
    forCluster(async (c, name) => {
      const body = await readBody(c, RawRequestSchema);
      if (!body.ok) return body.response;
      return c.json({ delivered: simulator.injectRaw(name, body.value.logger, body.value.data) });
    }),
  );
  app.post(
    "/clusters/:name/drop-sessions",
    forCluster((c, name) => {
      simulator.dropSessions(name);
      return c.json({ ok: true });
    }),
  );
  app.post(
    "/clusters/:name/down",
    forCluster(async (c, name) => {
      await simulator.down(name);
      return c.json({ ok: true });
    }),
  );
  app.post(
    "/clusters/:name/up",
    forCluster(async (c, name) => {
      await simulator.up(name);
      return c.json({ ok: true, endpoint: simulator.endpoint(name) });
    }),
  );
  app.notFound((c) => c.json({ error: `not found: ${c.req.method} ${c.req.path}` }, 404));
  app.onError((error, c) => c.json({ error: error.message }, 500));
  return app;
}

// ---------------------------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------------------------

const USAGE = `Usage: bun scripts/sim.ts [--clusters N] [--names a,b,c] [--stock a,b] [--control-port PORT] [--hostname H]

  --clusters N         number of clusters (default 3; named cluster-1..N)
  --names a,b,c        cluster names (overrides --clusters)
  --stock a,b          clusters that behave like the stock server (no events_subscribe)
  --control-port PORT  control API port (default 0 = ephemeral)
  --hostname H         listen address (default 127.0.0.1)

Prints one JSON line { control, clusters: [{ name, endpoint }] } and runs until SIGINT/SIGTERM.`;

function splitList(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

function parsePort(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${flag} must be a port number`);
  return port;
}

function cliSimulatorOptions(argv: string[]): SimulatorOptions | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      clusters: { type: "string" },
      names: { type: "string" },
      stock: { type: "string" },
      "control-port": { type: "string" },
      hostname: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) return null;
  const count = Number(values.clusters ?? "3");
  if (!Number.isInteger(count) || count < 1) throw new Error("--clusters must be a positive integer");
  const names = splitList(values.names);
  const stock = new Set(splitList(values.stock));
  const clusterNames =
    names.length > 0 ? names : Array.from({ length: count }, (_, index) => `cluster-${index + 1}`);
  return {
    clusters: clusterNames.map((name) => ({ name, eventsSubscribe: !stock.has(name) })),
    controlPort: parsePort(values["control-port"], "--control-port", 0),
    hostname: values.hostname,
  };
}

async function main(argv: string[]): Promise<void> {
  const options = cliSimulatorOptions(argv);
  if (!options) {
    console.log(USAGE);
    return;
  }
  const simulator = await startSimulator(options);
  const clusters = simulator.clusters.map((name) => ({ name, endpoint: simulator.endpoint(name) }));
  console.log(JSON.stringify({ control: simulator.controlUrl, clusters }));
  const shutdown = (): void => {
    simulator.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
}

if (import.meta.main) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(`sim: ${error instanceof Error ? error.message : String(error)}`);
    console.error(USAGE);
    process.exit(2);
  });
}
