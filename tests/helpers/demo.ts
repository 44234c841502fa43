/** Running `scripts/demo.ts --once` under either runtime, and what its output must show. */
import { expect } from "bun:test";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT, type RuntimeName, scriptCommand } from "../../scripts/runtime.ts";

/** Runs the demo once under `runtime` with its files in `dir`; resolves with its stdout and exit code. */
export function runDemoOnce(
  runtime: RuntimeName,
  dir: string,
): Promise<{ stdout: string; code: number | null }> {
  const [command = "", ...args] = scriptCommand(runtime, join(ROOT, "scripts", "demo.ts"));
  const demo = spawn(command, [...args, "--once", "--port", "0", "--dir", dir], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  demo.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  demo.stderr.resume();
  return new Promise((resolve) => demo.once("close", (code) => resolve({ stdout, code })));
}

/** The demo's summary: agents ran with each cluster's kubeconfig, the incidents table, health, no ANSI. */
export function expectDemoShowsTheJob(stdout: string, dir: string): void {
  for (const cluster of ["prod-east", "prod-west"]) {
    expect(stdout).toContain(`${cluster}  exit 0  KUBECONFIG=${join(dir, "kubeconfigs", `${cluster}.yaml`)}`);
  }
  expect(stdout).not.toContain(`staging    exit`);
  expect(stdout).toContain('summary {"total":3,"active":3,"unhealthy":0}');
  // The incidents table: triaged ones succeeded, the others recorded with why they were skipped.
  expect(stdout).toMatch(/staging\s+skipped \(triage_disabled\)/);
  expect(stdout).toMatch(/prod-west\s+skipped \(below_threshold\)/);
  expect(stdout.match(/\bsucceeded\b/g)).toHaveLength(3);
  // Written into a pipe: plain text, no ANSI escapes.
  expect(stdout).not.toContain("\x1b[");
}
