/**
 * `faultline run`: builds the pipeline's stages, wires them, and stops them in order.
 *
 *   Supervisor (workers: sources) ─► fan-in ─► Registry ──────────────────────────► http: /health, /metrics
 *                                        └──► Channel ─► sink (route, store) ─► Dispatcher ─► agents
 *                                  backpressure ◄─┘ (hold / release the workers' event streams)
 *   store's notification outbox (written with each status change) ─► Notifier ─► Slack, webhooks, Alertmanager
 *
 * Each stage lives in `src/pipeline/` in a file named after it; `docs/pipeline.md` is their contract.
 */
import type { AgentOutcome } from "./agent/runner.ts";
import { LivenessRecorder, resumeStates, withLiveness } from "./cluster/liveness.ts";
import { Registry } from "./cluster/registry.ts";
import { sourcesInline } from "./cluster/source-placement.ts";
import { discardPrewarmedWorkers, prewarmWorkers, Supervisor } from "./cluster/supervisor.ts";
import { healthToken } from "./config/connection-check.ts";
import { loadConfig } from "./config/load.ts";
import type { FaultlineConfig } from "./config/types.ts";
import type { FaultEvent } from "./events/fault.ts";
import type { Faultline } from "./faultline.ts";
import type { Replica } from "./ha/replica.ts";
import { createHealthApp } from "./http/app.ts";
import { appMetrics } from "./http/app-metrics.ts";
import { serve } from "./http/serve.ts";
import type { Incident } from "./incidents/model.ts";
import { Retention } from "./incidents/retention.ts";
import { type OwnedState, ownState } from "./incidents/state.ts";
import { Triage } from "./incidents/triage.ts";
import { logger, setLogLevel } from "./log.ts";
import { Notifications } from "./notify/service.ts";
import { Backpressure } from "./pipeline/backpressure.ts";
import { Channel } from "./pipeline/channel.ts";
import { CHANNEL_CAPACITY, fanIn } from "./pipeline/fan-in.ts";
import { runSink } from "./pipeline/sink.ts";
import { Drops } from "./pipeline/stages.ts";
import { StoredMark } from "./pipeline/stored-mark.ts";
import { connectionSettings } from "./reload/apply.ts";
import { Reloader, type ReloadOutcome } from "./reload/reloader.ts";
import { stopInOrder } from "./shutdown.ts";
import { VERSION } from "./version.ts";

const log = logger();

/**
 * Takes the state_dir lock, opens the store, recovers what a previous faultline left, and starts every
 * stage `config` asks for. Throws when the state cannot be used (nothing is left running then).
 * `load` reads the config again for a reload (default: the file `config` came from).
 */
export async function startFaultline(
  config: FaultlineConfig,
  load: () => FaultlineConfig = () => loadConfig(config.source),
): Promise<Faultline> {
  setLogLevel(config.log_level);
  const startedAt = new Date();
  // The workers load their code while the store opens and recovers.
  const enabled = config.clusters.filter((c) => c.enabled).length;
  const prewarm = () => prewarmWorkers(config.workers.max, enabled, sourcesInline(config.workers));
  const owned = await ownState(config, prewarm).catch((error) => {
    discardPrewarmedWorkers();
    throw error;
  });
  try {
    return await startStages(config, owned, startedAt, load);
  } catch (error) {
    discardPrewarmedWorkers();
    await owned.store.close();
    owned.lock.release();
    throw error;
  }
}

/**
 * Builds and starts the stages over an open store; the returned stop ends them in order. With
 * `store.postgres`, this process is one replica (src/ha/): it runs only the clusters it owns.
 */
async function startStages(
  config: FaultlineConfig,
  { store, lock, adopted }: OwnedState,
  startedAt: Date,
  load: () => FaultlineConfig,
): Promise<Faultline> {
  const shared = config.store.postgres !== undefined; // replicas share the fleet: each runs its own share
  const registry = new Registry(shared ? [] : config.clusters, startedAt);
  // Shared with the stages and changed in place by a reload (see reload/apply.ts).
  const clusters = new Map(config.clusters.map((c) => [c.name, c]));
  const routing = new Map(clusters);
  const channel = new Channel<FaultEvent>(CHANNEL_CAPACITY);
  const mark = new StoredMark(channel);
  const drops = new Drops();
  const notifications = new Notifications(store, config);
  const metrics = appMetrics({ registry, drops, store, notifications }, () => ({ triage, reloader }));
  const onOutcome = (outcome: AgentOutcome, incident: Incident) => {
    metrics.observeAgentRun(outcome.duration_ms, incident.status);
    notifications.kick();
  };
  const triage = new Triage({ store, stateDir: config.state_dir, clusters, onOutcome }, config.agent);
  if (!triage.configured)
    log.warn("no agent.command configured: faults are recorded as incidents, no agent runs");

  const enabled = config.clusters.filter((c) => c.enabled);
  for (const c of config.clusters) {
    if (!c.enabled) log.info("cluster status", { cluster: c.name, status: "disabled" });
  }
  const liveness = new LivenessRecorder(store.maintenance);
  const backpressure = new Backpressure(
    () => channel.size,
    (message) => supervisor.broadcast(message),
  );
  const supervisor = new Supervisor({
    clusters: shared ? [] : enabled,
    workersMax: config.workers.max,
    hangMs: config.workers.hang_seconds * 1000,
    inline: sourcesInline(config.workers),
    settings: connectionSettings(config),
    onMessage: withLiveness(liveness, fanIn({ registry, channel, backpressure, drops })),
    resume: await resumeStates(store.maintenance),
  });

  const lifecycle = { stopping: false, storeOpen: true };
  const reloader = new Reloader({
    config,
    load,
    stages: {
      registry,
      supervisor,
      store,
      clusters,
      routing,
      setAgent: (agent) => triage.setAgent(agent),
      setNotify: (next) => notifications.reconfigure(next),
      placement: () => ha?.placement, // replicas: apply to the clusters this one holds
    },
    stopping: () => lifecycle.stopping,
  });
  const steered = { registry, supervisor, clusters, notifications, agents: triage };
  const intakeStored = () => mark.untilDone().then(() => liveness.flush());
  // src/ha/ (and its client) loads only where replicas share a PostgreSQL store.
  const ha: Replica | null = config.store.postgres
    ? await (await import("./ha/replica.ts")).startReplica({
        reloader,
        store,
        metrics,
        intakeStored,
        eventsStored: () => mark.untilDone(),
        ...steered,
      })
    : null;
  const probes = {
    stopping: () => lifecycle.stopping,
    storeOpen: () => lifecycle.storeOpen,
    replica: () => ha?.notReady() ?? null,
  };
  const reload = (trigger = "api"): Promise<ReloadOutcome> => reloader.reload(trigger);
  // Before listening: a first pass on an old database rewrites it once (VACUUM, ~10 s per GB).
  const retention = new Retention({
    store,
    stateDir: config.state_dir,
    days: () => reloader.config.retention.days,
  });
  retention.start();
  const authToken = healthToken(config.health);
  const deps = { registry, startedAt, metrics, store, probes, authToken, fleet: ha?.fleet };
  const app = createHealthApp({ ...deps, reload: () => reload("http") });
  const http = config.health.enabled ? serve(app, config.health.listen) : null;
  if (http) log.info("health server listening", { url: http.url });
  supervisor.start();
  notifications.start();
  triage.dispatcher?.adopt(adopted);
  triage.kick();
  const stopping = new AbortController();
  const sink = runSink({
    channel,
    clusters: routing,
    store,
    backpressure,
    drops,
    agentConfigured: () => triage.configured,
    stored: (results) => {
      triage.kick();
      if (results.some((result) => result.created)) notifications.kick();
    },
    stopping: stopping.signal,
    mark,
  });
  log.info("faultline started", {
    version: VERSION,
    clusters: config.clusters.length,
    enabled: enabled.length,
  });

  const intake = { supervisor, liveness, channel, stopping, sink };
  const rest = { triage, notifications, http, retention, store, lock, lifecycle };
  const graceMs = () => reloader.config.shutdown_timeout_seconds * 1000;
  const stop = stopInOrder({ replica: ha, ...intake, ...rest }, graceMs);
  return {
    get config() {
      return reloader.config;
    },
    get dispatcher() {
      return triage.dispatcher;
    },
    registry,
    supervisor,
    store,
    http,
    notifications,
    dropped: drops.counts,
    reload,
    stop,
  };
}
