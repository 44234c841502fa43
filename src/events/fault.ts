/**
 * The one internal form of a fault, whatever shape the server sent it in (see PROTOCOL.md).
 */

import type { TimestampSource } from "./timestamp.ts";

/** Fault severities, least to most severe. */
export const SEVERITIES = ["info", "warning", "critical"] as const;
/** One of {@link SEVERITIES}. */
export type Severity = (typeof SEVERITIES)[number];

/** True when `severity` is at or above `threshold`. */
export function meetsThreshold(severity: Severity, threshold: Severity): boolean {
  return SEVERITIES.indexOf(severity) >= SEVERITIES.indexOf(threshold);
}

/** The Kubernetes object a fault is about. */
export interface FaultResource {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string | null;
  uid: string | null;
}

/** `Kind/namespace/name`, or `Kind/name` for cluster-scoped objects. */
export function describeResource({ kind, namespace, name }: FaultResource): string {
  return namespace ? `${kind}/${namespace}/${name}` : `${kind}/${name}`;
}

/** A normalised fault event, tagged with the configured cluster it came from. */
export interface FaultEvent {
  /** faultline's configured cluster name (the authority for routing), not the server's own name. */
  cluster: string;
  /** The configured cluster's labels. */
  labels: Record<string, string>;
  /** Stable id of the fault condition: same fault, same id. */
  fault_id: string;
  /** PodCrash, CrashLoop, NodeUnhealthy, DeploymentFailure, JobFailure, or the event reason for raw events. */
  fault_type: string;
  severity: Severity;
  resource: FaultResource;
  /** Termination message, log excerpt or event message. */
  context: string;
  /**
   * When the fault happened (RFC 3339): the server's time when it is a valid RFC 3339 date-time within a
   * sane range (see timestamp.ts), else when faultline received it (and {@link timestamp_source} says so).
   */
  timestamp: string;
  /** Present, as `received`, only when the server's time was unusable and {@link received_at} stands in. */
  timestamp_source?: TimestampSource;
  /** When faultline received it (RFC 3339). */
  received_at: string;
  /** The notification's `data` exactly as the server sent it. */
  raw: unknown;
}
