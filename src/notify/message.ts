/**
 * A notification's content, {@link NotificationMessage}: the facts of one status change, fixed when
 * the change is committed (so every attempt sends the same thing). It is the webhook sink's body as
 * it is; the Slack and Alertmanager sinks render their own bodies from it. {@link planNotifications}
 * decides, inside the store's transaction, which sinks get one.
 */
import type { TriageSummary } from "../agent/output.ts";
import type { ClusterConfig, NotifySinkConfig } from "../config/types.ts";
import type { Incident, RunStatus } from "../incidents/model.ts";
import {
  NOTIFY_TRIGGERS,
  type NotificationPlanner,
  type NotifyTrigger,
  type PlannedNotification,
  type StatusChange,
} from "../incidents/outbox.ts";
import { compileRules, sinkMatches } from "./match.ts";

/** Version of the {@link NotificationMessage} shape. */
export const MESSAGE_VERSION = 1;

/** What a notification says (the webhook body; documented in the README). */
export interface NotificationMessage {
  version: typeof MESSAGE_VERSION;
  /** What happened: `opened`, `triaged` (the agent succeeded) or `failed` (failed or timed out). */
  event: NotifyTrigger;
  /** The incident as it stood (`count`: events grouped into it so far), its link and its cluster's labels. */
  incident: Pick<
    Incident,
    | "id"
    | "cluster"
    | "fault_id"
    | "fault_type"
    | "severity"
    | "resource"
    | "status"
    | "count"
    | "first_seen"
    | "last_seen"
  > & {
    /** `<health.public_url>/ui/incidents/<id>`, its status page (events, runs, report); null without a public_url. */
    url: string | null;
    /** The cluster's configured labels. */
    labels: Record<string, string>;
  };
  /** The agent run that finished (`triaged`, `failed`); null for `opened`. */
  run: {
    attempt: number;
    status: RunStatus;
    exit_code: number | null;
    duration_ms: number | null;
    error: string | null;
  } | null;
  /** The agent's `summary.json`, when it wrote a valid one. */
  summary: TriageSummary | null;
  /** Why there is no summary (missing or invalid), when a run finished without one. */
  summary_error: string | null;
}

/** The key a receiver drops repeats by: the same on every attempt at one message. */
export function idempotencyKey(change: StatusChange): string {
  return `faultline:${change.incident.id}:${change.trigger}:${change.run?.attempt ?? 0}`;
}

/** The message for `change`, on a cluster with `labels`; links start with `publicUrl` when given. */
export function buildMessage(
  change: StatusChange,
  labels: Record<string, string>,
  publicUrl: string | undefined,
): NotificationMessage {
  const { incident, run } = change;
  const output = run?.output ?? null;
  return {
    version: MESSAGE_VERSION,
    event: change.trigger,
    incident: {
      id: incident.id,
      url: publicUrl ? `${publicUrl.replace(/\/+$/, "")}/ui/incidents/${incident.id}` : null,
      cluster: incident.cluster,
      labels,
      fault_id: incident.fault_id,
      fault_type: incident.fault_type,
      severity: incident.severity,
      resource: incident.resource,
      status: incident.status,
      count: incident.count,
      first_seen: incident.first_seen,
      last_seen: incident.last_seen,
    },
    run: run && {
      attempt: run.attempt,
      status: run.status,
      exit_code: run.exit_code,
      duration_ms: run.duration_ms,
      error: run.error,
    },
    summary: output?.summary ?? null,
    summary_error: run === null ? null : output === null ? "no output recorded" : output.summary_error,
  };
}

/** What {@link planNotifications} reads of the config: the sinks, the clusters' labels, the public URL. */
export interface PlanOptions {
  notify: readonly NotifySinkConfig[];
  clusters: readonly Pick<ClusterConfig, "name" | "labels">[];
  health: { public_url?: string | undefined };
}

/**
 * The store's {@link NotificationPlanner}: one message for every sink whose `on` and `match` take
 * the change. Pure; it runs inside the transaction that records the change.
 *
 * @example
 * ```ts
 * const store = SqliteStore.open(config.state_dir, { notify: planNotifications(config) });
 * ```
 */
export function planNotifications(options: PlanOptions): NotificationPlanner {
  const sinks = options.notify.map((sink) => ({ name: sink.name, rules: compileRules(sink) }));
  // The sinks each trigger may reach: the store plans every new incident inside its ingest, so a trigger
  // no sink listens to (every trigger, with no sink configured) costs a lookup, nothing more.
  const sinksOn = new Map(
    NOTIFY_TRIGGERS.map((trigger) => [trigger, sinks.filter((s) => s.rules.on.has(trigger))]),
  );
  const labelsOf = new Map(options.clusters.map((cluster) => [cluster.name, cluster.labels]));
  return (change) => {
    const listening = sinksOn.get(change.trigger);
    if (listening === undefined || listening.length === 0) return [];
    const labels = labelsOf.get(change.incident.cluster) ?? {};
    const takers = listening.filter((sink) =>
      sinkMatches(sink.rules, change.trigger, change.incident, labels),
    );
    if (takers.length === 0) return [];
    const message = JSON.stringify(buildMessage(change, labels, options.health.public_url));
    const key = idempotencyKey(change);
    return takers.map((sink): PlannedNotification => ({ sink: sink.name, idempotency_key: key, message }));
  };
}
