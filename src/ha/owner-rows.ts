/**
 * Owner rows: who holds each cluster (`cluster_owners`) or notification sink (`sink_owners`) right now.
 * A replica takes a key only through the conditional update of docs/ha-design.md §2 (the row is free,
 * already its own, or its owner is not live), after locking the rows, so the live set the update reads
 * is current: two replicas never both get a key. It gives a key up by setting the row's replica to NULL
 * (after it stopped using it). A replica's ingest locks its clusters' rows `FOR SHARE` until it commits
 * (`src/incidents/pg/fence.ts`): a take waits for it, so the taker reads what is stored after it.
 */
import type { HaSql } from "./database.ts";

/** The owner tables and their key columns. */
export const OWNER_TABLES = {
  clusters: { table: "cluster_owners", key: "cluster" },
  sinks: { table: "sink_owners", key: "sink" },
} as const;

/** What is owned: clusters (subscriptions) or sinks (delivery loops). */
export type OwnedKind = keyof typeof OWNER_TABLES;

/** Reads and changes one owner table on behalf of one replica. */
export class OwnerRows {
  readonly #sql: HaSql;
  readonly #table: string;
  readonly #key: string;
  readonly #replica: string;
  readonly #leaseSeconds: number;

  constructor(sql: HaSql, kind: OwnedKind, replica: string, leaseSeconds: number) {
    this.#sql = sql;
    this.#table = OWNER_TABLES[kind].table;
    this.#key = OWNER_TABLES[kind].key;
    this.#replica = replica;
    this.#leaseSeconds = leaseSeconds;
  }

  /**
   * Takes those of `keys` that are free, already this replica's, or held by a replica that is not live;
   * returns the keys taken (rows are created free for keys never seen).
   *
   * @example
   * ```ts
   * const taken = await rows.take(["prod-east", "prod-west"]); // Set { "prod-east" } when prod-west is held
   * ```
   */
  async take(keys: readonly string[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const table = this.#sql(this.#table);
    const key = this.#sql(this.#key);
    const sorted = [...keys].sort();
    await this.#sql`
      INSERT INTO ${table} (${key}, replica) SELECT unnest(${sorted}::text[]), NULL
      ON CONFLICT DO NOTHING`;
    const rows = await this.#sql.begin(async (tx) => {
      // Lock first (in key order: no deadlock), so the update's statement sees every commit before it.
      await tx`SELECT 1 FROM ${table} WHERE ${key} = ANY(${sorted}::text[]) ORDER BY ${key} FOR UPDATE`;
      return tx<Array<{ key: string }>>`
        UPDATE ${table} SET replica = ${this.#replica}, since = now()
        WHERE ${key} = ANY(${sorted}::text[])
          AND (replica IS NULL OR replica = ${this.#replica} OR replica NOT IN (
            SELECT name FROM replicas WHERE heartbeat_at > now() - make_interval(secs => ${this.#leaseSeconds})))
        RETURNING ${key} AS key`;
    });
    return new Set(rows.map((r) => r.key));
  }

  /**
   * Gives up `keys` (only rows this replica holds): their replica becomes NULL. The rows are locked in
   * key order first, as {@link take} and an ingest's fence (`src/incidents/pg/fence.ts`) lock them, so
   * a release waits for this replica's ingest in flight instead of deadlocking with it.
   */
  async release(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const table = this.#sql(this.#table);
    const key = this.#sql(this.#key);
    await this.#sql`
      UPDATE ${table} SET replica = NULL, since = now()
      WHERE ${key} IN (
        SELECT ${key} FROM ${table} WHERE ${key} = ANY(${[...keys]}::text[]) AND replica = ${this.#replica}
        ORDER BY ${key} FOR UPDATE)`;
  }

  /** The keys whose row names this replica. */
  async mine(): Promise<Set<string>> {
    const rows = await this.#sql<Array<{ key: string }>>`
      SELECT ${this.#sql(this.#key)} AS key FROM ${this.#sql(this.#table)} WHERE replica = ${this.#replica}`;
    return new Set(rows.map((r) => r.key));
  }

  /** Every row's owner, null where free or where the owner is not live. */
  async owners(): Promise<Map<string, string | null>> {
    const rows = await this.#sql<Array<{ key: string; owner: string | null }>>`
      SELECT o.${this.#sql(this.#key)} AS key, r.name AS owner
      FROM ${this.#sql(this.#table)} o
      LEFT JOIN replicas r ON r.name = o.replica
        AND r.heartbeat_at > now() - make_interval(secs => ${this.#leaseSeconds})`;
    return new Map(rows.map((r) => [r.key, r.owner]));
  }
}
