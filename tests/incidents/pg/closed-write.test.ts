/**
 * The patched postgres client (scripts/patch-deps.mjs, run by `npm ci`): a query on a connection whose
 * server side is gone rejects with CONNECTION_CLOSED instead of hanging while an uncaught TypeError
 * (`socket.write` on the null socket, porsager/postgres#1208) ends the process. Against a real throw-away
 * server; skipped, saying why, without the PostgreSQL binaries.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import postgres from "postgres";
import { type PostgresServer, postgresAvailable, startPostgres } from "../../helpers/postgres.ts";

const ROOT = join(import.meta.dir, "..", "..", "..");
const available = postgresAvailable("tests/incidents/pg/closed-write.test.ts");
let server: PostgresServer | null = null;

beforeAll(async () => {
  if (available) server = await startPostgres();
});
afterAll(async () => {
  await server?.stop();
});

test("npm ci left the dependency patches in place (patch-deps --check)", () => {
  const check = Bun.spawnSync(["node", join(ROOT, "scripts", "patch-deps.mjs"), "--check"], { cwd: ROOT });
  expect(check.stderr.toString()).toBe("");
  expect(check.exitCode).toBe(0);
});

test.skipIf(!available)(
  "a query on a reserved connection whose backend was terminated rejects with CONNECTION_CLOSED; nothing is thrown outside it",
  async () => {
    const sql = postgres(server?.url ?? "", { max: 2, onnotice: () => {} });
    try {
      const reserved = await sql.reserve();
      const [row] = await reserved<{ pid: number }[]>`select pg_backend_pid() as pid`;
      await sql`select pg_terminate_backend(${row?.pid ?? 0})`;
      await Bun.sleep(200); // the close reaches the client
      const hung = Bun.sleep(5000).then(() => "still waiting after 5 s");
      const outcome = await Promise.race([
        reserved`select 1`.then(
          () => "answered",
          (error: unknown) => (error as { code?: string }).code ?? String(error),
        ),
        hung,
      ]);
      expect(outcome).toBe("CONNECTION_CLOSED");
      reserved.release();
      // The pool still serves: a new connection replaces the dead one.
      expect((await sql`select 2 as two`)[0]).toEqual({ two: 2 });
    } finally {
      await sql.end({ timeout: 1 });
    }
  },
  20_000,
);
