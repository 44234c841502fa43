/**
 * One view of the fleet from any replica (docs/ha-design.md §5). Each replica writes its own clusters'
 * registry states to `cluster_status`, coalesced every {@link FLEET_STATUS_FLUSH_MS} (only rows that
 * changed); `/health/clusters` then answers from that table for the clusters other replicas own, and
 * from the live registry for its own, adding each cluster's `owner` (null when its owner's lease
 * expired: the row then shows the last status it wrote, until another replica takes it). A cluster
 * taken by a live replica that has not written its state since the take shows `connecting` from the
 * take: the row left by its earlier owner describes that owner's connection, not this one's.
 */
import { type ClusterState, newState } from "../cluster/registry.ts";
import type { ClusterConfig } from "../config/types.ts";
import { errorMessage, logger } from "../log.ts";
import type { HaSql } from "./database.ts";

const log = logger({ component: "ha" });

/** How often changed cluster states are written. */
export const FLEET_STATUS_FLUSH_MS = 2000;

/** A cluster in the fleet view: its state, and the replica holding it now (null: none live). */
export interface FleetClusterState extends ClusterState {
  owner: string | null;
}

/** Writes this replica's clusters' states to `cluster_status`, coalesced. */
export class FleetStatusWriter {
  readonly #sql: HaSql;
  readonly #replica: string;
  readonly #states: () => readonly ClusterState[];
  /** The JSON last written per cluster. */
  readonly #written = new Map<string, string>();
  #timer: ReturnType<typeof setInterval> | null = null;
  #flushing: Promise<void> | null = null;

  /** `states`: this replica's own clusters' states now (its registry). */
  constructor(sql: HaSql, replica: string, states: () => readonly ClusterState[]) {
    this.#sql = sql;
    this.#replica = replica;
    this.#states = states;
  }

  /** Writes every `flushMs`. */
  start(flushMs = FLEET_STATUS_FLUSH_MS): void {
    this.#timer = setInterval(() => void this.flush(), flushMs);
    this.#timer.unref?.();
  }

  /**
   * Writes the states that changed since the last write (one statement); never throws (logs, and
   * retries at the next flush). Concurrent calls share one write.
   *
   * @example
   * ```ts
   * await writer.flush(); // after a cluster became active, before reading the table
   * ```
   */
  flush(): Promise<void> {
    this.#flushing ??= this.#write().finally(() => {
      this.#flushing = null;
    });
    return this.#flushing;
  }

  /** Stops the timer and writes what changed one last time. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.flush();
  }

  async #write(): Promise<void> {
    const changed = this.#states().flatMap((state) => {
      const json = JSON.stringify(state);
      return this.#written.get(state.name) === json ? [] : [{ state, json }];
    });
    if (changed.length === 0) return;
    const rows = changed.map(({ state, json }) => ({
      cluster: state.name,
      owner: this.#replica,
      status: state.status,
      last_event_at: state.last_event_at,
      last_error: state.last_error,
      event_count: state.event_count,
      detail: json,
    }));
    try {
      await this.#sql`
        INSERT INTO cluster_status ${this.#sql(rows, "cluster", "owner", "status", "last_event_at", "last_error", "event_count", "detail")}
        ON CONFLICT (cluster) DO UPDATE SET owner = excluded.owner, status = excluded.status,
          last_event_at = excluded.last_event_at, last_error = excluded.last_error,
          event_count = excluded.event_count, detail = excluded.detail, updated_at = now()`;
      for (const { state, json } of changed) this.#written.set(state.name, json);
    } catch (error) {
      log.warn("cannot write the fleet's cluster status; retrying", { error: errorMessage(error) });
    }
  }
}

/** A `cluster_status` row with its cluster's live owner. */
interface StatusRow {
  cluster: string;
  status: string | null;
  last_event_at: string | null;
  last_error: string | null;
  event_count: number | null;
  detail: string | null;
  owner: string | null;
  /** When the live owner took the cluster, if it has written no state since (else null). */
  taken_unreported: Date | null;
}

/**
 * The whole fleet's cluster states, in config order: this replica's own from `own` (its registry),
 * every other enabled one from `cluster_status`, with its live owner (null when none is live).
 *
 * @example
 * ```ts
 * const clusters = await readFleet(sql, 15, "faultline-0", config.clusters, registry.list());
 * ```
 */
export async function readFleet(
  sql: HaSql,
  leaseSeconds: number,
  replica: string,
  configured: readonly ClusterConfig[],
  own: readonly ClusterState[],
): Promise<FleetClusterState[]> {
  const rows = await sql<StatusRow[]>`
    SELECT coalesce(s.cluster, o.cluster) AS cluster, s.status, s.last_event_at, s.last_error,
      s.event_count::float8 AS event_count, s.detail, r.name AS owner,
      CASE WHEN r.name IS NOT NULL AND (s.updated_at IS NULL OR s.updated_at < o.since OR s.owner <> r.name)
        THEN o.since END AS taken_unreported
    FROM cluster_status s
    FULL JOIN cluster_owners o ON o.cluster = s.cluster
    LEFT JOIN replicas r ON r.name = o.replica
      AND r.heartbeat_at > now() - make_interval(secs => ${leaseSeconds})`;
  const stored = new Map(rows.map((row) => [row.cluster, row]));
  const mine = new Map(own.map((state) => [state.name, state]));
  return configured.map((cluster): FleetClusterState => {
    const state = mine.get(cluster.name);
    if (state) return { ...state, owner: replica };
    const row = stored.get(cluster.name);
    const base = fallbackState(cluster, row);
    return { ...base, owner: cluster.enabled ? (row?.owner ?? null) : null };
  });
}

/**
 * A cluster this replica does not hold: its last written state, or an empty one; `connecting` since
 * the take when its live owner has written nothing since taking it.
 */
function fallbackState(cluster: ClusterConfig, row: StatusRow | undefined): ClusterState {
  const empty = newState(cluster, new Date(0));
  if (cluster.enabled && row?.taken_unreported)
    return { ...newState(cluster, row.taken_unreported), status: "connecting" };
  if (!cluster.enabled || !row?.detail) return empty;
  try {
    const detail = JSON.parse(row.detail) as Partial<ClusterState>;
    return { ...empty, ...detail, name: cluster.name, labels: cluster.labels };
  } catch {
    return empty;
  }
}
