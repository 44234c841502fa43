/**
 * Prometheus metrics (prom-client, text format) for `GET /metrics`. Values are read from live state
 * when scraped (the registry, the store, the dispatcher), so the event path pays nothing for them;
 * only agent run durations are observed as they happen. A source may answer with a promise (the
 * store's reads do): prom-client awaits each `collect`.
 */
import { Counter, Gauge, Histogram, Registry as PromRegistry } from "prom-client";
import type { Registry } from "../cluster/registry.ts";
import type { Awaitable } from "../incidents/store-api.ts";
import type { ReloadState } from "../reload/reloader.ts";
import { VERSION } from "../version.ts";
import { CONNECTION_STATUSES } from "../worker/protocol.ts";
import { registerClusterInfo } from "./cluster-info.ts";
import { registerProcessMetrics } from "./process-metrics.ts";

/** Counts by key (a status, a reason) for each cluster. */
export type PerCluster = ReadonlyMap<string, Partial<Record<string, number>>>;

/** Where scrape-time values come from. */
export interface MetricsSources {
  registry: Registry;
  /** Events that did not make it into the pipeline, by reason (e.g. malformed, channel_full). */
  dropped: () => Record<string, number>;
  /** Incidents by status, per cluster (exported summed over all clusters). */
  incidents?: () => Awaitable<PerCluster>;
  /** Skipped incidents by reason (below_threshold, triage_disabled, no_agent, queue_full), per cluster. */
  skips?: () => Awaitable<PerCluster>;
  /** Agents running now and incidents waiting for a slot. */
  agents?: () => Awaitable<{ running: number; queued: number }>;
  /**
   * Notification delivery attempts per sink and outcome (`sent`, `failed` = will retry, `dead`) since
   * start, and the outbox's messages per sink and status.
   */
  notifications?: () => Awaitable<{ attempts: PerCluster; outbox: PerCluster }>;
  /** The config reload's state (`faultline_config_last_reload_*`). */
  reload?: () => Readonly<ReloadState>;
  /** Events committed to the store's intake journal and not built into incidents yet (SQLite only). */
  journalPending?: () => number;
}

/** The runtime running faultline, for `faultline_build_info`: `bun 1.4.5`, `deno 2.1.0`, `node 22.1.0`. */
export function runtimeName(): string {
  const versions = process.versions as Record<string, string | undefined>;
  if (versions.bun) return `bun ${versions.bun}`;
  if (versions.deno) return `deno ${versions.deno}`;
  return `node ${process.versions.node}`;
}

/** faultline's metrics registry. */
export class FaultlineMetrics {
  readonly #prom = new PromRegistry();
  readonly #runDuration: Histogram<"status">;

  constructor(sources: MetricsSources) {
    const registers = [this.#prom];
    /** A gauge with one series per key of the per-cluster counts `read` returns, summed over clusters. */
    const countsGauge = (name: string, help: string, label: string, read: () => Awaitable<PerCluster>) =>
      new Gauge({
        name,
        help,
        labelNames: [label],
        registers,
        async collect() {
          const counts = await read();
          this.reset();
          for (const [key, count] of Object.entries(sumOverClusters(counts)))
            this.set({ [label]: key }, count);
        },
      });
    const { registry } = sources;
    registerProcessMetrics(this.#prom);
    new Gauge({
      name: "faultline_build_info",
      help: "Always 1; the labels say which faultline runs on which runtime.",
      labelNames: ["version", "runtime"],
      registers,
    }).set({ version: VERSION, runtime: runtimeName() }, 1);
    registerClusterInfo(this.#prom, registry);

    new Gauge({
      name: "faultline_cluster_up",
      help: "1 when the cluster's connection is active (subscribed), else 0.",
      labelNames: ["cluster"],
      registers,
      collect() {
        for (const c of registry.list()) this.set({ cluster: c.name }, c.status === "active" ? 1 : 0);
      },
    });
    new Gauge({
      name: "faultline_cluster_status",
      help: "The cluster's connection status: 1 for the current one, 0 for the others.",
      labelNames: ["cluster", "status"],
      registers,
      collect() {
        for (const c of registry.list()) {
          for (const status of CONNECTION_STATUSES)
            this.set({ cluster: c.name, status }, c.status === status ? 1 : 0);
        }
      },
    });
    new Counter({
      name: "faultline_cluster_events_received_total",
      help: "Fault events received from the cluster.",
      labelNames: ["cluster"],
      registers,
      collect() {
        this.reset();
        for (const c of registry.list()) this.inc({ cluster: c.name }, c.event_count);
      },
    });
    new Counter({
      name: "faultline_cluster_reconnects_total",
      help: "Times the cluster's connection was lost after being active.",
      labelNames: ["cluster"],
      registers,
      collect() {
        this.reset();
        for (const c of registry.list()) this.inc({ cluster: c.name }, c.reconnects);
      },
    });
    new Gauge({
      name: "faultline_cluster_last_event_timestamp_seconds",
      help: "Unix time of the last fault event received from the cluster (absent until one arrives).",
      labelNames: ["cluster"],
      registers,
      collect() {
        this.reset();
        for (const c of registry.list()) {
          if (c.last_event_at) this.set({ cluster: c.name }, Date.parse(c.last_event_at) / 1000);
        }
      },
    });
    new Counter({
      name: "faultline_events_dropped_total",
      help: "Notifications or events not taken into the pipeline, by reason.",
      labelNames: ["reason"],
      registers,
      collect() {
        this.reset();
        for (const [reason, count] of Object.entries(sources.dropped())) this.inc({ reason }, count);
      },
    });
    const { incidents, skips } = sources;
    if (incidents)
      countsGauge("faultline_incidents", "Incidents in the store, by status.", "status", incidents);
    if (skips) {
      countsGauge(
        "faultline_incidents_skipped",
        "Incidents recorded without an agent, by reason (queue_full: agent.max_queue was full).",
        "reason",
        skips,
      );
    }
    if (sources.agents) {
      const agents = sources.agents;
      new Gauge({
        name: "faultline_agents_running",
        help: "Triage agents running now.",
        registers,
        async collect() {
          this.set((await agents()).running);
        },
      });
      new Gauge({
        name: "faultline_agent_queue_depth",
        help: "Incidents waiting for an agent slot.",
        registers,
        async collect() {
          this.set((await agents()).queued);
        },
      });
    }
    if (sources.notifications) this.#notificationMetrics(sources.notifications);
    const journalPending = sources.journalPending;
    if (journalPending) {
      new Gauge({
        name: "faultline_journal_pending_events",
        help: "Events committed to the store's intake journal whose incidents are not built yet.",
        registers,
        collect() {
          this.set(journalPending());
        },
      });
    }
    const reload = sources.reload;
    if (reload) {
      new Gauge({
        name: "faultline_config_last_reload_successful",
        help: "1 when the last config reload (or the start-up load) succeeded, 0 when the file was rejected.",
        registers,
        collect() {
          this.set(reload().successful ? 1 : 0);
        },
      });
      new Gauge({
        name: "faultline_config_last_reload_success_timestamp_seconds",
        help: "Unix time of the last successful config load (start-up or reload).",
        registers,
        collect() {
          this.set(reload().lastSuccess.getTime() / 1000);
        },
      });
    }
    this.#runDuration = new Histogram({
      name: "faultline_agent_run_duration_seconds",
      help: "How long triage agent runs took, by outcome status.",
      labelNames: ["status"],
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1200, 3600],
      registers,
    });
  }

  #notificationMetrics(read: NonNullable<MetricsSources["notifications"]>): void {
    const registers = [this.#prom];
    new Counter({
      name: "faultline_notifications_total",
      help: "Notification delivery attempts by sink and outcome: sent, failed (will be retried), dead (dead-letter).",
      labelNames: ["sink", "status"],
      registers,
      async collect() {
        const { attempts } = await read();
        this.reset();
        for (const [sink, counts] of attempts) {
          for (const [status, n] of Object.entries(counts)) this.inc({ sink, status }, n ?? 0);
        }
      },
    });
    const outboxGauge = (name: string, help: string, status: string) =>
      new Gauge({
        name,
        help,
        labelNames: ["sink"],
        registers,
        async collect() {
          const { attempts, outbox } = await read();
          this.reset();
          for (const sink of attempts.keys()) this.set({ sink }, 0);
          for (const [sink, counts] of outbox) this.set({ sink }, counts[status] ?? 0);
        },
      });
    outboxGauge("faultline_notifications_dead", "Notifications in dead-letter, by sink.", "dead");
    outboxGauge("faultline_notifications_pending", "Notifications waiting for delivery, by sink.", "pending");
  }

  /**
   * With replicas (HA): every series carries `replica="<name>"` from now on, and `register` adds the
   * replica's own metrics (src/ha/metrics.ts) to this registry.
   *
   * @example
   * ```ts
   * metrics.forReplica("faultline-0", (prom) => registerHaMetrics(prom, () => coordinator.state));
   * ```
   */
  forReplica(replica: string, register: (prom: PromRegistry) => void): void {
    this.#prom.setDefaultLabels({ replica });
    register(this.#prom);
  }

  /** Records one finished agent run. */
  observeAgentRun(durationMs: number, status: string): void {
    this.#runDuration.observe({ status }, durationMs / 1000);
  }

  /** The exposition text. */
  text(): Promise<string> {
    return this.#prom.metrics();
  }

  /** The exposition format's content type. */
  get contentType(): string {
    return this.#prom.contentType;
  }
}

/** Per-cluster counts summed over all clusters. */
function sumOverClusters(byCluster: PerCluster): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const counts of byCluster.values()) {
    for (const [key, n] of Object.entries(counts)) sums[key] = (sums[key] ?? 0) + (n ?? 0);
  }
  return sums;
}
