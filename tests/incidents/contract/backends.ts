/**
 * The store contract suite's backends: each opens fresh stores of one kind (SQLite in a temp dir, or
 * PostgreSQL in a fresh database of one throw-away server per test file), so one set of cases runs
 * against both (`contractSuite`). PostgreSQL is skipped, with the harness's message, where its binaries
 * are missing.
 */
import { Database } from "bun:sqlite";
import { afterAll, afterEach, beforeAll, beforeEach, describe } from "bun:test";
import { join } from "node:path";
import postgres from "postgres";
import { DB_FILE } from "../../../src/incidents/open.ts";
import { PG_SCHEMA_VERSION } from "../../../src/incidents/pg/schema.ts";
import { PostgresStore } from "../../../src/incidents/pg/store.ts";
import { SCHEMA_VERSION } from "../../../src/incidents/schema.ts";
import type { IncidentStoreOptions } from "../../../src/incidents/settings.ts";
import { SqliteStore } from "../../../src/incidents/store.ts";
import type { IncidentStore } from "../../../src/incidents/store-api.ts";
import { type PostgresServer, postgresAvailable, startPostgres } from "../../helpers/postgres.ts";
import { tempDir } from "../../helpers/tmp.ts";

/** Options a case opens a store with: the store's, and (PostgreSQL) the replica's name. */
export type OpenOptions = IncidentStoreOptions & { replica?: string };

/** One fresh, empty store location (a temp dir, a new database) that cases open stores on. */
export interface StoreLocation {
  /** Opens another store instance on this location (a second process or replica); closed after the case. */
  open(options?: OpenOptions): Promise<IncidentStore>;
  /** The schema versions recorded as applied (SQLite: its `user_version` once), for the migration case. */
  appliedVersions(): Promise<number[]>;
}

/** A kind of store the suite runs against. */
export interface ContractBackend {
  name: "sqlite" | "postgres";
  /** Null when it can run here; else why not (the suite is skipped, saying so). */
  unavailable(): string | null;
  /** Once per file: e.g. starts the server. */
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  /** A fresh location for one case. */
  fresh(): Promise<StoreLocation & { cleanup(): Promise<void> }>;
  /** The schema version this build writes. */
  schemaVersion: number;
}

/** The backends every contract case runs against (fresh ones per `contractSuite` call: one server per file). */
function contractBackends(): ContractBackend[] {
  return [sqliteBackend(), postgresBackend()];
}

/** What a case gets: a fresh location and the first store on it. */
export interface ContractContext {
  backend: ContractBackend;
  location: StoreLocation;
  /** Opens a store on the case's location (closed after the case). */
  open(options?: OpenOptions): Promise<IncidentStore>;
}

/**
 * Defines `cases` once per backend (call it once per test file: each call starts its own server), each in its own `describe` with a fresh location per
 * case. `cases` receives a getter for the current case's context, and the backend (for a case only
 * one backend has: `test.skipIf(backend.name !== "postgres")`).
 */
export function contractSuite(
  title: string,
  cases: (ctx: () => ContractContext, backend: ContractBackend) => void,
): void {
  for (const backend of contractBackends()) {
    const why = backend.unavailable();
    if (why !== null) process.stderr.write(`${title} [${backend.name}]: skipped: ${why}\n`);
    describe.skipIf(why !== null)(`${title} [${backend.name}]`, () => {
      let current: ContractContext | undefined;
      let cleanups: (() => Promise<void>)[] = [];
      beforeAll(() => backend.setUp(), 120_000);
      afterAll(() => backend.tearDown(), 60_000);
      beforeEach(async () => {
        const location = await backend.fresh();
        cleanups = [() => location.cleanup()];
        current = {
          backend,
          location,
          open: async (options) => {
            const store = await location.open(options);
            cleanups.unshift(async () => {
              await store.close();
            });
            return store;
          },
        };
      });
      afterEach(async () => {
        for (const cleanup of cleanups) await cleanup();
        cleanups = [];
      });
      cases(() => {
        if (current === undefined) throw new Error("no contract context outside a case");
        return current;
      }, backend);
    });
  }
}

/** SQLite: a temp state_dir per case; a second store on it is a second process's. */
export function sqliteBackend(): ContractBackend {
  return {
    name: "sqlite",
    schemaVersion: SCHEMA_VERSION,
    unavailable: () => null,
    setUp: async () => {},
    tearDown: async () => {},
    async fresh() {
      const dir = tempDir("faultline-contract-");
      return {
        open: async ({ replica: _replica, ...options } = {}) => SqliteStore.open(dir.path, options),
        appliedVersions: async () => {
          const db = new Database(join(dir.path, DB_FILE), { readonly: true });
          try {
            const version =
              db.query<{ user_version: number }, []>("PRAGMA user_version").get()?.user_version ?? 0;
            return Array.from({ length: version }, (_, i) => i + 1);
          } finally {
            db.close();
          }
        },
        cleanup: async () => dir.cleanup(),
      };
    },
  };
}

/** PostgreSQL: one server per test file, a new database per case. */
export function postgresBackend(): ContractBackend {
  let server: PostgresServer | undefined;
  let admin: postgres.Sql | undefined;
  let cases = 0;
  return {
    name: "postgres",
    schemaVersion: PG_SCHEMA_VERSION,
    unavailable: () => (postgresAvailable("store contract") ? null : "PostgreSQL binaries are missing"),
    async setUp() {
      server = await startPostgres();
      admin = postgres(server.url, { max: 1, onnotice: () => {} });
    },
    async tearDown() {
      await admin?.end({ timeout: 5 });
      await server?.stop();
    },
    async fresh() {
      if (server === undefined || admin === undefined) throw new Error("postgres backend not set up");
      const name = `contract_${++cases}`;
      await admin.unsafe(`CREATE DATABASE ${name}`);
      const url = server.url.replace(/\/postgres$/, `/${name}`);
      return {
        open: (options = {}) => PostgresStore.open({ url, replica: "replica-a", ...options }),
        appliedVersions: async () => {
          const sql = postgres(url, { max: 1, onnotice: () => {} });
          try {
            const rows = await sql<
              { version: number }[]
            >`SELECT version FROM schema_migrations ORDER BY version`;
            return rows.map((row) => row.version);
          } finally {
            await sql.end({ timeout: 5 });
          }
        },
        cleanup: async () => {
          await admin?.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        },
      };
    },
  };
}
