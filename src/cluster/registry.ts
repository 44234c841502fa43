/**
 * Live state of every configured cluster, kept in the main thread from worker messages. The health
 * server and metrics read it; nothing here holds a kubeconfig or any secret.
 */
import type { ClusterConfig } from "../config/types.ts";
import type { ConnectionStatus, FeedMode, StatusMessage } from "../worker/protocol.ts";

/** What faultline knows about one cluster right now. */
export interface ClusterState {
  name: string;
  status: ConnectionStatus;
  labels: Record<string, string>;
  /** RFC 3339 time of the last fault received, or null. */
  last_event_at: string | null;
  /** Why the connection last failed; null when none, cleared once active again. */
  last_error: string | null;
  event_count: number;
  /** RFC 3339 time the current status began. */
  since: string;
  /** Milliseconds until the next connection attempt while `failed`, else null. */
  retry_in_ms: number | null;
  /** The server reports its own watch (push) or its event listing (poll) failing, or null. */
  subscription_error: string | null;
  /** Times this cluster went from active to not active. */
  reconnects: number;
  /** How faults arrive: `push` (events_subscribe) or `poll` (events_list); null until first active. */
  mode: FeedMode | null;
  /** RFC 3339 time of the last finished poll (poll mode), or null. */
  last_poll_at: string | null;
  /**
   * RFC 3339 time of the last check that the push subscription still exists
   * (`events_list_subscriptions`), or null when none was made.
   */
  last_subscription_check_at: string | null;
  /** Times a check found the subscription gone, and it was subscribed again (and backfilled). */
  resubscriptions: number;
}

/** A cluster's state before its connection reports anything (also the fleet view's for a cluster never reported). */
export function newState(c: ClusterConfig, now: Date): ClusterState {
  return {
    name: c.name,
    status: c.enabled ? "disconnected" : "disabled",
    labels: c.labels,
    last_event_at: null,
    last_error: null,
    event_count: 0,
    since: now.toISOString(),
    retry_in_ms: null,
    subscription_error: null,
    reconnects: 0,
    mode: null,
    last_poll_at: null,
    last_subscription_check_at: null,
    resubscriptions: 0,
  };
}

/** Counts over all clusters. `unhealthy` = failed or disconnected (disabled ones are neither). */
export interface RegistrySummary {
  total: number;
  active: number;
  unhealthy: number;
}

/**
 * Totals over cluster states (a registry's, or the fleet's from every replica).
 *
 * @example
 * ```ts
 * summarize(registry.list()); // { total: 3, active: 2, unhealthy: 1 }
 * ```
 */
export function summarize(states: Iterable<Pick<ClusterState, "status">>): RegistrySummary {
  let total = 0;
  let active = 0;
  let unhealthy = 0;
  for (const s of states) {
    total++;
    if (s.status === "active") active++;
    else if (s.status === "failed" || s.status === "disconnected") unhealthy++;
  }
  return { total, active, unhealthy };
}

/** Live per-cluster state. */
export class Registry {
  readonly #clusters = new Map<string, ClusterState>();

  constructor(clusters: readonly ClusterConfig[], now: Date = new Date()) {
    for (const c of clusters) this.#clusters.set(c.name, newState(c, now));
  }

  /**
   * Config reload: the registry lists `clusters`, in their order. New ones start `disconnected` (or
   * `disabled`); gone ones are forgotten (their late messages are ignored); a cluster disabled now shows
   * `disabled`, one enabled again `disconnected` until its connection reports. Labels follow the config;
   * counts and times are kept.
   */
  sync(clusters: readonly ClusterConfig[], now: Date = new Date()): void {
    const previous = new Map(this.#clusters);
    this.#clusters.clear();
    for (const c of clusters) {
      const state = previous.get(c.name);
      if (!state) {
        this.#clusters.set(c.name, newState(c, now));
        continue;
      }
      state.labels = c.labels;
      const status = c.enabled ? (state.status === "disabled" ? "disconnected" : state.status) : "disabled";
      if (status !== state.status) {
        state.status = status;
        state.since = now.toISOString();
        state.retry_in_ms = null;
        state.subscription_error = null;
      }
      this.#clusters.set(c.name, state);
    }
  }

  /** Applies a status change. Returns the previous status, or undefined for an unknown cluster. */
  applyStatus(message: StatusMessage): ConnectionStatus | undefined {
    const state = this.#clusters.get(message.cluster);
    // A cluster disabled by a reload: its closing connection's last words change nothing.
    if (!state || state.status === "disabled") return undefined;
    const previous = state.status;
    if (previous === "active" && message.status !== "active") state.reconnects++;
    state.status = message.status;
    state.since = message.at;
    state.retry_in_ms = message.retry_in_ms;
    if (message.status === "failed") state.last_error = message.error;
    if (message.status === "active") {
      state.mode = message.mode ?? state.mode;
      state.last_error = null;
      // A fresh subscription replaces whatever the old one reported.
      state.subscription_error = null;
    }
    return previous;
  }

  /** Counts a received fault. */
  recordEvent(cluster: string, at: string): void {
    const state = this.#clusters.get(cluster);
    if (!state) return;
    state.event_count++;
    state.last_event_at = at;
  }

  /** Records the server's report that its watch (push) or listing (poll) is failing; null = working again. */
  recordSubscriptionError(cluster: string, error: string | null): void {
    const state = this.#clusters.get(cluster);
    if (state) state.subscription_error = error;
  }

  /** Records a finished poll; `error` when the server could not list events. */
  recordPoll(cluster: string, at: string, error: string | null): void {
    const state = this.#clusters.get(cluster);
    if (!state) return;
    state.last_poll_at = at;
    state.subscription_error = error;
  }

  /** Records a check of the push subscription; `resubscribed` when it was gone and renewed. */
  recordSubscriptionCheck(cluster: string, at: string, resubscribed: boolean): void {
    const state = this.#clusters.get(cluster);
    if (!state) return;
    state.last_subscription_check_at = at;
    if (resubscribed) state.resubscriptions++;
  }

  /** One cluster's state, or undefined. */
  get(name: string): Readonly<ClusterState> | undefined {
    return this.#clusters.get(name);
  }

  /** Every cluster, in config order. */
  list(): ClusterState[] {
    return [...this.#clusters.values()];
  }

  /** Totals for the health summary. */
  summary(): RegistrySummary {
    return summarize(this.#clusters.values());
  }
}
