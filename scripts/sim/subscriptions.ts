/**
 * Subscriptions of `events_subscribe`: the argument schema, the filters (namespaces, label selector,
 * involved object, type, reason prefix) and how an event is matched against them.
 */
import { randomUUID } from "node:crypto";
import * as v from "valibot";
import type { KubeEvent } from "./faults.ts";

/** Arguments of `events_subscribe`. */
export const SubscribeArgsSchema = v.object({
  mode: v.picklist(["faults", "events"], 'mode must be "faults" or "events"'),
  namespaces: v.optional(v.array(v.string())),
  labelSelector: v.optional(v.string()),
  involvedKind: v.optional(v.string()),
  involvedName: v.optional(v.string()),
  involvedNamespace: v.optional(v.string()),
  type: v.optional(v.picklist(["Normal", "Warning"], 'type must be "Normal" or "Warning"')),
  reason: v.optional(v.string()),
});

/** Parsed arguments of `events_subscribe`. */
export type SubscribeArgs = v.InferOutput<typeof SubscribeArgsSchema>;
/** The filters of a subscription: every argument but `mode`. */
export type SubscriptionFilters = Omit<SubscribeArgs, "mode">;

/** An active subscription of one session. */
export interface Subscription {
  /** `sub-` and 16 hex digits. */
  id: string;
  /** `faults` or `events`. */
  mode: SubscribeArgs["mode"];
  /** What events it receives. */
  filters: SubscriptionFilters;
  /** RFC 3339 creation time. */
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

/** Whether an event passes every filter of a subscription. */
export function matchesFilters(filters: SubscriptionFilters, event: KubeEvent): boolean {
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

/** A fresh subscription id. */
export function newSubscriptionId(): string {
  return `sub-${randomUUID().replaceAll("-", "").slice(0, 16)}`;
}
