/**
 * The fencing token of a replica's ingest: the owner rows of the coordination layer (`cluster_owners`,
 * src/ha/owner-rows.ts, migrated by src/ha/database.ts in the same database), checked and locked in the
 * ingest's own transaction.
 *
 * A batch is stored only while every one of its clusters' owner rows names this replica, and those rows
 * stay locked `FOR SHARE` until the batch commits. A takeover locks the rows `FOR UPDATE` before its
 * conditional update, so it waits for every ingest of the old owner already past this check, and the
 * taker reads what is stored (`seen`, for its backfill) only after its own takeover committed: it finds
 * those events and does not list them again. An ingest that starts after the takeover finds the row
 * naming another replica and stores nothing ({@link NotOwnerError}): the new owner's backfill lists those
 * events. One statement per batch; the rows are locked in cluster order, as a takeover locks them, so the
 * two never deadlock.
 */
import { NotOwnerError } from "../model.ts";
import type { PgTransaction } from "./connect.ts";

/** Whose owner rows an ingest checks, and how long its transaction may wait for its client. */
export interface IngestFence {
  /** This replica (`ha.replica`). */
  replica: string;
  /**
   * The server ends the session once the transaction waits this long for faultline (a replica stalled
   * or cut off mid-batch): the locked rows, which a takeover waits for, are held no longer. Set in the
   * same statement (`SET LOCAL`), for this transaction only: other transactions (an agent's outcome) are
   * never cut. Unset: the server's `idle_in_transaction_session_timeout`.
   */
  idleInTransactionMs?: number | undefined;
}

/**
 * Locks the owner rows of `clusters` that name `fence.replica` (`FOR SHARE`, until the transaction
 * ends); throws {@link NotOwnerError} naming the others (rows naming another replica, free, or missing).
 *
 * @example
 * ```ts
 * await sql.begin(async (tx) => {
 *   await lockOwnedClusters(tx, ["prod-east"], { replica: "faultline-0" }); // NotOwnerError once faultline-1 took it
 *   // … the batch's writes …
 * });
 * ```
 */
export async function lockOwnedClusters(
  tx: PgTransaction,
  clusters: readonly string[],
  fence: IngestFence,
): Promise<void> {
  const names = clusters as string[];
  // Unset, the setting is set to what it already is: one statement either way.
  const idle = fence.idleInTransactionMs === undefined ? null : String(Math.ceil(fence.idleInTransactionMs));
  const rows = await tx<{ cluster: string }[]>`
    SELECT o.cluster
    FROM set_config('idle_in_transaction_session_timeout',
        COALESCE(${idle}::text, current_setting('idle_in_transaction_session_timeout')), true) AS s,
      cluster_owners o
    WHERE o.cluster = ANY(${names}::text[]) AND o.replica = ${fence.replica}
    ORDER BY o.cluster FOR SHARE OF o`;
  if (rows.length === clusters.length) return;
  const held = new Set(rows.map((row) => row.cluster));
  throw new NotOwnerError(clusters.filter((cluster) => !held.has(cluster)).sort());
}

/** The distinct clusters of a batch's events. */
export function clustersOf(batch: readonly { event: { cluster: string } }[]): string[] {
  const clusters = new Set<string>();
  for (const { event } of batch) clusters.add(event.cluster);
  return [...clusters];
}
