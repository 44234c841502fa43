/**
 * `faultline run`: builds the pipeline's stages, wires them, and stops them in order.
 *
 *   Supervisor (workers: sources) ─► fan-in ─► Registry ──────────────────────────► http: /health, /metrics
 *                                        └──► Channel ─► sink (route, store) ─► Dispatcher ─► agents
 *                                  backpressure ◄─┘ (hold / release the workers' event streams)
 *
 * Each stage lives in `src/pipeline/` in a file named after it; `docs/pipeline.md` is their contract.
 */
import { LivenessRecorder, resumeStates, withLiveness } from "./cluster/liveness.ts";
import { Registry } from "./cluster/registry.ts";
import { Supervisor } from "./cluster/supervisor.ts";
import type { FaultlineConfig } from "./config/types.ts";
import type { FaultEvent } from "./events/fault.ts";
import { createHealthApp } from "./http/app.ts";
import { FaultlineMetrics } from "./http/metrics.ts";
import { type RunningServer, serve } from "./http/serve.ts";
import { Dispatcher } from "./incidents/dispatcher.ts";
import { StateDirLock } from "./incidents/lock.ts";
import { prepareStateDir } from "./incidents/open.ts";
import { type AdoptedRun, recoverInterruptedRuns } from "./incidents/recovery.ts";
import { IncidentStore } from "./incidents/store.ts";
import { errorMessage, logger, setLogLevel } from "./log.ts";
import { Backpressure } from "./pipeline/backpressure.ts";
import { Channel } from "./pipeline/channel.ts";
import { CHANNEL_CAPACITY, fanIn } from "./pipeline/fan-in.ts";
import { runSink } from "./pipeline/sink.ts";
import { type DropCounts, Drops } from "./pipeline/stages.ts";
import { VERSION } from "./version.ts";

const log = logger();

/** A running faultline. */
export interface Faultline {
  config: FaultlineConfig;
  registry: Registry;
  supervisor: Supervisor;
  store: IncidentStore;
  /** Null when no agent is configured. */
  dispatcher: Dispatcher | null;
  /** Null when the health server is disabled. */
  http: RunningServer | null;
  /** Events that did not reach the store, by reason (live). */
  dropped: DropCounts;
  /**
   * Graceful stop: take no new events, unsubscribe and close every session, store what is in flight,
   * let running agents finish for up to `graceMs` (default `shutdown_timeout_seconds`), then end them.
   */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Takes the state_dir lock, opens the store, recovers what a previous faultline left, and starts every
 * stage `config` asks for. Throws when the state cannot be used (nothing is left running then).
 */
export async function startFaultline(config: FaultlineConfig): Promise<Faultline> {
  setLogLevel(config.log_level);
  const startedAt = new Date();
  // The lock comes before the database: a second faultline must not even migrate a store another one owns.
  prepareStateDir(config.state_dir);
  const lock = StateDirLock.acquire(config.state_dir);
  let store: IncidentStore | undefined;
  try {
    store = IncidentStore.open(config.state_dir, {
      dedupWindowSeconds: config.dedup_window_seconds,
      maxQueue: config.agent?.max_queue,
    });
    const adopted = await recoverInterruptedRuns(store, config.agent);
    return startStages(config, store, lock, startedAt, adopted);
  } catch (error) {
    store?.close();
    lock.release();
    throw error;
  }
}

/** Builds and starts the stages over an open store; the returned stop ends them in order. */
function startStages(
  config: FaultlineConfig,
  store: IncidentStore,
  lock: StateDirLock,
  startedAt: Date,
  adopted: AdoptedRun[],
): Faultline {
  const registry = new Registry(config.clusters, startedAt);
  const clusters = new Map(config.clusters.map((c) => [c.name, c]));
  const channel = new Channel<FaultEvent>(CHANNEL_CAPACITY);
  const drops = new Drops();
  const metrics = new FaultlineMetrics({
    registry,
    dropped: () => ({ ...drops.counts }),
    incidents: () => store.countsByCluster(),
    skips: () => store.skipsByCluster(),
    agents: () => ({ running: dispatcher?.running ?? 0, queued: store.queueDepth() }),
  });
  const dispatcher = config.agent
    ? new Dispatcher({
        store,
        agent: config.agent,
        stateDir: config.state_dir,
        clusters,
        onOutcome: (outcome, incident) => metrics.observeAgentRun(outcome.duration_ms, incident.status),
      })
    : null;
  if (!dispatcher) log.warn("no agent.command configured: faults are recorded as incidents, no agent runs");

  const enabled = config.clusters.filter((c) => c.enabled);
  for (const c of config.clusters) {
    if (!c.enabled) log.info("cluster status", { cluster: c.name, status: "disabled" });
  }
  const liveness = new LivenessRecorder(store);
  const backpressure = new Backpressure(
    () => channel.size,
    (message) => supervisor.broadcast(message),
  );
  const supervisor = new Supervisor({
    clusters: enabled,
    workersMax: config.workers.max,
    settings: {
      subscribe: config.subscribe,
      reconnect: config.reconnect,
      ping: config.ping,
      log_level: config.log_level,
    },
    onMessage: withLiveness(liveness, fanIn({ registry, channel, backpressure, drops })),
    resume: resumeStates(store),
  });

  const lifecycle = { stopping: false, storeOpen: true };
  const probes = { stopping: () => lifecycle.stopping, storeOpen: () => lifecycle.storeOpen };
  const http = config.health.enabled
    ? serve(createHealthApp({ registry, startedAt, metrics, store, probes }), config.health.listen)
    : null;
  if (http) log.info("health server listening", { url: http.url });
  supervisor.start();
  dispatcher?.adopt(adopted);
  dispatcher?.kick();
  const stopping = new AbortController();
  const sink = runSink({
    channel,
    clusters,
    store,
    backpressure,
    drops,
    agentConfigured: dispatcher !== null,
    stored: () => dispatcher?.kick(),
    stopping: stopping.signal,
  });
  log.info("faultline started", {
    version: VERSION,
    clusters: config.clusters.length,
    enabled: enabled.length,
  });

  let stopped: Promise<void> | null = null;
  const stop = (graceMs = config.shutdown_timeout_seconds * 1000): Promise<void> => {
    stopped ??= (async () => {
      log.info("stopping");
      lifecycle.stopping = true;
      await supervisor.stop();
      liveness.stop();
      channel.close();
      stopping.abort();
      await sink;
      await dispatcher?.stop(graceMs);
      await http?.stop();
      lifecycle.storeOpen = false;
      store.close();
      lock.release();
      log.info("stopped");
    })();
    return stopped;
  };
  return { config, registry, supervisor, store, dispatcher, http, dropped: drops.counts, stop };
}

/** Runs until SIGINT or SIGTERM, then stops gracefully; resolves to the exit code. */
export async function runUntilSignalled(config: FaultlineConfig): Promise<number> {
  let app: Faultline;
  try {
    app = await startFaultline(config);
  } catch (error) {
    log.error("cannot start", { error: errorMessage(error) });
    process.stderr.write(`faultline: cannot start: ${errorMessage(error)}\n`);
    return 1;
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  log.info("signal received", { signal, shutdown_timeout_seconds: config.shutdown_timeout_seconds });
  await app.stop();
  return 0;
}
