/**
 * Fault profiles and payload shapes: how a {@link SimFault} becomes a Kubernetes event and the `flat`
 * (current servers) or `nested` (older servers) payload of a `kubernetes/faults` notification.
 */
import { createHash } from "node:crypto";
import type { SimFault, SimFaultShape, SimSeverity } from "./types.ts";

/** The object a Kubernetes event is about. */
export interface InvolvedObject {
  /** apiVersion of the object's kind ({@link apiVersionOf}). */
  apiVersion: string;
  /** Kind of the object (Pod, Node, …). */
  kind: string;
  /** Name of the object. */
  name: string;
  /** Namespace of the object; absent for {@link CLUSTER_SCOPED_KINDS}. */
  namespace?: string;
  /** Stable uid derived from cluster, namespace, kind and name. */
  uid: string;
}

/** A Kubernetes event as the simulator records it and pushes it to `events` subscriptions. */
export interface KubeEvent {
  /** Namespace of the event. */
  namespace: string;
  /** RFC 3339 time of the event. */
  timestamp: string;
  /** `Normal` or `Warning`. */
  type: string;
  /** Event reason (e.g. BackOff). */
  reason: string;
  /** Event message. */
  message: string;
  /** Labels of the event, matched by `labelSelector` filters. */
  labels?: Record<string, string>;
  /** The object the event is about. */
  involvedObject: InvolvedObject;
  /** How many times the event was recorded. */
  count: number;
  /** Time of the first occurrence. */
  firstTimestamp: string;
  /** Time of the latest occurrence. */
  lastTimestamp: string;
}

/** A {@link SimFault} with every default filled in. */
export interface ResolvedFault {
  /** Payload shape sent to `faults` subscriptions. */
  shape: SimFaultShape;
  /** Fault id of the flat payload. */
  faultId: string;
  /** PodCrash, CrashLoop, … */
  faultType: string;
  /** Severity of the flat payload. */
  severity: SimSeverity;
  /** Termination message / log excerpt. */
  context: string;
  /** Container named in nested `logs`. */
  container: string;
  /** The underlying Kubernetes event. */
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
export function rfc3339Now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Fills in the defaults of a fault; `sequence` makes default names distinct. */
export function resolveFault(cluster: string, fault: SimFault, sequence: number): ResolvedFault {
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

/**
 * The payload of a `kubernetes/faults` notification for one subscription, in the fault's shape.
 *
 * @example
 * ```ts
 * const payload = faultPayload(resolveFault("c1", { shape: "nested" }, 1), "sub-1", "c1");
 * ```
 */
export function faultPayload(fault: ResolvedFault, subscriptionId: string, cluster: string): object {
  return fault.shape === "nested"
    ? nestedFaultPayload(fault, subscriptionId, cluster)
    : flatFaultPayload(fault, subscriptionId, cluster);
}
