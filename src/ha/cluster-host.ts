/**
 * The replica's cluster host: what taking and releasing a cluster does in this process (see
 * {@link OwnedHost}). A cluster taken starts through the path a reload uses to add one
 * (`Supervisor.add`), resuming from its stored liveness (the gap since it was last alive is backfilled,
 * the old session ended); a cluster released goes through the path a reload uses to remove one
 * (`Supervisor.remove`, which resolves once unsubscribed), and its owner row is freed only once the
 * events it received are stored and its liveness written: the taker's backfill then skips them.
 *
 * The order keeps one connection per cluster and every fault stored once across a fence and a take
 * back by this same replica (the store's fence, `src/incidents/pg/fence.ts`, cannot tell them apart):
 * - before a take: the cluster's connection here, if one is still closing, has closed, and the sink
 *   is past every event received so far (so the resume reads them as stored);
 * - a take whose cluster was released while it read the resume (a fence) starts nothing.
 */
import { resumeStates } from "../cluster/liveness.ts";
import type { Registry } from "../cluster/registry.ts";
import type { Supervisor } from "../cluster/supervisor.ts";
import type { ClusterConfig } from "../config/types.ts";
import type { MaintenanceStore } from "../incidents/store-api.ts";
import { errorMessage, logger } from "../log.ts";
import type { OwnedHost } from "./ownership.ts";

const log = logger({ component: "ha" });

/**
 * How long a cluster's release waits for the events it received to be stored before its row is freed
 * anyway (the store failing), and a take for the events received before it: past it, those events are
 * refused once another replica holds the cluster (`not_owner`) and left to its backfill.
 */
export const HANDOVER_STORE_WAIT_MS = 5000;

/** What the cluster host steers. */
export interface ClusterHostDeps {
  store: { readonly maintenance: Pick<MaintenanceStore, "liveness" | "recentEvents"> };
  registry: Pick<Registry, "sync">;
  supervisor: Pick<Supervisor, "add" | "remove">;
  /** The configured clusters by name (a reload changes it in place). */
  clusters: ReadonlyMap<string, ClusterConfig>;
  /** Every event received so far stored and the liveness written (a release frees its rows after it). */
  intakeStored(): Promise<void>;
  /** Every event received so far has left the sink (a take waits for it). */
  eventsStored(): Promise<void>;
}

/** The configs of the clusters in `held`, in config order: what this replica's registry shows. */
export function heldConfigs(
  clusters: ReadonlyMap<string, ClusterConfig>,
  held: ReadonlySet<string>,
): ClusterConfig[] {
  return [...clusters.values()].filter((c) => held.has(c.name));
}

/**
 * The cluster host of a replica; `held` is kept to the clusters running here.
 *
 * @example
 * ```ts
 * const held = new Set<string>();
 * const coordinator = new Coordinator({ …, clusterHost: clusterHostOf(deps, held) });
 * ```
 */
export function clusterHostOf(deps: ClusterHostDeps, held: Set<string>): OwnedHost {
  const ownConfigs = () => heldConfigs(deps.clusters, held);
  /** Takes under way (reading where their clusters were left), by cluster: a release cancels them. */
  const taking = new Map<string, symbol>();
  /** Removals under way (a fence drops clusters while the next tick may take them again). */
  const removing = new Map<string, Promise<void>>();
  return {
    async beforeTake(names) {
      // A connection still closing may report events yet: wait for it (the supervisor bounds it).
      await Promise.all(names.flatMap((name) => removing.get(name) ?? []));
      await storedOrLate(
        deps.eventsStored(),
        names,
        "taking clusters before the events received earlier were stored; some may be stored twice",
      );
    },
    async take(names) {
      const take = Symbol("take");
      for (const name of names) taking.set(name, take);
      const resume = await resumeStates(deps.store.maintenance, new Set(names)).catch((error: unknown) => {
        log.warn("cannot read where the taken clusters were left; no backfill", {
          error: errorMessage(error),
        });
        return undefined;
      });
      // Released meanwhile (a fence while the resume was read): not started, or it would run on beside
      // the connection its next take opens.
      const still = names.filter((name) => taking.get(name) === take);
      for (const name of still) {
        taking.delete(name);
        held.add(name);
      }
      deps.registry.sync(ownConfigs());
      const configs = still.flatMap((name) => deps.clusters.get(name) ?? []);
      if (configs.length > 0) deps.supervisor.add(configs, undefined, resume);
    },
    async release(names, reason) {
      for (const name of names) {
        held.delete(name);
        taking.delete(name);
      }
      deps.registry.sync(ownConfigs());
      const removed = deps.supervisor.remove(names);
      for (const name of names) removing.set(name, removed);
      await removed;
      for (const name of names) if (removing.get(name) === removed) removing.delete(name);
      // Fenced: the store may be out of reach, and the row is not freed from here anyway.
      if (reason !== "fenced")
        await storedOrLate(
          deps.intakeStored(),
          names,
          "released clusters before their last events were stored; the taker's backfill lists them",
        );
    },
  };
}

/** Waits for `stored`, at most {@link HANDOVER_STORE_WAIT_MS} (then logs `message`). */
async function storedOrLate(
  stored: Promise<void>,
  clusters: readonly string[],
  message: string,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), HANDOVER_STORE_WAIT_MS);
  });
  const outcome = await Promise.race([stored.catch(() => "failed" as const), late]);
  clearTimeout(timer);
  if (outcome === "late" || outcome === "failed")
    log.warn(message, {
      clusters: clusters.join(","),
      waited_ms: outcome === "late" ? HANDOVER_STORE_WAIT_MS : null,
    });
}
