/** The demo under Deno (`deno run -A scripts/demo.ts --once`): it runs faultline under Deno too. */
import { afterAll, expect, test } from "bun:test";
import { expectDemoShowsTheJob, runDemoOnce } from "../helpers/demo.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(dir.cleanup);

test("deno run -A scripts/demo.ts --once shows agents running with each cluster's kubeconfig and exits 0", async () => {
  const { stdout, code } = await runDemoOnce("deno", dir.path);
  expect(code).toBe(0);
  expect(stdout).toContain("faultline │"); // faultline's own lines, from the faultline it started under Deno
  expectDemoShowsTheJob(stdout, dir.path);
}, 90_000);
