/**
 * Which incident store the config asks for, and opening it: embedded SQLite in `state_dir` (the
 * default), or PostgreSQL when `store.postgres` is set (shared by replicas; this replica named by
 * `ha.replica`). `faultline run` (through `state.ts`) and the CLI's `incidents` commands open the store
 * here, so they always read the same backend.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { FaultlineConfig } from "../config/types.ts";
import { redactUrl } from "../runtime/redact.ts";
import { DB_FILE } from "./open.ts";
import type { IncidentStoreOptions } from "./settings.ts";
import { SqliteStore } from "./store.ts";
import type { IncidentStore, StoreBackend } from "./store-api.ts";

/** The parts of the config that choose and open the store. */
export type StoreChoice = Pick<
  FaultlineConfig,
  "store" | "state_dir" | "ha" | "dedup_window_seconds" | "agent"
>;

/** `postgres` when `store.postgres` is set, else `sqlite`. */
export function storeBackendOf(config: Pick<FaultlineConfig, "store">): StoreBackend {
  return config.store.postgres ? "postgres" : "sqlite";
}

/**
 * Where the configured store lives, safe to show: the SQLite file's path, or the database URL with its
 * credentials replaced by `***`.
 */
export function storeLocationOf(config: Pick<FaultlineConfig, "store" | "state_dir">): string {
  const pg = config.store.postgres;
  return pg ? redactUrl(pg.url) : join(config.state_dir, DB_FILE);
}

/**
 * False when the configured store certainly holds nothing yet (a SQLite file faultline has not created);
 * a database server is always asked.
 */
export function storeMayHoldData(config: Pick<FaultlineConfig, "store" | "state_dir">): boolean {
  return storeBackendOf(config) === "postgres" || existsSync(join(config.state_dir, DB_FILE));
}

/** Options {@link openConfiguredStore} adds to the config's. */
export interface OpenStoreExtra extends IncidentStoreOptions {
  /**
   * PostgreSQL: ingest stores only clusters this replica holds (`pg/fence.ts`); `faultline run` sets it,
   * the CLI's read-only commands do not. SQLite (one process, no ownership) ignores it.
   */
  ownedClustersOnly?: boolean;
}

/**
 * Opens the store `config` asks for with its dedup window and queue bound (`extra` may add or override
 * options, e.g. a clock). Throws `StoreError` (a PostgreSQL URL redacted) when it cannot.
 *
 * @example
 * ```ts
 * const store = await openConfiguredStore(config);
 * ```
 */
export async function openConfiguredStore(
  config: StoreChoice,
  extra: OpenStoreExtra = {},
): Promise<IncidentStore> {
  const { ownedClustersOnly, ...rest } = extra;
  const options: IncidentStoreOptions = {
    dedupWindowSeconds: config.dedup_window_seconds,
    maxQueue: config.agent?.max_queue,
    ...rest,
  };
  const pg = config.store.postgres;
  if (pg) {
    // Loaded only when asked for: the client and the PostgreSQL store cost ~70 ms of start-up.
    const { PostgresStore } = await import("./pg/store.ts");
    return PostgresStore.open({
      ...options,
      url: pg.url,
      maxConnections: pg.max_connections,
      replica: config.ha.replica,
      ownedClustersOnly: ownedClustersOnly ?? false,
      // A replica stalled longer than its lease mid-ingest holds no owner row past it (pg/fence.ts).
      ...(ownedClustersOnly ? { idleInTransactionMs: config.ha.lease_seconds * 1000 } : {}),
    });
  }
  return SqliteStore.open(config.state_dir, options);
}
