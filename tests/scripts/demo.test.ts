import { afterAll, expect, test } from "bun:test";
import { expectDemoShowsTheJob, runDemoOnce } from "../helpers/demo.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(dir.cleanup);

test("bun run demo --once shows agents running with each cluster's kubeconfig and exits 0", async () => {
  const { stdout, code } = await runDemoOnce("bun", dir.path);
  expect(code).toBe(0);
  expectDemoShowsTheJob(stdout, dir.path);
}, 60_000); // ~2-3 s alone; a hang guard, not a time limit (under CI load it took over 5 s)
