/**
 * `npm run test:unit` cannot rot silently: its list names real test files, its guard refuses servers,
 * processes and threads, and the unit set passes under that guard (run here, in the full suite).
 */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import {
  missingTestFiles,
  REFUSED_IN_UNIT_TESTS,
  UNIT_GUARD,
  UNIT_TEST_FILES,
} from "../../scripts/test-unit.ts";
import { tempDir, writeFile } from "../helpers/tmp.ts";

const ROOT = join(import.meta.dir, "..", "..");
const dir = tempDir("faultline-unit-");
afterAll(() => dir.cleanup());

/** Runs `bun test` from the repository root; returns its exit code and combined output. */
async function bunTest(args: string[]): Promise<{ code: number; output: string }> {
  const child = Bun.spawn([process.execPath, "test", ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, output: stdout + stderr };
}

test("the unit list names existing test files under tests/, each once", () => {
  expect(missingTestFiles(ROOT, UNIT_TEST_FILES)).toEqual([]);
  for (const file of UNIT_TEST_FILES) expect(file).toMatch(/^tests\/.+\.test\.ts$/);
  expect(new Set(UNIT_TEST_FILES).size).toBe(UNIT_TEST_FILES.length);
  expect(missingTestFiles(dir.path, ["tests/gone.test.ts"])).toEqual(["tests/gone.test.ts"]);
});

test("under the unit guard, starting a server, a process or a thread fails the test", async () => {
  const fixture = writeFile(
    dir.path,
    "starts.test.ts",
    `import { test } from "bun:test";
import { spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { Worker as ThreadWorker } from "node:worker_threads";
test("serve", () => { Bun.serve({ port: 0, fetch: () => new Response("") }).stop(true); });
test("spawn", async () => { await Bun.spawn(["true"]).exited; });
test("spawnSync", () => { spawnSync("true"); });
test("net server", () => { createServer().close(); });
test("worker", () => { new Worker("data:text/javascript,").terminate(); });
test("worker thread", () => { void new ThreadWorker("0", { eval: true }).terminate(); });
test("pure", () => {});
`,
  );
  const { code, output } = await bunTest(["--preload", `./${UNIT_GUARD}`, fixture]);
  expect(code).not.toBe(0);
  expect(output).toContain(" 1 pass");
  expect(output).toContain(" 6 fail");
  expect(output.split(REFUSED_IN_UNIT_TESTS).length - 1).toBeGreaterThanOrEqual(6);
});

test("npm run test:unit passes: no listed file starts a server, process or thread", async () => {
  const child = Bun.spawn([process.execPath, "scripts/test-unit.ts"], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  const output = `${stdout}${stderr}`;
  // The failing tests by name first, so a failure here says which unit test failed and not only that one did.
  expect(output.split("\n").filter((line) => line.startsWith("(fail)"))).toEqual([]);
  expect(output).toContain(" 0 fail");
  expect(code).toBe(0);
  // The unit run itself takes ~3 s on a quiet machine; a loaded CI machine may need more.
}, 60_000);
