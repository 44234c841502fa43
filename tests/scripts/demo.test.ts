import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(dir.cleanup);

test("bun run demo --once shows agents running with each cluster's kubeconfig and exits 0", async () => {
  const demo = Bun.spawn(
    [
      process.execPath,
      join(import.meta.dir, "..", "..", "scripts", "demo.ts"),
      "--once",
      "--port",
      "0",
      "--dir",
      dir.path,
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  const [stdout, code] = await Promise.all([new Response(demo.stdout).text(), demo.exited]);
  expect(code).toBe(0);
  for (const cluster of ["prod-east", "prod-west"]) {
    expect(stdout).toContain(
      `${cluster}  exit 0  KUBECONFIG=${join(dir.path, "kubeconfigs", `${cluster}.yaml`)}`,
    );
  }
  expect(stdout).not.toContain(`staging    exit`);
  expect(stdout).toContain('summary {"total":3,"active":3,"unhealthy":0}');
  // The incidents table: triaged ones succeeded, the others recorded with why they were skipped.
  expect(stdout).toMatch(/staging\s+skipped \(triage_disabled\)/);
  expect(stdout).toMatch(/prod-west\s+skipped \(below_threshold\)/);
  expect(stdout.match(/\bsucceeded\b/g)).toHaveLength(3);
  // Written into a pipe: plain text, no ANSI escapes.
  expect(stdout).not.toContain("\x1b[");
});
