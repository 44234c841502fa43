/**
 * Turns the params of an MCP `notifications/message` from a kubernetes-mcp-server into a
 * {@link FaultEvent}, a subscription error, "ignored" (ordinary server logging) or "malformed".
 * Runs in the worker threads for every notification: schemas and lookup tables are built once here.
 *
 * Accepted payloads (see PROTOCOL.md):
 * - `kubernetes/faults`, flat shape (has `faultId`) or nested shape (has `event`; `faultId` wins if both);
 * - `kubernetes/events`, a raw Kubernetes event (mode `events`);
 * - `kubernetes/subscription_error`, the server's own watch failing.
 *
 * Timestamps: the server's, when it is a valid RFC 3339 date-time within a sane range, else the time of
 * receipt with `timestamp_source: "received"` (see timestamp.ts).
 *
 * Tolerance: unknown keys are ignored; `apiVersion`, `namespace`, `uid`, `context`, `message` and
 * `lastTimestamp` may be missing, null or empty. Strictness: ids, kinds, names, reasons, fault types and
 * timestamps must be non-empty strings, and a flat `severity` must be one of {@link SEVERITIES}.
 *
 * Nested and raw events are mapped as follows:
 * - `fault_type`: `ErrImagePull`/`ImagePullBackOff`, and a Pod's `BackOff` or `Failed` whose message says
 *   an image pull failed (`Back-off pulling image "…"`, `Error: ErrImagePull`) → `ImagePull`; other `BackOff`/`CrashLoopBackOff` on any kind →
 *   `CrashLoop`; otherwise a per-kind table ({@link KIND_FAULTS}) → `PodCrash`, `NodeUnhealthy`,
 *   `JobFailure` or `DeploymentFailure`; otherwise the event reason itself.
 * - `severity`: `NodeUnhealthy` → `critical` (Kubernetes reports `NodeNotReady` as a Normal event, yet a
 *   lost node is the most severe fault; the kubelet's Warning node events `SystemOOM` and
 *   `EvictionThresholdMet` are `NodeUnhealthy` too, so a critical fault reaches poll mode, which lists
 *   Warning events only); else event type `Normal` → `info`; any other type → `warning`.
 * - `context`: the event message, then each log excerpt (nested faults only) as
 *   `--- <container> ---\n<content>` or `--- <container> (previous) ---\n<content>`, joined with `\n`.
 * - `resource.namespace`: `involvedObject.namespace`, else the event's namespace (except for cluster-scoped
 *   kinds such as Node, whose events live in `default`), else null.
 *
 * Every fault's `fault_id`, flat, nested, raw or listed, is {@link faultIdOf} its resource and fault type:
 * a repeat that reaches faultline once pushed and once listed (after an outage) joins one incident.
 */
import * as v from "valibot";
import { sha256Hex } from "../runtime/sha256.ts";
import { toFieldIssue, type ValibotIssue } from "../validation/issues.ts";
import { type FaultEvent, type FaultResource, SEVERITIES, type Severity } from "./fault.ts";
import { isoTime, isSaneTime } from "./timestamp.ts";

/** What a `notifications/message` params object turned into. */
export type NotificationOutcome =
  | { kind: "fault"; event: FaultEvent }
  | { kind: "subscription_error"; error: string; subscriptionId: string | null }
  /** Another logger: ordinary server logging. */
  | { kind: "ignored" }
  /** The right logger with unusable data (or unusable params); `detail` is `path: problem`. */
  | { kind: "malformed"; detail: string };

const FAULTS_LOGGER = "kubernetes/faults";
const EVENTS_LOGGER = "kubernetes/events";
const SUBSCRIPTION_ERROR_LOGGER = "kubernetes/subscription_error";

// ---------------------------------------------------------------------------------------------------------
// Schemas (compiled once). `object` ignores and strips unknown keys without copying them.

const Str = v.string("must be a string");
const NonEmptyStr = v.pipe(v.string("must be a string"), v.nonEmpty("must not be empty"));
/** Missing or null → "". */
const OptionalStr = v.nullish(Str, "");

const ResourceSchema = v.object(
  { apiVersion: OptionalStr, kind: NonEmptyStr, name: NonEmptyStr, namespace: OptionalStr, uid: OptionalStr },
  "must be an object",
);

const ParamsSchema = v.object({ logger: Str, data: v.optional(v.unknown()) }, "must be an object");

/** A `kubernetes/faults` payload of the flat shape (see {@link readFlatFault} for its fast path). */
export const FlatFaultSchema = v.object({
  faultId: NonEmptyStr,
  faultType: NonEmptyStr,
  severity: v.picklist(SEVERITIES, `must be one of ${SEVERITIES.join(", ")}`),
  resource: ResourceSchema,
  context: OptionalStr,
  timestamp: NonEmptyStr,
});

const EventSchema = v.object(
  {
    namespace: OptionalStr,
    timestamp: NonEmptyStr,
    lastTimestamp: OptionalStr,
    type: Str,
    reason: NonEmptyStr,
    message: OptionalStr,
    involvedObject: ResourceSchema,
  },
  "must be an object",
);

const LogSchema = v.object(
  { container: Str, previous: v.nullish(v.boolean("must be true or false"), false), content: Str },
  "must be an object",
);

const NestedFaultSchema = v.object({
  event: EventSchema,
  logs: v.nullish(v.array(LogSchema, "must be a list")),
});

const RawEventSchema = v.object({ event: EventSchema }, "must be an object");

const SubscriptionErrorSchema = v.object({ error: Str, subscriptionId: v.nullish(Str) }, "must be an object");

/** A flat fault as {@link FlatFaultSchema} outputs it. */
export type FlatFault = v.InferOutput<typeof FlatFaultSchema>;
type K8sEvent = v.InferOutput<typeof EventSchema>;
type LogExcerpt = v.InferOutput<typeof LogSchema>;
type ClusterInfo = { name: string; labels: Record<string, string> };

// ---------------------------------------------------------------------------------------------------------
// Reason → fault type tables.

const CRASH_LOOP_REASONS: ReadonlySet<string> = new Set(["BackOff", "CrashLoopBackOff"]);
const IMAGE_PULL_REASONS: ReadonlySet<string> = new Set(["ErrImagePull", "ImagePullBackOff"]);
/**
 * How the kubelet's image-pull trouble reads in an event message: `BackOff` `Back-off pulling image "…"`,
 * `Failed` `Failed to pull image "…"`, `Failed` `Error: ErrImagePull` / `Error: ImagePullBackOff`.
 */
const PULLING_IMAGE = /pulling image|pull image|ErrImagePull|ImagePullBackOff/i;
/** Reasons that mean an image pull when the message says so (else a crash loop, a pod crash…). */
const PULL_CAPABLE_REASONS: ReadonlySet<string> = new Set(["BackOff", "Failed"]);
const DEPLOYMENT_REASONS: ReadonlySet<string> = new Set([
  "ProgressDeadlineExceeded",
  "FailedCreate",
  "ReplicaSetCreateError",
]);

/** Per involved kind: the fault type, and the event reasons that mean that fault. */
const KIND_FAULTS: ReadonlyMap<string, { faultType: string; reasons: ReadonlySet<string> }> = new Map([
  [
    "Pod",
    {
      faultType: "PodCrash",
      reasons: new Set(["Failed", "Error", "OOMKilled", "OOMKilling", "ContainerCannotRun", "StartError"]),
    },
  ],
  [
    "Node",
    {
      faultType: "NodeUnhealthy",
      reasons: new Set([
        "NodeNotReady",
        "NodeUnhealthy",
        "NodeUnreachable",
        "NodeHasDiskPressure",
        "NodeHasMemoryPressure",
        "NodeHasPIDPressure",
        "NodeNetworkUnavailable",
        // Warning events the kubelet records about its node (reachable in poll mode, which lists Warnings only).
        "SystemOOM",
        "EvictionThresholdMet",
      ]),
    },
  ],
  [
    "Job",
    {
      faultType: "JobFailure",
      reasons: new Set([
        "BackoffLimitExceeded",
        "DeadlineExceeded",
        "Failed",
        "PodFailurePolicy",
        "MaxFailedIndexesExceeded",
      ]),
    },
  ],
  ["Deployment", { faultType: "DeploymentFailure", reasons: DEPLOYMENT_REASONS }],
  ["ReplicaSet", { faultType: "DeploymentFailure", reasons: DEPLOYMENT_REASONS }],
]);

/** Kinds whose events carry a namespace (`default`) the object itself does not have. */
const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set(["Node", "Namespace", "PersistentVolume"]);

// ---------------------------------------------------------------------------------------------------------
// Public API.

/**
 * Classifies the params of one `notifications/message` and, for faults and raw events, normalises them.
 * `cluster` is faultline's configured cluster: its name and labels are attached to every event (the
 * payload's own `cluster` is ignored); the labels object is shared, not copied. `receivedAt` defaults to now.
 * Never throws.
 */
export function classifyNotification(
  params: unknown,
  cluster: ClusterInfo,
  receivedAt?: Date,
): NotificationOutcome {
  const receivedMs = receivedAt === undefined ? Date.now() : receivedAt.getTime();
  let logger: string;
  let data: unknown;
  if (isRecord(params) && typeof params.logger === "string") {
    // What ParamsSchema accepts, read directly (its output: logger and data, nothing else).
    logger = params.logger;
    data = params.data;
  } else {
    const envelope = v.safeParse(ParamsSchema, params);
    if (!envelope.success) return malformed(envelope.issues, "");
    ({ logger, data } = envelope.output);
  }
  switch (logger) {
    case FAULTS_LOGGER:
      return classifyFault(data, cluster, receivedMs);
    case EVENTS_LOGGER:
      return classifyRawEvent(data, cluster, receivedMs);
    case SUBSCRIPTION_ERROR_LOGGER:
      return classifySubscriptionError(data);
    default:
      return IGNORED;
  }
}

/**
 * Stable id of a fault condition derived from what identifies it: the first 16 hex characters of the
 * SHA-256 of `namespace/kind/name/faultType` (`runtime/sha256.ts`: the runtime's fastest).
 *
 * @example
 * ```ts
 * deriveFaultId("shop", "Pod", "web-1", "CrashLoop"); // 16 hex characters, the same every time
 * ```
 */
export function deriveFaultId(namespace: string, kind: string, name: string, faultType: string): string {
  return sha256Hex(`${namespace}/${kind}/${name}/${faultType}`).slice(0, 16);
}

/**
 * A fault's `fault_id`, whichever way it arrived: {@link deriveFaultId} of its normalised resource (its
 * namespace, empty for cluster-scoped kinds) and its fault type. A server's own `faultId` (flat
 * payloads) is not used: a fault listed by `events_list` (a backfill, poll mode) carries no such id, and
 * the dedup key must be the same for a repeat pushed and a repeat listed (the payload, with the server's
 * id, stays in `raw`).
 */
export function faultIdOf(resource: FaultResource, faultType: string): string {
  return deriveFaultId(resource.namespace ?? "", resource.kind, resource.name, faultType);
}

// ---------------------------------------------------------------------------------------------------------
// Per-logger classification.

const IGNORED: NotificationOutcome = Object.freeze({ kind: "ignored" });

function classifyFault(data: unknown, cluster: ClusterInfo, receivedMs: number): NotificationOutcome {
  if (!isRecord(data))
    return { kind: "malformed", detail: `data: ${data === undefined ? "required" : "must be an object"}` };
  if ("faultId" in data) {
    const common = readFlatFault(data);
    if (common) return { kind: "fault", event: fromFlat(common, data, cluster, receivedMs) };
    const flat = v.safeParse(FlatFaultSchema, data);
    if (!flat.success) return malformed(flat.issues, "data");
    return { kind: "fault", event: fromFlat(flat.output, data, cluster, receivedMs) };
  }
  if ("event" in data) {
    const nested = v.safeParse(NestedFaultSchema, data);
    if (!nested.success) return malformed(nested.issues, "data");
    const { event, logs } = nested.output;
    return { kind: "fault", event: fromEvent(event, logs, data, cluster, receivedMs) };
  }
  return { kind: "malformed", detail: "data: must have faultId (flat shape) or event (nested shape)" };
}

function classifyRawEvent(data: unknown, cluster: ClusterInfo, receivedMs: number): NotificationOutcome {
  const raw = v.safeParse(RawEventSchema, data);
  if (!raw.success) return malformed(raw.issues, "data");
  return { kind: "fault", event: fromEvent(raw.output.event, null, data, cluster, receivedMs) };
}

function classifySubscriptionError(data: unknown): NotificationOutcome {
  const parsed = v.safeParse(SubscriptionErrorSchema, data);
  if (!parsed.success) return malformed(parsed.issues, "data");
  const { error, subscriptionId } = parsed.output;
  return { kind: "subscription_error", error, subscriptionId: subscriptionId || null };
}

// ---------------------------------------------------------------------------------------------------------
// The common shape, read without valibot.

const SEVERITY_SET: ReadonlySet<string> = new Set(SEVERITIES);

/**
 * A flat fault exactly as `v.parse(FlatFaultSchema, data)` outputs it, read field by field, when `data`
 * is plainly valid (every field of the type the schema wants, objects not arrays); else null, and the
 * schema itself judges (so every verdict and every issue message stays the schema's). Every event takes
 * this path: measured, valibot's pipeline cost 19 µs of CPU per event in a steady stream (cold caches,
 * one event a millisecond), a fifth of a worker's time per event.
 */
export function readFlatFault(data: Record<string, unknown>): FlatFault | null {
  const { faultId, faultType, severity, resource, context, timestamp } = data;
  if (!isNonEmptyString(faultId) || !isNonEmptyString(faultType) || !isNonEmptyString(timestamp)) return null;
  if (typeof severity !== "string" || !SEVERITY_SET.has(severity)) return null;
  const contextText = optionalString(context);
  if (contextText === null || !isRecord(resource)) return null;
  const { apiVersion, kind, name, namespace, uid } = resource;
  if (!isNonEmptyString(kind) || !isNonEmptyString(name)) return null;
  const apiVersionText = optionalString(apiVersion);
  const namespaceText = optionalString(namespace);
  const uidText = optionalString(uid);
  if (apiVersionText === null || namespaceText === null || uidText === null) return null;
  return {
    faultId,
    faultType,
    severity: severity as Severity,
    resource: { apiVersion: apiVersionText, kind, name, namespace: namespaceText, uid: uidText },
    context: contextText,
    timestamp,
  };
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

/** What `OptionalStr` outputs: a string as is, missing or null as "", null for anything else (invalid). */
function optionalString(value: unknown): string | null {
  if (typeof value === "string") return value;
  return value === undefined || value === null ? "" : null;
}

// ---------------------------------------------------------------------------------------------------------
// Normalisation.

function fromFlat(flat: FlatFault, raw: unknown, cluster: ClusterInfo, receivedMs: number): FaultEvent {
  const { resource } = flat;
  const faultResource: FaultResource = {
    apiVersion: resource.apiVersion,
    kind: resource.kind,
    name: resource.name,
    namespace: resource.namespace || null,
    uid: resource.uid || null,
  };
  const fault: Fault = {
    faultId: faultIdOf(faultResource, flat.faultType),
    faultType: flat.faultType,
    severity: flat.severity,
    resource: faultResource,
    context: flat.context,
  };
  return timedEvent(cluster, fault, flat.timestamp, receivedMs, raw);
}

/** What identifies and describes a fault, before its times are settled (see {@link timedEvent}). */
interface Fault {
  faultId: string;
  faultType: string;
  severity: Severity;
  resource: FaultResource;
  context: string;
}

/**
 * The event of `fault`, with its times: `serverTime` when it is sane (see timestamp.ts), else the time
 * of receipt with `timestamp_source: "received"` ({@link receivedTimeEvent}). The usual outcome is one
 * object literal (an object spread of the times cost a generic copy per event).
 */
function timedEvent(
  cluster: ClusterInfo,
  fault: Fault,
  serverTime: string,
  receivedMs: number,
  raw: unknown,
): FaultEvent {
  const event: FaultEvent = {
    cluster: cluster.name,
    labels: cluster.labels,
    fault_id: fault.faultId,
    fault_type: fault.faultType,
    severity: fault.severity,
    resource: fault.resource,
    context: fault.context,
    timestamp: serverTime,
    received_at: isoTime(receivedMs),
    raw,
  };
  return isSaneTime(serverTime, receivedMs) ? event : receivedTimeEvent(event);
}

/**
 * `event` timed by its receipt instead of the server's time, saying so: `timestamp_source` right after
 * the timestamp it explains (the keys keep one order, and so the event's JSON text).
 */
function receivedTimeEvent(event: FaultEvent): FaultEvent {
  const { timestamp: _server, received_at, raw, ...fault } = event;
  return { ...fault, timestamp: received_at, timestamp_source: "received", received_at, raw };
}

function fromEvent(
  event: K8sEvent,
  logs: readonly LogExcerpt[] | null | undefined,
  raw: unknown,
  cluster: ClusterInfo,
  receivedMs: number,
): FaultEvent {
  const object = event.involvedObject;
  const faultType = faultTypeFor(object.kind, event.reason, event.message);
  const resource = eventResource(event);
  const fault: Fault = {
    faultId: faultIdOf(resource, faultType),
    faultType,
    severity: severityFor(faultType, event.type),
    resource,
    context: logs ? withLogs(event.message, logs) : event.message,
  };
  return timedEvent(cluster, fault, event.lastTimestamp || event.timestamp, receivedMs, raw);
}

function eventResource(event: K8sEvent): FaultResource {
  const { apiVersion, kind, name, namespace, uid } = event.involvedObject;
  return {
    apiVersion,
    kind,
    name,
    namespace: resourceNamespace(kind, namespace, event.namespace),
    uid: uid || null,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Mapping rules shared with other event sources (e.g. `events_list` polling, see events-list.ts).

/**
 * The fault type of an event about a `kind` object with `reason` and `message`: an image pull failing
 * (`ErrImagePull`, `ImagePullBackOff`, a Pod's `BackOff`/`Failed` about pulling an image) → `ImagePull`; other
 * `BackOff`/`CrashLoopBackOff` on any kind → `CrashLoop`; otherwise the per-kind table
 * ({@link KIND_FAULTS}); otherwise the reason itself.
 */
export function faultTypeFor(kind: string, reason: string, message = ""): string {
  if (IMAGE_PULL_REASONS.has(reason)) return "ImagePull";
  if (kind === "Pod" && PULL_CAPABLE_REASONS.has(reason) && PULLING_IMAGE.test(message)) return "ImagePull";
  if (CRASH_LOOP_REASONS.has(reason)) return "CrashLoop";
  const entry = KIND_FAULTS.get(kind);
  return entry?.reasons.has(reason) ? entry.faultType : reason;
}

/** Severity of a fault: `NodeUnhealthy` → critical; else event type `Normal` → info; any other → warning. */
export function severityFor(faultType: string, eventType: string): Severity {
  if (faultType === "NodeUnhealthy") return "critical";
  return eventType === "Normal" ? "info" : "warning";
}

/**
 * The namespace of the object an event is about: the involved object's own namespace, else the event's
 * namespace unless `kind` is cluster-scoped (Node events live in `default`, Nodes in no namespace), else null.
 */
export function resourceNamespace(
  kind: string,
  objectNamespace: string,
  eventNamespace: string,
): string | null {
  return objectNamespace || (CLUSTER_SCOPED_KINDS.has(kind) ? "" : eventNamespace) || null;
}

function withLogs(message: string, logs: readonly LogExcerpt[]): string {
  let context = message;
  for (const log of logs) {
    const section = `--- ${log.container}${log.previous ? " (previous)" : ""} ---\n${log.content}`;
    context = context ? `${context}\n${section}` : section;
  }
  return context;
}

// ---------------------------------------------------------------------------------------------------------
// Helpers.

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `data.resource.name: required; data.severity: must be one of …` (paths relative to params; `params` itself). */
function malformed(issues: readonly ValibotIssue[], root: string): NotificationOutcome {
  const detail = issues
    .map((issue) => {
      const { path, message } = toFieldIssue(issue, root);
      return `${path || "params"}: ${message}`;
    })
    .join("; ");
  return { kind: "malformed", detail };
}
