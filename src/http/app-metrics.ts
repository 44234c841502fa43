/** The metrics of a running faultline: what each of its gauges reads (src/app.ts wires it). */
import type { Registry } from "../cluster/registry.ts";
import type { IncidentStore } from "../incidents/store-api.ts";
import type { Notifications } from "../notify/service.ts";
import type { Drops } from "../pipeline/stages.ts";
import type { Reloader } from "../reload/reloader.ts";
import { FaultlineMetrics } from "./metrics.ts";

/** The running stages the metrics read. */
export interface MetricStages {
  registry: Registry;
  drops: Drops;
  store: IncidentStore;
  notifications: Notifications;
}

/** Stages built after the metrics (they report to them): read at each scrape. */
export interface LaterStages {
  /** The agents running now. */
  triage: { readonly running: number };
  reloader: Pick<Reloader, "state">;
}

/**
 * `/metrics` over the running stages (read at each scrape).
 *
 * @example
 * ```ts
 * const metrics = appMetrics({ registry, drops, store, notifications }, () => ({ triage, reloader }));
 * ```
 */
export function appMetrics(stages: MetricStages, later: () => LaterStages): FaultlineMetrics {
  const { registry, drops, store, notifications } = stages;
  return new FaultlineMetrics({
    registry,
    dropped: () => ({ ...drops.counts }),
    incidents: () => store.countsByCluster(),
    skips: () => store.skipsByCluster(),
    agents: async () => ({ running: later().triage.running, queued: await store.queueDepth() }),
    reload: () => later().reloader.state,
    notifications: async () => ({ attempts: notifications.totals(), outbox: await store.outbox.counts() }),
    ...(store.journal ? { journalPending: () => store.journal?.pending ?? 0 } : {}),
  });
}
