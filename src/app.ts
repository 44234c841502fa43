/**
 * `faultline run`: wires the pipeline together.
 *
 *   Supervisor (workers) ─► Registry (status) ─► /health
 *                       └─► Channel (fan-in) ─► route ─► AgentQueue
 */
import { AgentQueue } from "./agent/runner.ts";
import { newIncidentId } from "./agent/workspace.ts";
import { Registry } from "./cluster/registry.ts";
import { Supervisor } from "./cluster/supervisor.ts";
import type { ClusterConfig, FaultlineConfig } from "./config/types.ts";
import { Channel } from "./events/channel.ts";
import type { FaultEvent } from "./events/fault.ts";
import { route } from "./events/route.ts";
import { createHealthApp } from "./health/app.ts";
import { type RunningServer, serve } from "./health/serve.ts";
import { errorMessage, logger, setLogLevel } from "./log.ts";
import { VERSION } from "./version.ts";
import type { WorkerToMain } from "./worker/messages.ts";

const log = logger();

/** Events waiting between fan-in and routing before new ones are refused (and counted). */
export const CHANNEL_CAPACITY = 10_000;

/** Counters of what did not make it through the pipeline, by reason. */
export interface DropCounts {
  malformed: number;
  channel_full: number;
}

/** A running faultline. */
export interface Faultline {
  config: FaultlineConfig;
  registry: Registry;
  supervisor: Supervisor;
  /** Null when no agent is configured. */
  agents: AgentQueue | null;
  /** Null when the health server is disabled. */
  http: RunningServer | null;
  dropped: DropCounts;
  /** Graceful stop: unsubscribe and close every session, let agents finish (up to `graceMs`), stop serving. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts everything `config` asks for. */
export async function startFaultline(config: FaultlineConfig): Promise<Faultline> {
  setLogLevel(config.log_level);
  const startedAt = new Date();
  const registry = new Registry(config.clusters, startedAt);
  const clusters = new Map(config.clusters.map((c) => [c.name, c]));
  const channel = new Channel<FaultEvent>(CHANNEL_CAPACITY);
  const dropped: DropCounts = { malformed: 0, channel_full: 0 };
  const agents = config.agent ? new AgentQueue({ agent: config.agent, stateDir: config.state_dir }) : null;
  if (!agents) log.warn("no agent.command configured: faults are received and logged, no agent runs");

  const onMessage = (message: WorkerToMain): void => {
    switch (message.type) {
      case "status": {
        const previous = registry.applyStatus(message);
        if (previous === undefined) return;
        const fields = { cluster: message.cluster, status: message.status, previous, mode: message.mode };
        if (message.status === "failed") {
          log.warn("cluster status", { ...fields, error: message.error, retry_in_ms: message.retry_in_ms });
        } else log.info("cluster status", fields);
        return;
      }
      case "event":
        registry.recordEvent(message.event.cluster, message.event.received_at);
        if (!channel.push(message.event)) {
          dropped.channel_full++;
          log.error("event dropped: fan-in channel full", {
            cluster: message.event.cluster,
            fault_id: message.event.fault_id,
            capacity: CHANNEL_CAPACITY,
          });
        }
        return;
      case "degraded":
        registry.recordSubscriptionError(message.cluster, message.error);
        log.warn("server reports its event watch failing", {
          cluster: message.cluster,
          error: message.error,
        });
        return;
      case "polled":
        if (message.error)
          log.warn("server cannot list events", { cluster: message.cluster, error: message.error });
        registry.recordPoll(message.cluster, message.at, message.error);
        return;
      case "dropped":
        dropped.malformed++;
        log.warn("malformed notification dropped", { cluster: message.cluster, detail: message.detail });
        return;
      case "stopped":
        return;
    }
  };

  const enabled = config.clusters.filter((c) => c.enabled);
  for (const c of config.clusters) {
    if (!c.enabled) log.info("cluster status", { cluster: c.name, status: "disabled" });
  }
  const supervisor = new Supervisor({
    clusters: enabled,
    workersMax: config.workers.max,
    settings: {
      subscribe: config.subscribe,
      reconnect: config.reconnect,
      ping: config.ping,
      log_level: config.log_level,
    },
    onMessage,
  });

  let http: RunningServer | null = null;
  if (config.health.enabled) {
    http = serve(createHealthApp({ registry, startedAt }), config.health.listen);
    log.info("health server listening", { url: http.url });
  }
  supervisor.start();
  const consumer = consume(channel, clusters, agents);
  log.info("faultline started", {
    version: VERSION,
    clusters: config.clusters.length,
    enabled: enabled.length,
  });

  let stopping: Promise<void> | null = null;
  const stop = (graceMs = 30_000): Promise<void> => {
    stopping ??= (async () => {
      log.info("stopping");
      await supervisor.stop();
      channel.close();
      await consumer;
      const dropped = (await agents?.stop(graceMs)) ?? [];
      if (dropped.length > 0)
        log.warn("queued agent runs not started before shutdown", { count: dropped.length });
      await http?.stop();
      log.info("stopped");
    })();
    return stopping;
  };
  return { config, registry, supervisor, agents, http, dropped, stop };
}

/** The main loop: takes each fault off the channel, logs it, routes it. */
async function consume(
  channel: Channel<FaultEvent>,
  clusters: Map<string, ClusterConfig>,
  agents: AgentQueue | null,
): Promise<void> {
  for await (const event of channel) {
    const cluster = clusters.get(event.cluster);
    if (!cluster) continue;
    const decision = route(event, cluster, agents !== null);
    const fields = {
      cluster: event.cluster,
      fault_id: event.fault_id,
      fault_type: event.fault_type,
      severity: event.severity,
      resource: describeResource(event),
    };
    if (decision.action === "skip") {
      log.info("fault received, not triaged", { ...fields, reason: decision.reason });
      continue;
    }
    const incident_id = newIncidentId(event);
    log.info("fault received, triage queued", { ...fields, incident_id });
    agents?.submit({ incident_id, cluster: { name: cluster.name, kubeconfig: cluster.kubeconfig }, event });
  }
}

/** `Kind/namespace/name`, or `Kind/name` for cluster-scoped objects. */
function describeResource({ resource }: FaultEvent): string {
  const { kind, namespace, name } = resource;
  return namespace ? `${kind}/${namespace}/${name}` : `${kind}/${name}`;
}

/** Runs until SIGINT or SIGTERM, then stops gracefully; resolves to the exit code. */
export async function runUntilSignalled(config: FaultlineConfig): Promise<number> {
  let app: Faultline;
  try {
    app = await startFaultline(config);
  } catch (error) {
    log.error("cannot start", { error: errorMessage(error) });
    return 1;
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  log.info("signal received", { signal });
  await app.stop();
  return 0;
}
