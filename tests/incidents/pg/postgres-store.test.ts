/**
 * The PostgreSQL store beyond the shared contract, against a real throw-away server: a planted password
 * never shows in an error or a log line (wrong password, unreachable server, a good open); the config's
 * `store.postgres` selects it for `faultline run` (`ownState`, replica = `ha.replica`, ingest fenced by the
 * replica's owner rows) and for
 * `faultline incidents` / `incidents show`; `faultline check` shows the URL redacted; the schema's
 * CHECK lists are the model's. Skipped, saying why, where the PostgreSQL binaries are missing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { checkCommand } from "../../../src/cli/check.ts";
import { incidentsCommand } from "../../../src/cli/incidents.ts";
import { loadConfig } from "../../../src/config/load.ts";
import { migrateHa, openHaDatabase } from "../../../src/ha/database.ts";
import { OwnerRows } from "../../../src/ha/owner-rows.ts";
import { openConfiguredStore, storeBackendOf } from "../../../src/incidents/backend.ts";
import {
  INCIDENT_SKIP_REASONS,
  INCIDENT_STATUSES,
  NotOwnerError,
  RUN_STATUSES,
  StoreError,
} from "../../../src/incidents/model.ts";
import { PG_MIGRATIONS } from "../../../src/incidents/pg/schema.ts";
import { PostgresStore } from "../../../src/incidents/pg/store.ts";
import { ownState } from "../../../src/incidents/state.ts";
import { setLogSink } from "../../../src/log.ts";
import { freePort, type PostgresServer, postgresAvailable, startPostgres } from "../../helpers/postgres.ts";
import { tempDir, writeFile, writeKubeconfig } from "../../helpers/tmp.ts";
import { claim, eventAt, item } from "../contract/fixtures.ts";

const PLANTED = "Planted-Pw-7f3a9c";

/** A command's captured output. */
interface Captured {
  out: string;
  err: string;
}

/**
 * Runs a CLI command with `$TEST_DATABASE_URL` set to `url` (restored afterwards); its exit code and
 * what it printed.
 */
async function runWithDatabaseUrl(
  url: string,
  command: (io: { stdout: (s: string) => void; stderr: (s: string) => void }) => Promise<number> | number,
): Promise<Captured & { code: number }> {
  const captured: Captured = { out: "", err: "" };
  const io = {
    stdout: (s: string) => {
      captured.out += s;
    },
    stderr: (s: string) => {
      captured.err += s;
    },
  };
  const previous = process.env.TEST_DATABASE_URL;
  process.env.TEST_DATABASE_URL = url;
  try {
    return { code: await command(io), ...captured };
  } finally {
    if (previous === undefined) delete process.env.TEST_DATABASE_URL;
    else process.env.TEST_DATABASE_URL = previous;
  }
}

/** Runs `work` with every log line captured; the lines. */
async function captureLogs(work: () => Promise<unknown>): Promise<string[]> {
  const lines: string[] = [];
  const restore = setLogSink((line) => lines.push(line));
  try {
    await work();
  } catch {
    // the caller checks the error itself
  } finally {
    setLogSink(restore);
  }
  return lines;
}

async function openError(url: string): Promise<StoreError> {
  try {
    const store = await PostgresStore.open({ url, replica: "r" });
    await store.close();
  } catch (error) {
    if (error instanceof StoreError) return error;
    throw error;
  }
  throw new Error("the store opened");
}

describe.skipIf(!postgresAvailable("postgres store"))("PostgreSQL store", () => {
  let pg: PostgresServer;
  let dir: { path: string; cleanup: () => void };

  beforeAll(async () => {
    pg = await startPostgres();
    dir = tempDir("faultline-pg-store-");
    writeKubeconfig(dir.path, "kubeconfig");
  }, 120_000);

  afterAll(async () => {
    await pg?.stop();
    dir?.cleanup();
  });

  /** `pg.url` with `password` instead of the real one. */
  function urlWith(password: string, port = pg.port): string {
    return `postgres://${pg.user}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  }

  test("a wrong password: a StoreError naming the redacted URL and why, never the password", async () => {
    let error: StoreError | undefined;
    const lines = await captureLogs(async () => {
      error = await openError(urlWith(PLANTED));
    });
    expect(error?.message).toContain(`incident store postgres://***:***@127.0.0.1:${pg.port}/postgres`);
    expect(error?.message).toContain("authentication failed (28P01)");
    expect(error?.path).toBe(`postgres://***:***@127.0.0.1:${pg.port}/postgres`);
    for (const text of [error?.message ?? "", error?.stack ?? "", String(error?.cause), ...lines]) {
      expect(text).not.toContain(PLANTED);
    }
  });

  test("an unreachable server: connection refused, the password nowhere", async () => {
    const port = await freePort();
    let error: StoreError | undefined;
    const lines = await captureLogs(async () => {
      error = await openError(urlWith(PLANTED, port));
    });
    expect(error?.message).toContain(`postgres://***:***@127.0.0.1:${port}/postgres`);
    expect(error?.message).toContain("connection refused");
    for (const text of [error?.message ?? "", error?.stack ?? "", ...lines])
      expect(text).not.toContain(PLANTED);
  });

  test("a good open and its work log no password; the store's location is redacted", async () => {
    let location = "";
    const lines = await captureLogs(async () => {
      const store = await PostgresStore.open({ url: pg.url, replica: "r-logs" });
      location = store.location;
      await store.ingest([item(eventAt(0))]);
      await store.recoverInterrupted({ retry: true, maxAttempts: 2 });
      await store.close();
    });
    expect(location).toBe(`postgres://***:***@127.0.0.1:${pg.port}/postgres`);
    for (const line of lines) expect(line).not.toContain(pg.password);
  });

  /** A config whose store is `$TEST_DATABASE_URL`, replica `faultline-7`. */
  function writeConfig(name: string): string {
    return writeFile(
      dir.path,
      name,
      `state_dir: ./state-${name}
clusters:
  - name: default
    mcp_endpoint: http://127.0.0.1:9/mcp
    kubeconfig: ./kubeconfig
store:
  postgres:
    url: \${TEST_DATABASE_URL}
    max_connections: 3
ha:
  replica: faultline-7
`,
    );
  }

  test("store.postgres selects PostgreSQL for `faultline run` (ownState), with ha.replica on its runs", async () => {
    const file = writeConfig("run.yaml");
    const config = loadConfig(file, { TEST_DATABASE_URL: pg.url });
    expect(storeBackendOf(config)).toBe("postgres");
    const { store, lock, adopted } = await ownState(config);
    try {
      expect(store.backend).toBe("postgres");
      expect(store.location).not.toContain(pg.password);
      expect(adopted).toEqual([]);
      // A replica stores only the clusters it holds (src/incidents/pg/fence.ts): prod-eu once it is its own.
      const event = eventAt(0, { fault_id: "selected" });
      const ha = openHaDatabase(pg.url);
      try {
        await migrateHa(ha);
        const refused = await Promise.resolve(store.ingest([item(event)])).catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(NotOwnerError);
        await new OwnerRows(ha, "clusters", "faultline-7", 15).take([event.cluster]);
      } finally {
        await ha.end({ timeout: 5 });
      }
      await store.ingest([item(event)]);
      const claimed = await claim(store);
      const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
      try {
        const rows = await sql`SELECT replica FROM runs WHERE id = ${claimed.run.id}`;
        expect(rows.map((r) => r.replica)).toEqual(["faultline-7"]);
      } finally {
        await sql.end({ timeout: 5 });
      }
      expect((await store.openRuns()).map((r) => r.run_id)).toContain(claimed.run.id);
      const other = await openConfiguredStore({ ...config, ha: { ...config.ha, replica: "someone-else" } });
      try {
        expect((await other.openRuns()).map((r) => r.run_id)).not.toContain(claimed.run.id);
      } finally {
        await other.close();
      }
    } finally {
      await store.close();
      lock.release();
    }
  });

  test("`faultline incidents` and `incidents show` read the configured PostgreSQL store", async () => {
    const file = writeConfig("cli.yaml");
    const store = await PostgresStore.open({ url: pg.url, replica: "writer" });
    const [result] = await store.ingest([item(eventAt(5, { cluster: "default", fault_id: "cli-fault" }))]);
    await store.close();
    const id = result?.incident.id ?? "";
    const list = await runWithDatabaseUrl(pg.url, (io) =>
      incidentsCommand(["--config", file, "--json", "--cluster", "default"], io),
    );
    expect(list.code).toBe(0);
    expect((JSON.parse(list.out) as { incidents: { id: string }[] }).incidents.map((i) => i.id)).toContain(
      id,
    );
    const show = await runWithDatabaseUrl(pg.url, (io) =>
      incidentsCommand(["show", id, "--config", file, "--json"], io),
    );
    expect(show.code).toBe(0);
    expect((JSON.parse(show.out) as { incident: { fault_id: string } }).incident.fault_id).toBe("cli-fault");
    const unknown = await runWithDatabaseUrl(pg.url, (io) =>
      incidentsCommand(["show", "no-such-incident", "--config", file], io),
    );
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain(
      `no incident "no-such-incident" in postgres://***:***@127.0.0.1:${pg.port}/postgres`,
    );
    const refused = await runWithDatabaseUrl(urlWith(PLANTED), (io) =>
      incidentsCommand(["--config", file], io),
    );
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("authentication failed");
    expect(refused.err + refused.out).not.toContain(PLANTED);
  });

  test("`faultline check` shows the store's URL with its credentials replaced", async () => {
    const file = writeConfig("check.yaml");
    const url = `postgres://bot:${PLANTED}@db.example:5432/faultline?sslmode=require`;
    const { code, out, err } = await runWithDatabaseUrl(url, (io) => checkCommand(["--config", file], io));
    expect(code).toBe(0);
    expect(err).toBe("");
    expect(out).toContain("store: PostgreSQL at postgres://***:***@db.example:5432/faultline?sslmode=***");
    expect(out).not.toContain(PLANTED);
  });

  test("shared liveness: a replica's late report never overwrites the newer session another replica recorded; the same session may go back", async () => {
    const admin = postgres(pg.url, { max: 1, onnotice: () => {} });
    await admin.unsafe("CREATE DATABASE liveness_shared");
    await admin.end();
    const url = pg.url.replace(/\/postgres$/, "/liveness_shared");
    const releaser = await PostgresStore.open({ url, replica: "r0" });
    const taker = await PostgresStore.open({ url, replica: "r1" });
    try {
      await releaser.maintenance.recordLiveness([{ cluster: "c", last_alive_ms: 1000, session_id: "s-r0" }]);
      // r1 took the cluster over (a new session, later); r0's last report (closed cleanly) comes after it.
      await taker.maintenance.recordLiveness([{ cluster: "c", last_alive_ms: 3000, session_id: "s-r1" }]);
      await releaser.maintenance.recordLiveness([{ cluster: "c", last_alive_ms: 2000, session_id: null }]);
      expect(await taker.maintenance.liveness()).toEqual([
        { cluster: "c", last_alive_ms: 3000, session_id: "s-r1" },
      ]);
      await taker.maintenance.recordLiveness([{ cluster: "c", last_alive_ms: 4000, session_id: "s-r1" }]);
      expect((await releaser.maintenance.liveness())[0]?.last_alive_ms).toBe(4000);
      // The same session may go back (its connection holds its liveness at a gap it still owes a backfill
      // of); another session's older report still may not.
      await taker.maintenance.recordLiveness([{ cluster: "c", last_alive_ms: 3500, session_id: "s-r1" }]);
      await releaser.maintenance.recordLiveness([{ cluster: "c", last_alive_ms: 3400, session_id: "s-r0" }]);
      expect(await releaser.maintenance.liveness()).toEqual([
        { cluster: "c", last_alive_ms: 3500, session_id: "s-r1" },
      ]);
    } finally {
      await releaser.close();
      await taker.close();
    }
  });

  test("the schema's CHECK lists are the model's", () => {
    const schema = PG_MIGRATIONS.join("\n");
    const quoted = (values: readonly string[]) => values.map((v) => `'${v}'`).join(", ");
    expect(schema).toContain(`status IN (${quoted(INCIDENT_STATUSES)})`);
    expect(schema).toContain(`skip_reason IN (${quoted(INCIDENT_SKIP_REASONS)})`);
    expect(schema).toContain(`status IN (${quoted(RUN_STATUSES)})`);
  });
});
