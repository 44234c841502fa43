/**
 * Live state of every configured cluster, kept in the main thread from worker messages. The health
 * server and metrics read it; nothing here holds a kubeconfig or any secret.
 */
import type { ClusterConfig } from "../config/types.ts";
import type { ConnectionStatus, StatusMessage } from "../worker/messages.ts";

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
  /** The server's own watch is failing (subscription_error), or null. */
  subscription_error: string | null;
  /** Times this cluster went from active to not active. */
  reconnects: number;
}

/** Counts over all clusters. `unhealthy` = failed or disconnected (disabled ones are neither). */
export interface RegistrySummary {
  total: number;
  active: number;
  unhealthy: number;
}

/** Live per-cluster state. */
export class Registry {
  readonly #clusters = new Map<string, ClusterState>();

  constructor(clusters: readonly ClusterConfig[], now: Date = new Date()) {
    for (const c of clusters) {
      this.#clusters.set(c.name, {
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
      });
    }
  }

  /** Applies a status change. Returns the previous status, or undefined for an unknown cluster. */
  applyStatus(message: StatusMessage): ConnectionStatus | undefined {
    const state = this.#clusters.get(message.cluster);
    if (!state) return undefined;
    const previous = state.status;
    if (previous === "active" && message.status !== "active") state.reconnects++;
    state.status = message.status;
    state.since = message.at;
    state.retry_in_ms = message.retry_in_ms;
    if (message.status === "failed") state.last_error = message.error;
    if (message.status === "active") {
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

  /** Records the server's report that its watch is failing. */
  recordSubscriptionError(cluster: string, error: string): void {
    const state = this.#clusters.get(cluster);
    if (state) state.subscription_error = error;
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
    let active = 0;
    let unhealthy = 0;
    for (const s of this.#clusters.values()) {
      if (s.status === "active") active++;
      else if (s.status === "failed" || s.status === "disconnected") unhealthy++;
    }
    return { total: this.#clusters.size, active, unhealthy };
  }
}
