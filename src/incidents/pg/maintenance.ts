/**
 * The PostgreSQL store's upkeep: cluster liveness (shared, so a replica taking a cluster over backfills
 * from when it was last known alive), recent events, and retention's deletes. The server reclaims its
 * own space (autovacuum), so there is no `file` member.
 */
import type { FaultEvent } from "../../events/fault.ts";
import type { ClusterLiveness } from "../model.ts";
import { PRUNABLE_STATUSES, type PrunedBatch } from "../prune.ts";
import { parseStoredEvent } from "../rows.ts";
import type { MaintenanceStore } from "../store-api.ts";
import type { PgClient } from "./connect.ts";
import type { PgRun } from "./outbox.ts";

/** Count-delta rows past which retention folds them into one row per key. */
const COMPACT_DELTAS_OVER = 10_000;

/** Liveness, recent events and retention on one PostgreSQL store; see `store.maintenance`. */
export class PgMaintenance implements MaintenanceStore {
  readonly #run: PgRun;

  /** Built by the store over its client and error handling. */
  constructor(run: PgRun) {
    this.#run = run;
  }

  /**
   * Records when clusters were last known alive and their session ids (one statement). Shared by the
   * replicas, so a report never overwrites a newer one: a replica that released (or was fenced from) a
   * cluster may write its last report after the taker wrote its new session, and that session must stay
   * recorded, or a taker after the next crash would not end it (replicas' clocks are assumed within
   * a second of each other, as for the lease). A report of the session already recorded may go back:
   * its own connection holds its liveness back to the start of a gap it still owes a backfill of (see
   * `Feed.owedSince`), and a taker must resume from there, as on SQLite.
   */
  async recordLiveness(reports: readonly ClusterLiveness[]): Promise<void> {
    if (reports.length === 0) return;
    // One row per cluster in a statement (the last report of a cluster wins), in cluster order.
    const last = new Map(reports.map((r) => [r.cluster, r]));
    const rows = [...last.values()].sort((a, b) =>
      a.cluster < b.cluster ? -1 : a.cluster > b.cluster ? 1 : 0,
    );
    await this.#run(
      "record cluster liveness",
      (sql) => sql`
      INSERT INTO cluster_liveness (cluster, last_alive_ms, session_id)
      SELECT * FROM unnest(${rows.map((r) => r.cluster)}::text[], ${rows.map((r) => r.last_alive_ms)}::int8[],
        ${rows.map((r) => r.session_id)}::text[])
      ON CONFLICT (cluster) DO UPDATE SET last_alive_ms = excluded.last_alive_ms, session_id = excluded.session_id
      WHERE cluster_liveness.last_alive_ms <= excluded.last_alive_ms
        OR cluster_liveness.session_id = excluded.session_id`,
    );
  }

  /** Every cluster's last recorded liveness. */
  liveness(): Promise<ClusterLiveness[]> {
    return this.#run(
      "read cluster liveness",
      (sql) =>
        sql<
          ClusterLiveness[]
        >`SELECT cluster, last_alive_ms, session_id FROM cluster_liveness ORDER BY cluster`,
    );
  }

  /** The newest event of each of `cluster`'s incidents received at or after `sinceMs`: at most `limit`, newest first. */
  recentEvents(cluster: string, sinceMs: number, limit: number): Promise<FaultEvent[]> {
    return this.#run("read recent events", async (sql) => {
      const rows = await sql<{ event: string }[]>`
        SELECT e.event FROM incidents AS i
        JOIN events AS e ON e.id = (SELECT max(id) FROM events WHERE incident_seq = i.seq)
        WHERE i.cluster = ${cluster} AND i.last_seen_ms >= ${sinceMs} AND e.received_ms >= ${sinceMs}
        ORDER BY e.id DESC LIMIT ${limit}`;
      return rows.map((row) => parseStoredEvent(row.event));
    });
  }

  /**
   * Retention: deletes up to `limit` finished incidents last active before `cutoff`, with their events,
   * runs (and outputs), notifications (a message is shared only by the sinks of one change, so of one
   * incident) and fault heads, in one transaction. The heads are locked first
   * (as ingest locks them), and each incident is checked again under its lock, so a repeat joining an
   * old incident at that moment keeps it.
   */
  pruneFinished(cutoff: Date, limit: number): Promise<PrunedBatch> {
    const cutoffMs = cutoff.getTime();
    const prunable = [...PRUNABLE_STATUSES];
    return this.#run("delete old incidents", (sql) =>
      sql.begin(async (tx) => {
        const candidates = await tx<{ seq: number }[]>`
          SELECT seq FROM incidents
          WHERE status = ANY(${prunable}::text[]) AND updated_ms < ${cutoffMs} AND last_seen_ms < ${cutoffMs}
          ORDER BY updated_ms LIMIT ${limit}`;
        if (candidates.length === 0) return { ids: [], events: 0, runs: 0 };
        const seqs = candidates.map((c) => c.seq);
        await tx`SELECT 1 FROM fault_heads WHERE incident_seq = ANY(${seqs}::int8[])
          ORDER BY cluster COLLATE "C", fault_id COLLATE "C" FOR UPDATE`;
        const doomed = await tx<{ seq: number; id: string }[]>`
          SELECT seq, id FROM incidents
          WHERE seq = ANY(${seqs}::int8[]) AND status = ANY(${prunable}::text[])
            AND updated_ms < ${cutoffMs} AND last_seen_ms < ${cutoffMs}
          FOR UPDATE`;
        const gone = doomed.map((d) => d.seq);
        if (gone.length === 0) return { ids: [], events: 0, runs: 0 };
        await tx`DELETE FROM fault_heads WHERE incident_seq = ANY(${gone}::int8[])`;
        const events = await tx`DELETE FROM events WHERE incident_seq = ANY(${gone}::int8[])`;
        await tx`DELETE FROM run_outputs WHERE run_id IN (SELECT id FROM runs WHERE incident_seq = ANY(${gone}::int8[]))`;
        const runs = await tx`DELETE FROM runs WHERE incident_seq = ANY(${gone}::int8[])`;
        await tx`
          WITH gone AS (DELETE FROM notifications WHERE incident_seq = ANY(${gone}::int8[]) RETURNING message_id)
          DELETE FROM notification_messages WHERE id IN (SELECT message_id FROM gone)`;
        await tx`DELETE FROM incidents WHERE seq = ANY(${gone}::int8[])`;
        await compactCountDeltas(tx);
        return { ids: doomed.map((d) => d.id), events: events.count, runs: runs.count };
      }),
    );
  }
}

/**
 * Folds the count deltas into one row per (cluster, status, reason) when they have grown past
 * {@link COMPACT_DELTAS_OVER}: rows appended meanwhile by other transactions are not in this statement's
 * snapshot and stay as they are, so nothing is counted twice or lost.
 */
export async function compactCountDeltas(sql: Pick<PgClient, "unsafe">, force = false): Promise<void> {
  await sql.unsafe(
    `WITH size AS (SELECT count(*) AS n FROM incident_count_deltas),
     gone AS (DELETE FROM incident_count_deltas WHERE $1 OR (SELECT n FROM size) > $2
       RETURNING cluster, status, skip_reason, n)
     INSERT INTO incident_count_deltas (cluster, status, skip_reason, n)
     SELECT cluster, status, skip_reason, sum(n) FROM gone GROUP BY 1, 2, 3 HAVING sum(n) <> 0`,
    [force, COMPACT_DELTAS_OVER],
  );
}
