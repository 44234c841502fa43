/**
 * The coordination layer's own PostgreSQL client and tables, beside (not inside) the incident store:
 * at most 2 connections, so a heartbeat never queues behind ingest, and a forward-only migration list
 * recorded in `ha_schema_migrations`, applied under a transaction-scoped advisory lock so replicas
 * starting together migrate once.
 *
 * Tables (docs/ha-design.md §2 and §5):
 * - `replicas(name PK, heartbeat_at, started_at, url, version)`: one row per replica, its heartbeat.
 * - `cluster_owners(cluster PK, replica NULL, since)` and `sink_owners(sink PK, replica NULL, since)`:
 *   who holds each cluster's subscription and each notification sink's delivery loop.
 * - `cluster_status(cluster PK, owner, status, last_event_at, last_error, event_count, detail, updated_at)`:
 *   each owner's view of its clusters, for `/health/clusters` from any replica.
 */
import postgres from "postgres";
import { errorMessage } from "../log.ts";
import { redactUrl } from "../runtime/redact.ts";

/** The coordination client (the `postgres` package's tagged-template SQL function). */
export type HaSql = postgres.Sql;

/** Connections the coordination client opens at most. */
export const HA_MAX_CONNECTIONS = 2;

/** Key of the advisory lock migrations run under (any constant shared by every replica). */
const MIGRATION_LOCK = 0x6661_756c; // "faul"

/** The migrations, in order; the version of each is its index + 1. Append only. */
export const HA_MIGRATIONS: readonly string[] = [
  `CREATE TABLE replicas (
     name text PRIMARY KEY,
     heartbeat_at timestamptz NOT NULL,
     started_at timestamptz NOT NULL,
     url text,
     version text NOT NULL
   );
   CREATE TABLE cluster_owners (cluster text PRIMARY KEY, replica text, since timestamptz NOT NULL DEFAULT now());
   CREATE INDEX cluster_owners_replica ON cluster_owners (replica);
   CREATE TABLE sink_owners (sink text PRIMARY KEY, replica text, since timestamptz NOT NULL DEFAULT now());
   CREATE TABLE cluster_status (
     cluster text PRIMARY KEY,
     owner text,
     status text NOT NULL,
     last_event_at text,
     last_error text,
     event_count bigint NOT NULL DEFAULT 0,
     detail text NOT NULL DEFAULT '{}',
     updated_at timestamptz NOT NULL DEFAULT now()
   );`,
];

/** The version a fully migrated coordination schema has. */
export const HA_SCHEMA_VERSION = HA_MIGRATIONS.length;

/**
 * Opens the coordination client on `url` (no connection is made until the first query).
 *
 * @example
 * ```ts
 * const sql = openHaDatabase(config.store.postgres.url);
 * await migrateHa(sql);
 * ```
 */
export function openHaDatabase(url: string, max = HA_MAX_CONNECTIONS): HaSql {
  return postgres(url, {
    max,
    onnotice: () => {},
    connect_timeout: 5,
    idle_timeout: 0,
    transform: { undefined: null },
    connection: { application_name: "faultline-ha" },
  });
}

/**
 * Applies the migrations this database lacks, under an advisory lock, in one transaction; returns the
 * version now. Throws with the URL's credentials redacted.
 */
export async function migrateHa(sql: HaSql, url = ""): Promise<number> {
  try {
    return await sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
      await tx`CREATE TABLE IF NOT EXISTS ha_schema_migrations (
        version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`;
      const [row] = await tx<Array<{ version: number | null }>>`
        SELECT max(version)::int AS version FROM ha_schema_migrations`;
      const current = row?.version ?? 0;
      for (let version = current + 1; version <= HA_MIGRATIONS.length; version++) {
        await tx.unsafe(HA_MIGRATIONS[version - 1] ?? "");
        await tx`INSERT INTO ha_schema_migrations (version) VALUES (${version})`;
      }
      return HA_MIGRATIONS.length;
    });
  } catch (error) {
    const where = url ? ` on ${redactUrl(url)}` : "";
    throw new Error(`cannot prepare the replica tables${where}: ${errorMessage(error)}`);
  }
}
