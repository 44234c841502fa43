/**
 * Log lines written during tests are captured by tests/setup.ts: dropped by default, printed with
 * `FAULTLINE_TEST_LOGS=1`, and a test's own sink (setLogSink) still receives them.
 */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { tempDir, writeFile } from "../helpers/tmp.ts";

const ROOT = join(import.meta.dir, "..", "..");
const dir = tempDir("faultline-logs-");
afterAll(() => dir.cleanup());

const fixture = writeFile(
  dir.path,
  "logs.test.ts",
  `import { expect, test } from "bun:test";
import { logger, setLogSink } from ${JSON.stringify(join(ROOT, "src", "log.ts"))};
test("logs", () => {
  logger({ cluster: "c1" }).info("captured-line-marker");
});
test("own sink", () => {
  const lines: string[] = [];
  const restore = setLogSink((line) => lines.push(line));
  logger().warn("own-sink-marker");
  setLogSink(restore);
  expect(lines).toHaveLength(1);
  expect(JSON.parse(lines[0] ?? "{}").msg).toBe("own-sink-marker");
});
`,
);

/** Runs the fixture with the repository's bunfig.toml (so tests/setup.ts is preloaded); returns its stdout. */
async function runFixture(
  env: Record<string, string | undefined>,
): Promise<{ code: number; stdout: string }> {
  const child = Bun.spawn([process.execPath, "test", fixture], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, , code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, stdout };
}

test("log lines of a test are not printed by default", async () => {
  const { code, stdout } = await runFixture({ FAULTLINE_TEST_LOGS: undefined });
  expect(code).toBe(0);
  expect(stdout).not.toContain("captured-line-marker");
  expect(stdout).not.toContain("own-sink-marker");
});

test("FAULTLINE_TEST_LOGS=1 prints them, and a test's own sink still gets its lines", async () => {
  const { code, stdout } = await runFixture({ FAULTLINE_TEST_LOGS: "1" });
  expect(code).toBe(0);
  const line = stdout.split("\n").find((text) => text.includes("captured-line-marker")) ?? "{}";
  expect(JSON.parse(line)).toMatchObject({ level: "info", msg: "captured-line-marker", cluster: "c1" });
  expect(stdout).not.toContain("own-sink-marker");
});
