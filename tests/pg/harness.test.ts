/**
 * The throw-away PostgreSQL of tests/helpers/postgres.ts, proved against a real server: it starts as an
 * unprivileged user on 127.0.0.1 only, the npm `postgres` client connects under Bun and under Deno, rows are
 * written and read, `FOR UPDATE SKIP LOCKED` hands concurrent claimers disjoint rows (the dispatch claim of
 * issue 15, docs/ha-design.md), and stopping ends the postmaster by PID and removes its temp dir.
 * Skipped, saying why, where Debian's postgresql package is not installed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { runtimeBinary } from "../../scripts/runtime.ts";
import { findPostgres, type PostgresServer, postgresAvailable, startPostgres } from "../helpers/postgres.ts";
import { tempDir } from "../helpers/tmp.ts";

const ROOT = join(import.meta.dir, "..", "..");

test("findPostgres says what is missing and how to get it", () => {
  const empty = tempDir();
  try {
    const found = findPostgres(empty.path, "");
    expect(found.bin).toBeUndefined();
    expect(found.missing).toContain(
      `no PostgreSQL server binaries (initdb, postgres, pg_isready) under ${empty.path}`,
    );
    expect(found.missing).toContain("apt-get install postgresql");
    expect(findPostgres(empty.path, empty.path).missing).toContain("has no initdb, postgres, pg_isready");
  } finally {
    empty.cleanup();
  }
});

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The real user id a process runs as (`/proc/<pid>/status`). */
function uidOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("Uid:"));
  return Number(line?.split(/\s+/)[1]);
}

/** Runs tests/pg/deno-claim.ts under Deno against `url`; resolves with its JSON answer. */
function denoClaim(url: string): Promise<{ runtime: string; claimed: number[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      runtimeBinary("deno"),
      ["run", "-A", "--no-lock", join("tests", "pg", "deno-claim.ts")],
      {
        cwd: ROOT,
        env: { ...process.env, FAULTLINE_TEST_PG_URL: url, NO_COLOR: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.once("error", reject);
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`deno-claim.ts exited ${code}: ${stderr}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

describe.skipIf(!postgresAvailable("tests/pg/harness"))("a throw-away PostgreSQL server", () => {
  let pg: PostgresServer;
  let sql: postgres.Sql;

  beforeAll(async () => {
    pg = await startPostgres();
    sql = postgres(pg.url, { max: 8, onnotice: () => {} });
  });
  afterAll(async () => {
    await sql?.end({ timeout: 5 });
    await pg?.stop();
  });

  async function freshJobs(count: number): Promise<void> {
    await sql`DROP TABLE IF EXISTS jobs`;
    await sql`CREATE TABLE jobs (id integer PRIMARY KEY, claimed_by text)`;
    await sql`INSERT INTO jobs ${sql(Array.from({ length: count }, (_, i) => ({ id: i + 1, claimed_by: null })))}`;
  }

  test("listens on 127.0.0.1 only, as an unprivileged user, with password authentication", async () => {
    const [row] = await sql<{ listen: string; addr: string; version: string }[]>`
      SELECT current_setting('listen_addresses') AS listen, host(inet_server_addr()) AS addr, version() AS version`;
    expect(row?.listen).toBe("127.0.0.1");
    expect(row?.addr).toBe("127.0.0.1");
    expect(row?.version).toContain(`PostgreSQL ${pg.major}`);
    expect(uidOf(pg.pid)).not.toBe(0);
    const wrong = postgres(pg.url.replace(encodeURIComponent(pg.password), "wrong"), {
      max: 1,
      onnotice: () => {},
    });
    await expect(wrong`SELECT 1`).rejects.toThrow(/password authentication failed/);
    await wrong.end({ timeout: 1 });
  });

  test("creates a table, inserts and selects", async () => {
    await sql`CREATE TABLE notes (id serial PRIMARY KEY, cluster text NOT NULL, body jsonb NOT NULL)`;
    await sql`INSERT INTO notes ${sql([
      { cluster: "prod-east", body: sql.json({ reason: "CrashLoopBackOff" }) },
      { cluster: "prod-west", body: sql.json({ reason: "OOMKilled" }) },
    ])}`;
    const rows = await sql<{ cluster: string; reason: string }[]>`
      SELECT cluster, body->>'reason' AS reason FROM notes ORDER BY id`;
    expect(rows.map((r) => [r.cluster, r.reason])).toEqual([
      ["prod-east", "CrashLoopBackOff"],
      ["prod-west", "OOMKilled"],
    ]);
  });

  test("SKIP LOCKED: two connections with open transactions claim disjoint rows", async () => {
    await freshJobs(10);
    const a = await sql.reserve();
    const b = await sql.reserve();
    try {
      await a`BEGIN`;
      await b`BEGIN`;
      const claim = (conn: postgres.ReservedSql) =>
        conn<
          { id: number }[]
        >`SELECT id FROM jobs WHERE claimed_by IS NULL ORDER BY id LIMIT 4 FOR UPDATE SKIP LOCKED`;
      const byA = (await claim(a)).map((r) => r.id);
      const byB = (await claim(b)).map((r) => r.id); // A still holds its rows: B must skip them, not wait
      expect(byA).toEqual([1, 2, 3, 4]);
      expect(byB).toEqual([5, 6, 7, 8]);
      // Without SKIP LOCKED, B would wait for A: NOWAIT shows the rows are really locked.
      await expect(b`SELECT id FROM jobs WHERE id = 1 FOR UPDATE NOWAIT`).rejects.toThrow(
        /could not obtain lock/,
      );
    } finally {
      await a`ROLLBACK`;
      await b`ROLLBACK`;
      a.release();
      b.release();
    }
  });

  test("SKIP LOCKED under concurrency: 8 claimers take 400 rows, each exactly once", async () => {
    await freshJobs(400);
    const claimer = async (name: string): Promise<number[]> => {
      const mine: number[] = [];
      for (;;) {
        const ids = await sql.begin(async (tx) => {
          const rows = await tx<{ id: number }[]>`
            SELECT id FROM jobs WHERE claimed_by IS NULL ORDER BY id LIMIT 3 FOR UPDATE SKIP LOCKED`;
          const claimed = rows.map((r) => r.id);
          if (claimed.length > 0) await tx`UPDATE jobs SET claimed_by = ${name} WHERE id IN ${tx(claimed)}`;
          return claimed;
        });
        if (ids.length === 0) return mine;
        mine.push(...ids);
      }
    };
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => claimer(`w${i}`)));
    const all = results.flat();
    expect(all.length).toBe(400);
    expect(new Set(all).size).toBe(400);
    expect(results.filter((ids) => ids.length > 0).length).toBeGreaterThan(1);
    const [unclaimed] = await sql<
      { n: number }[]
    >`SELECT count(*)::int AS n FROM jobs WHERE claimed_by IS NULL`;
    expect(unclaimed?.n).toBe(0);
  });

  test("the same client under Deno claims past the rows Bun holds locked", async () => {
    await freshJobs(12);
    const held = await sql.reserve();
    try {
      await held`BEGIN`;
      const locked = await held<{ id: number }[]>`SELECT id FROM jobs ORDER BY id LIMIT 5 FOR UPDATE`;
      expect(locked.map((r) => r.id)).toEqual([1, 2, 3, 4, 5]);
      const answer = await denoClaim(pg.url);
      expect(answer).toEqual({ runtime: "deno", claimed: [6, 7, 8, 9, 10] });
    } finally {
      await held`ROLLBACK`;
      held.release();
    }
    const byDeno = await sql<{ id: number }[]>`SELECT id FROM jobs WHERE claimed_by = 'deno' ORDER BY id`;
    expect(byDeno.map((r) => r.id)).toEqual([6, 7, 8, 9, 10]);
  }, 90_000);

  test("stop ends the postmaster by PID, and removes its temp dir", async () => {
    const other = await startPostgres();
    expect(other.port).not.toBe(pg.port);
    expect(processAlive(other.pid)).toBe(true);
    expect(existsSync(join(other.dir, "data", "PG_VERSION"))).toBe(true);
    const client = postgres(other.url, { max: 1, onnotice: () => {} });
    expect((await client<{ one: number }[]>`SELECT 1 AS one`)[0]?.one).toBe(1);
    await client.end({ timeout: 5 });
    await other.stop();
    expect(processAlive(other.pid)).toBe(false);
    expect(existsSync(other.dir)).toBe(false);
    await other.stop(); // idempotent
  });
});
