/**
 * Applies a validated config to the running stages as a diff ({@link diffConfig}): added clusters
 * connect, removed ones unsubscribe and close, changed ones reconnect, unchanged ones keep their
 * sessions. Agent, notify, threshold, triage, dedup, queue and log-level changes apply to what happens next
 * (new events, new incidents, new log lines); settings fixed for the process's life are reported.
 */
import type { Registry } from "../cluster/registry.ts";
import type { Supervisor } from "../cluster/supervisor.ts";
import { type ConfigDiff, diffConfig } from "../config/diff.ts";
import type { AgentConfig, ClusterConfig, FaultlineConfig } from "../config/types.ts";
import type { IncidentStore } from "../incidents/store-api.ts";
import { errorMessage, logger, setLogLevel } from "../log.ts";
import { HTTP_LIMIT_VARIABLE, planHttpLimit } from "../runtime/http-capacity.ts";
import type { ConnectionSettings } from "../worker/protocol.ts";

const log = logger({ component: "reload" });

/** The running stages a reload changes. The maps are shared with the stages and changed in place. */
export interface ReloadStages {
  registry: Registry;
  supervisor: Supervisor;
  store: IncidentStore;
  /** The configured clusters by name (the dispatcher's view: kubeconfigs for new agent runs). */
  clusters: Map<string, ClusterConfig>;
  /**
   * The route stage's view: configured clusters plus those a reload removed, so events already on
   * their way from a removed cluster are still routed and stored.
   */
  routing: Map<string, ClusterConfig>;
  /** Agents started from now on use `agent`; null starts none (queued incidents wait). */
  setAgent(agent: AgentConfig | null): void;
  /** Status changes from now on are notified as `config.notify` says (its sinks, match rules, URLs). */
  setNotify(config: FaultlineConfig): Promise<void>;
}

/**
 * Applies `next` over `current`; returns what changed. Never throws for a valid `next`.
 *
 * @example
 * ```ts
 * const diff = applyConfig(stages, running, loadConfig(file));
 * log.info("reloaded", { added: diff.added.length });
 * ```
 */
export function applyConfig(
  stages: ReloadStages,
  current: FaultlineConfig,
  next: FaultlineConfig,
): ConfigDiff {
  const diff = diffConfig(current, next);
  setLogLevel(next.log_level);
  if (next.log_level !== current.log_level) stages.supervisor.setLogLevel(next.log_level);

  for (const cluster of next.clusters) stages.routing.set(cluster.name, cluster);
  stages.clusters.clear();
  for (const cluster of next.clusters) stages.clusters.set(cluster.name, cluster);
  stages.registry.sync(next.clusters);

  const settings = diff.changed.length > 0 || diff.added.length > 0 ? connectionSettings(next) : undefined;
  stages.supervisor.remove(diff.removed.map((c) => c.name));
  stages.supervisor.replace(diff.changed, settings);
  stages.supervisor.add(diff.added, settings);

  stages.store.configure({ dedupWindowSeconds: next.dedup_window_seconds, maxQueue: next.agent?.max_queue });
  stages.setAgent(next.agent);
  stages.setNotify(next).catch((error: unknown) =>
    log.error("notifications not reconfigured", {
      error: errorMessage(error),
    }),
  );
  warnIfShortOfRequests(next);
  return diff;
}

/** What every connection is built with (the supervisor adds its start-up gate share). */
export function connectionSettings(config: FaultlineConfig): Omit<ConnectionSettings, "connect_concurrency"> {
  return {
    subscribe: config.subscribe,
    reconnect: config.reconnect,
    ping: config.ping,
    log_level: config.log_level,
    limits: config.limits,
  };
}

/** Bun's in-flight request cap is fixed at start-up: a fleet grown past it needs a restart. */
function warnIfShortOfRequests(config: FaultlineConfig): void {
  const enabled = config.clusters.filter((c) => c.enabled).length;
  const plan = planHttpLimit(enabled, process.env);
  if (plan.action === "keep") return;
  log.warn(
    "more clusters than the in-flight HTTP request limit set at start-up: restart faultline to raise it",
    {
      variable: HTTP_LIMIT_VARIABLE,
      limit: "current" in plan ? plan.current : plan.limit,
      required: plan.required,
      clusters: enabled,
    },
  );
}
