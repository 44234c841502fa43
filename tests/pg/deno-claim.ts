/**
 * Run by tests/pg/harness.test.ts under Deno (`deno run -A tests/pg/deno-claim.ts`): connects with the npm
 * `postgres` client to the URL in `FAULTLINE_TEST_PG_URL`, claims up to 5 unclaimed rows of `jobs` with
 * `FOR UPDATE SKIP LOCKED` for `deno`, and prints `{ runtime, claimed }` as JSON.
 */
import process from "node:process";
import postgres from "postgres";

const url = process.env.FAULTLINE_TEST_PG_URL;
if (!url) throw new Error("FAULTLINE_TEST_PG_URL is not set");
const sql = postgres(url, { max: 1, onnotice: () => {} });
try {
  const claimed = await sql.begin(async (tx) => {
    const rows = await tx<{ id: number }[]>`
      SELECT id FROM jobs WHERE claimed_by IS NULL ORDER BY id LIMIT 5 FOR UPDATE SKIP LOCKED`;
    const ids = rows.map((row) => row.id);
    if (ids.length > 0) await tx`UPDATE jobs SET claimed_by = 'deno' WHERE id IN ${sql(ids)}`;
    return ids;
  });
  const runtime = (globalThis as { Deno?: { version: { deno: string } } }).Deno ? "deno" : "other";
  process.stdout.write(`${JSON.stringify({ runtime, claimed })}\n`);
} finally {
  await sql.end({ timeout: 5 });
}
