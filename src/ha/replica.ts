/**
 * Wires a running faultline into the replica fleet when `store.postgres` is set (HA is on exactly
 * then): the coordination client and tables, the {@link Coordinator}, and its hosts, so that
 * - a cluster taken starts through the path a reload uses to add one (`Supervisor.add`), resuming from
 *   its stored liveness (the gap since it was last alive is backfilled, the old session ended), and a
 *   cluster released goes through the path a reload uses to remove one (`Supervisor.remove`, which
 *   resolves once unsubscribed), and its owner row is freed only once the events it received are
 *   stored and its liveness written ({@link ReplicaDeps.intakeStored}): the taker's backfill then skips
 *   them instead of storing them again (`cluster-host.ts`);
 * - the registry lists only the clusters this replica holds (its `/health`, `/metrics`, `/readyz`);
 * - the notifier delivers only the sinks this replica owns, and looks at the shared outbox every tick
 *   (messages written by the other replicas do not wake it);
 * - a replica whose lease expired has its open runs settled by exactly one live replica;
 * - a fenced replica ends its agents too, and settles their runs once the fence is lifted.
 */
import type { Registry } from "../cluster/registry.ts";
import type { Supervisor } from "../cluster/supervisor.ts";
import type { ClusterConfig, FaultlineConfig } from "../config/types.ts";
import type { FleetView } from "../http/app.ts";
import type { FaultlineMetrics } from "../http/metrics.ts";
import type { RecoverOptions } from "../incidents/model.ts";
import type { Awaitable, MaintenanceStore } from "../incidents/store-api.ts";
import { errorMessage, logger } from "../log.ts";
import type { Notifications } from "../notify/service.ts";
import type { ClusterPlacement } from "../reload/apply.ts";
import { redactUrl } from "../runtime/redact.ts";
import { VERSION } from "../version.ts";
import { clusterHostOf, heldConfigs } from "./cluster-host.ts";
import { Coordinator, type CoordinatorState, HA_TICK_MS } from "./coordinator.ts";
import { migrateHa, openHaDatabase } from "./database.ts";
import { FleetStatusWriter, readFleet } from "./fleet-status.ts";
import { registerHaMetrics } from "./metrics.ts";
import type { OwnedHost } from "./ownership.ts";

const log = logger({ component: "ha" });

/** What the replica needs of the incident store (the `IncidentStore` contract, store-api.ts). */
export interface ReplicaStore {
  readonly maintenance: Pick<MaintenanceStore, "liveness" | "recentEvents">;
  recoverInterrupted(options: RecoverOptions): Awaitable<unknown>;
}

/** What the replica needs of the agents (`Triage`). */
export interface ReplicaAgents {
  /** Ends the running agents and starts none until {@link unfence}. */
  fence(): Promise<void>;
  /** Starts agents again. */
  unfence(): void;
  /** The runs of the agents running now. */
  readonly runIds: readonly number[];
}

/** The running stages a replica steers. */
export interface ReplicaDeps {
  /** The config now (a reload replaces it): the store URL, `ha`, the agent's retry settings, the sinks. */
  reloader: { readonly config: FaultlineConfig };
  store: ReplicaStore;
  registry: Registry;
  supervisor: Supervisor;
  /** The configured clusters by name, changed in place by a reload. */
  clusters: ReadonlyMap<string, ClusterConfig>;
  notifications: Notifications;
  /** The agents (`Triage`): ended while fenced. */
  agents: ReplicaAgents;
  /**
   * Resolves once every event received so far is stored (the sink is past them) and the clusters'
   * liveness is written: a released cluster's row is freed after it (bounded by
   * `HANDOVER_STORE_WAIT_MS`, cluster-host.ts).
   */
  intakeStored(): Promise<void>;
  /**
   * Resolves once every event received so far has left the sink (stored, or dropped as no longer
   * owned): awaited before clusters are taken (after their connections here, if any, are closed; bounded
   * by `HANDOVER_STORE_WAIT_MS`, cluster-host.ts), so events of a cluster this replica dropped (fenced) and now
   * takes again are stored before it reads what is stored for the backfill, or refused; never after it.
   */
  eventsStored(): Promise<void>;
  metrics: FaultlineMetrics;
  /** Tick interval (tests shorten it). */
  tickMs?: number;
}

/** A running replica. */
export interface Replica {
  /** This replica's name. */
  readonly name: string;
  /** Applies reloads to the clusters this replica holds. */
  readonly placement: ClusterPlacement;
  /** `/health/clusters` for the whole fleet. */
  readonly fleet: FleetView;
  /** The coordinator's state (owned clusters, live replicas, fenced). */
  readonly state: CoordinatorState;
  /** Why this replica is not ready (fenced), or null. */
  notReady(): string | null;
  /**
   * Releases every cluster and sink and marks the replica gone (the others take over at once); its
   * open agent runs stay its own until {@link stop}.
   */
  handOver(): Promise<void>;
  /** {@link handOver} if not done, then lets the others settle what is left and closes the client. */
  stop(): Promise<void>;
}

/**
 * Joins the fleet when `config.store.postgres` is set, else resolves to null (HA off). Throws when the
 * database cannot be reached or migrated (the URL's credentials redacted).
 *
 * @example
 * ```ts
 * const replica = await startReplica({ reloader, store, registry, supervisor, clusters, notifications, metrics });
 * // on shutdown, before the supervisor stops:
 * await replica?.handOver();
 * // once the agent runs are over:
 * await replica?.stop();
 * ```
 */
export async function startReplica(deps: ReplicaDeps): Promise<Replica | null> {
  const config = deps.reloader.config;
  const current = () => deps.reloader.config;
  const postgres = config.store.postgres;
  if (!postgres) return null;
  const { replica, lease_seconds: leaseSeconds } = config.ha;
  const sql = openHaDatabase(postgres.url);
  try {
    await migrateHa(sql, postgres.url);
  } catch (error) {
    await sql.end({ timeout: 1 });
    throw error;
  }
  const held = new Set<string>();
  const clusterHost = clusterHostOf(deps, held);
  const served = new Set<string>();
  const sinkHost: OwnedHost = {
    take(names) {
      for (const name of names) served.add(name);
      deps.notifications.serveOnly(served);
    },
    release(names) {
      for (const name of names) served.delete(name);
      deps.notifications.serveOnly(served);
    },
  };
  deps.notifications.serveOnly(served);
  const coordinator = new Coordinator({
    sql,
    replica,
    leaseSeconds,
    url: config.health.public_url ?? null,
    version: VERSION,
    clusters: () => [...deps.clusters.values()].filter((c) => c.enabled).map((c) => c.name),
    sinks: () => current().notify.map((sink) => sink.name),
    clusterHost,
    sinkHost,
    settle: async (dead) => {
      const result = await deps.store.recoverInterrupted({ replica: dead, ...retryOf(current()) });
      log.info("settled the open runs of an expired replica", { dead_replica: dead, result });
    },
    fencing: {
      fenced: () => deps.agents.fence(),
      async lifted() {
        // The agents ended while fenced may not have been recorded: settle what is left open.
        const keepRunIds = [...deps.agents.runIds];
        const result = await deps.store.recoverInterrupted({ ...retryOf(current()), keepRunIds });
        log.info("fence lifted: settled this replica's open runs; agents start again", { replica, result });
        deps.agents.unfence();
      },
    },
    ...(deps.tickMs ? { tickMs: deps.tickMs } : {}),
  });
  deps.metrics.forReplica(replica, (prom) => registerHaMetrics(prom, () => coordinator.state));
  const status = new FleetStatusWriter(sql, replica, () => deps.registry.list());
  try {
    await coordinator.start();
  } catch (error) {
    await sql.end({ timeout: 1 });
    throw new Error(`cannot join the replicas on ${redactUrl(postgres.url)}: ${errorMessage(error)}`);
  }
  status.start();
  const outboxLook = setInterval(() => deps.notifications.kick(), deps.tickMs ?? HA_TICK_MS);
  outboxLook.unref?.();
  log.info("replica joined", { replica, lease_seconds: leaseSeconds, clusters: held.size });
  let handingOver: Promise<void> | null = null;
  const handOver = (): Promise<void> => {
    handingOver ??= (async () => {
      await coordinator.stop();
      await status.stop();
    })();
    return handingOver;
  };
  return {
    name: replica,
    placement: {
      apply(_next, diff, settings) {
        deps.registry.sync(heldConfigs(deps.clusters, held));
        deps.supervisor.replace(
          diff.changed.filter((c) => held.has(c.name)),
          settings,
        );
        if (settings) deps.supervisor.add([], settings);
        // Added and removed clusters move at the next ownership tick.
      },
    },
    fleet: {
      replica,
      clusters: () =>
        readFleet(sql, leaseSeconds, replica, [...deps.clusters.values()], deps.registry.list()),
    },
    get state() {
      return coordinator.state;
    },
    notReady: () =>
      coordinator.state.fenced
        ? `no heartbeat within the lease (${leaseSeconds} s): fenced, holding no cluster`
        : null,
    handOver,
    async stop() {
      clearInterval(outboxLook);
      await handOver();
      await coordinator.finish();
      await sql.end({ timeout: 5 });
      log.info("replica left", { replica });
    },
  };
}

/** How interrupted runs are retried (`agent.retry_interrupted`, `agent.max_attempts`). */
function retryOf(config: FaultlineConfig): { retry: boolean; maxAttempts: number } {
  return {
    retry: config.agent?.retry_interrupted ?? false,
    maxAttempts: config.agent?.max_attempts ?? 1,
  };
}
