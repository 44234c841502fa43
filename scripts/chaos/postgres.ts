/**
 * The PostgreSQL side of replica mode: a throw-away server (tests/helpers/postgres.ts: Debian's server
 * binaries, initdb in a temp dir, a free loopback port), one database the replicas share, the store's
 * unfinished incidents while the run settles, and a snapshot of what the analysis counts (`store.json` in
 * the run directory), taken before the server is stopped so that `--analyze DIR` can count the run again.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { type PostgresServer, startPostgres } from "../../tests/helpers/postgres.ts";
import { RUN_FILES } from "./ledger.ts";
import type { StoreSnapshot } from "./load.ts";

/** The database the replicas share. */
const DATABASE = "chaos";

/** A running server with the replicas' database. */
export interface ChaosDatabase {
  /** The replicas' `store.postgres.url` (holds the password: never printed). */
  url: string;
  /** Incidents still queued or running. */
  unfinished(): Promise<number>;
  /**
   * Writes `store.json` into `dir` (incidents, runs, incidents with several events), and every
   * incident, event and run row as `store-rows.json` (to read when a count needs explaining).
   */
  snapshot(dir: string): Promise<StoreSnapshot>;
  /** Stops the server and removes its files. */
  stop(): Promise<void>;
}

/**
 * Starts the server and creates the database.
 *
 * @example
 * ```ts
 * const db = await startChaosDatabase();
 * try { … replicas with store.postgres.url = db.url … await db.snapshot(dir); } finally { await db.stop(); }
 * ```
 */
export async function startChaosDatabase(): Promise<ChaosDatabase> {
  const server: PostgresServer = await startPostgres({ settings: { max_connections: "200" } });
  const url = server.url.replace(/\/postgres$/, `/${DATABASE}`);
  let sql: postgres.Sql | null = null;
  try {
    const admin = postgres(server.url, { max: 1, onnotice: () => {} });
    await admin.unsafe(`CREATE DATABASE ${DATABASE}`);
    await admin.end();
    sql = postgres(url, { max: 2, onnotice: () => {} });
  } catch (error) {
    await server.stop();
    throw error;
  }
  const db = sql;
  /** Whether the store's tables exist yet (the first replica creates them). */
  const ready = async (): Promise<boolean> => {
    const [row] = await db<Array<{ t: string | null }>>`SELECT to_regclass('incidents')::text AS t`;
    return row?.t !== null && row?.t !== undefined;
  };
  return {
    url,
    async unfinished() {
      if (!(await ready())) return 0;
      const [row] = await db<Array<{ n: number }>>`
        SELECT count(*)::int AS n FROM incidents WHERE status IN ('queued', 'running')`;
      return row?.n ?? 0;
    },
    async snapshot(dir) {
      const snapshot: StoreSnapshot = { incidents: [], runs: [], multi_event_incidents: [] };
      if (await ready()) {
        snapshot.incidents = [
          ...(await db<StoreSnapshot["incidents"]>`
            SELECT seq::int AS seq, id, cluster, resource::jsonb->>'name' AS name, status
            FROM incidents ORDER BY seq`),
        ];
        snapshot.runs = [
          ...(await db<StoreSnapshot["runs"]>`
            SELECT incident_seq::int AS incident_seq, status, started_ms::float8 AS started_ms,
              finished_ms::float8 AS finished_ms, replica
            FROM runs ORDER BY id`),
        ];
        snapshot.multi_event_incidents = [
          ...(await db<StoreSnapshot["multi_event_incidents"]>`
            SELECT incident_seq::int AS incident_seq, count(*)::int AS events
            FROM events GROUP BY incident_seq HAVING count(*) > 1 ORDER BY incident_seq`),
        ];
      }
      writeFileSync(join(dir, RUN_FILES.store), `${JSON.stringify(snapshot)}\n`);
      if (await ready())
        writeFileSync(join(dir, RUN_FILES.storeRows), `${JSON.stringify(await allRows(db))}\n`);
      return snapshot;
    },
    async stop() {
      await db.end({ timeout: 2 });
      await server.stop();
    },
  };
}

/** Every incident, event (its JSON parsed) and run row, in id order. */
async function allRows(db: postgres.Sql): Promise<Record<string, unknown[]>> {
  const incidents = await db`SELECT * FROM incidents ORDER BY seq`;
  const events = await db<Array<{ event: string }>>`SELECT * FROM events ORDER BY id`;
  const runs = await db`SELECT * FROM runs ORDER BY id`;
  return {
    incidents: [...incidents],
    events: events.map((row) => ({ ...row, event: JSON.parse(row.event) as unknown })),
    runs: [...runs],
  };
}
