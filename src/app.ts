/**
 * `faultline run`: wires the pipeline together.
 *
 *   Supervisor (workers) ─► Registry (status) ─────────────────────────────► HTTP: /health, /metrics
 *                       └─► Channel (fan-in) ─► route ─► IncidentStore (dedup, queue) ─► Dispatcher ─► agents
 *
 * Every event is written to the store before anything is dispatched for it, in one transaction per
 * batch taken off the channel.
 */
import { endOrphanedAgent } from "./agent/orphans.ts";
import { Registry } from "./cluster/registry.ts";
import { Supervisor } from "./cluster/supervisor.ts";
import type { ClusterConfig, FaultlineConfig } from "./config/types.ts";
import { Channel } from "./events/channel.ts";
import { describeResource, type FaultEvent } from "./events/fault.ts";
import { route } from "./events/route.ts";
import { createHealthApp } from "./http/app.ts";
import { FaultlineMetrics } from "./http/metrics.ts";
import { type RunningServer, serve } from "./http/serve.ts";
import { Dispatcher } from "./incidents/dispatcher.ts";
import { StateDirLock } from "./incidents/lock.ts";
import type { IngestItem, IngestResult } from "./incidents/model.ts";
import { IncidentStore } from "./incidents/store.ts";
import { errorMessage, logger, setLogLevel } from "./log.ts";
import { Backoff } from "./runtime/backoff.ts";
import { sleep } from "./runtime/sleep.ts";
import { VERSION } from "./version.ts";
import { decodeEventBatch, type WorkerToMain } from "./worker/protocol.ts";

const log = logger();

/**
 * Events waiting between fan-in and the store. Past {@link HOLD_AT} the workers are told to stop
 * reading their event streams (backpressure to the servers) until the store has drained the channel
 * below {@link RELEASE_AT}; the hard capacity only catches what was already in flight, and anything
 * past it is refused and counted (`channel_full`), never silently lost.
 */
export const CHANNEL_CAPACITY = 100_000;
/** Queued events at which the workers are asked to hold their event streams. */
export const HOLD_AT = 5_000;
/** Queued events at which they may read again. */
export const RELEASE_AT = 1_000;
/** First wait before retrying a failed store write; it doubles up to {@link STORE_RETRY_MAX_MS}. */
export const STORE_RETRY_INITIAL_MS = 500;
/** Longest wait between store write retries. */
export const STORE_RETRY_MAX_MS = 30_000;
/** Events written to the store in one transaction, at most. */
export const STORE_BATCH = 512;

/** Counters of what did not make it into the store, by reason. */
export interface DropCounts {
  malformed: number;
  channel_full: number;
  store_error: number;
}

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
  dropped: DropCounts;
  /**
   * Graceful stop: take no new events, unsubscribe and close every session, store what is in flight,
   * let running agents finish for up to `graceMs` (default `shutdown_timeout_seconds`), then end them.
   */
  stop(graceMs?: number): Promise<void>;
}

/** Opens the store and starts everything `config` asks for. Throws when the store cannot be used. */
export async function startFaultline(config: FaultlineConfig): Promise<Faultline> {
  setLogLevel(config.log_level);
  const startedAt = new Date();
  const store = IncidentStore.open(config.state_dir, {
    dedupWindowSeconds: config.dedup_window_seconds,
    maxQueue: config.agent?.max_queue,
  });
  let lock: StateDirLock;
  try {
    lock = StateDirLock.acquire(config.state_dir);
  } catch (error) {
    store.close();
    throw error;
  }
  await recover(store, config);

  const registry = new Registry(config.clusters, startedAt);
  const clusters = new Map(config.clusters.map((c) => [c.name, c]));
  const channel = new Channel<FaultEvent>(CHANNEL_CAPACITY);
  const dropped: DropCounts = { malformed: 0, channel_full: 0, store_error: 0 };
  // Read at scrape time only: the dispatcher below exists by then.
  const metrics = new FaultlineMetrics({
    registry,
    dropped: () => ({ ...dropped }),
    incidents: () => totals(store.countsByCluster()),
    skips: () => totals(store.skipsByCluster()),
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
      case "events":
        for (const event of decodeEventBatch(message)) {
          registry.recordEvent(event.cluster, event.received_at);
          if (channel.push(event)) continue;
          dropped.channel_full++;
          log.error("event dropped: fan-in channel full", {
            cluster: event.cluster,
            fault_id: event.fault_id,
            capacity: CHANNEL_CAPACITY,
          });
        }
        backpressure.check();
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
  const backpressure = holdWhenBehind(channel, (message) => supervisor.broadcast(message));
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
    try {
      http = serve(createHealthApp({ registry, startedAt, metrics, store }), config.health.listen);
    } catch (error) {
      store.close();
      lock.release();
      throw error;
    }
    log.info("health server listening", { url: http.url });
  }
  supervisor.start();
  dispatcher?.kick();
  const stopping = new AbortController();
  const consumer = consume(channel, clusters, store, dispatcher, dropped, {
    afterBatch: () => backpressure.check(),
    hold: () => backpressure.hold(),
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
      await supervisor.stop();
      channel.close();
      stopping.abort();
      await consumer;
      await dispatcher?.stop(graceMs);
      await http?.stop();
      store.close();
      lock.release();
      log.info("stopped");
    })();
    return stopped;
  };
  return { config, registry, supervisor, store, dispatcher, http, dropped, stop };
}

/** Start-up recovery: end agents a crashed faultline left running, then queue interrupted incidents again. */
async function recover(store: IncidentStore, config: FaultlineConfig): Promise<void> {
  for (const run of store.openRuns()) {
    if (run.pid === null) continue;
    const ended = await endOrphanedAgent(run.pid, run.incident_id);
    if (ended > 0)
      log.warn("ended an agent left running by a previous faultline", {
        incident_id: run.incident_id,
        pid: run.pid,
      });
  }
  store.recoverInterrupted({
    retry: config.agent?.retry_interrupted ?? false,
    maxAttempts: config.agent?.max_attempts ?? 1,
  });
}

/** What the main loop needs besides the channel and the store. */
interface ConsumerHooks {
  /** After each stored batch (backpressure re-checks the channel). */
  afterBatch(): void;
  /** Hold the workers' event streams (the store is failing). */
  hold(): void;
  /** Aborted when faultline stops: store retries give up. */
  stopping: AbortSignal;
}

/** The main loop: stores each batch taken off the channel (one transaction), logs it, wakes the dispatcher. */
async function consume(
  channel: Channel<FaultEvent>,
  clusters: Map<string, ClusterConfig>,
  store: IncidentStore,
  dispatcher: Dispatcher | null,
  dropped: DropCounts,
  hooks: ConsumerHooks,
): Promise<void> {
  const next = () => channel.take(STORE_BATCH, { gather: true });
  for (let batch = await next(); batch.length > 0; batch = await next()) {
    const items = [];
    for (const event of batch) {
      const cluster = clusters.get(event.cluster);
      if (cluster) items.push({ event, decision: route(event, cluster, dispatcher !== null) });
    }
    const results = await storeBatch(store, items, hooks);
    if (!results) {
      dropped.store_error += items.length;
      continue;
    }
    for (const result of results) logIngested(result);
    dispatcher?.kick();
    hooks.afterBatch();
  }
}

/**
 * Stores one batch. While the store fails (disk full, database locked…) the batch is kept, the event
 * streams are held and the write is retried with backoff: nothing accepted is dropped. Only when
 * faultline is stopping does it give up (null; counted and logged as `store_error`).
 */
async function storeBatch(
  store: IncidentStore,
  items: IngestItem[],
  hooks: ConsumerHooks,
): Promise<IngestResult[] | null> {
  const backoff = new Backoff(STORE_RETRY_INITIAL_MS, STORE_RETRY_MAX_MS);
  for (let attempt = 1; ; attempt++) {
    try {
      const results = store.ingest(items);
      if (attempt > 1) log.info("events stored after retrying", { events: items.length, attempts: attempt });
      return results;
    } catch (error) {
      if (hooks.stopping.aborted) {
        log.error("events not stored: faultline is stopping", {
          events: items.length,
          error: errorMessage(error),
        });
        return null;
      }
      const delay = backoff.next();
      hooks.hold();
      log.error("events not stored yet: holding event streams, retrying", {
        events: items.length,
        attempt,
        retry_in_ms: delay,
        error: errorMessage(error),
      });
      await sleep(delay, hooks.stopping);
    }
  }
}

/**
 * Backpressure: asks the workers to hold their event streams once the channel reaches {@link HOLD_AT}
 * and to release them once it is back under {@link RELEASE_AT}. `check` after every change of size.
 */
function holdWhenBehind(
  channel: Channel<FaultEvent>,
  broadcast: (message: { type: "hold" | "release" }) => void,
): { check(): void; hold(): void } {
  let holding = false;
  const hold = () => {
    if (holding) return;
    holding = true;
    broadcast({ type: "hold" });
    log.warn("store behind: holding event streams", { queued: channel.size });
  };
  return {
    hold,
    check() {
      if (!holding && channel.size >= HOLD_AT) hold();
      else if (holding && channel.size <= RELEASE_AT) {
        holding = false;
        broadcast({ type: "release" });
        log.info("store caught up: event streams released", { queued: channel.size });
      }
    },
  };
}

function logIngested({ incident, created, queued }: IngestResult): void {
  const fields = {
    cluster: incident.cluster,
    incident_id: incident.id,
    fault_id: incident.fault_id,
    fault_type: incident.fault_type,
    severity: incident.severity,
    resource: describeResource(incident.resource),
  };
  if (created && incident.status === "skipped") {
    log.info("incident recorded, not triaged", { ...fields, reason: incident.skip_reason });
  } else if (created || queued) log.info("incident queued for triage", fields);
  else log.debug("repeat joined incident", { ...fields, count: incident.count, status: incident.status });
}

/** Per-cluster counts summed over all clusters (incidents by status, skips by reason). */
function totals(byCluster: Map<string, Partial<Record<string, number>>>): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const counts of byCluster.values()) {
    for (const [key, n] of Object.entries(counts)) sums[key] = (sums[key] ?? 0) + (n ?? 0);
  }
  return sums;
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
