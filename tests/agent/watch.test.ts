/** watchSupervisor: the outcome is taken as soon as the supervisor says it wrote it, not when its process exits. */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AgentResult, writeResultFile } from "../../src/agent/outcome.ts";
import { watchSupervisor } from "../../src/agent/watch.ts";
import { logger } from "../../src/log.ts";

let workspace: string;
beforeEach(() => {
  workspace = mkdtempSync(join(realpathSync(tmpdir()), "faultline-watch-"));
});
afterEach(() => rmSync(workspace, { recursive: true, force: true }));

const run = () => ({ incident_id: "inc-1", cluster: "c", run_id: 7, workspace, started_ms: Date.now() });
const written: AgentResult = {
  incident_id: "inc-1",
  cluster: "c",
  run_id: 7,
  exit_code: 0,
  signal: null,
  timed_out: false,
  interrupted: false,
  duration_ms: 12,
  started_at: new Date().toISOString(),
  finished_at: new Date().toISOString(),
  error: null,
};

function watch(exited: Promise<unknown>, finished?: Promise<unknown>) {
  return watchSupervisor(run(), {
    exited,
    ...(finished ? { finished } : {}),
    kill: () => {},
    timeoutMs: 60_000,
    graceMs: 1000,
    log: logger({ component: "test" }),
  });
}

test("the result is read once the supervisor said it is written, while its process is still exiting", async () => {
  const exited = Promise.withResolvers<void>();
  const finished = Promise.withResolvers<void>();
  let outcome = null as AgentResult | null;
  const watching = watch(exited.promise, finished.promise).then((r) => {
    outcome = r;
  });
  writeResultFile(workspace, written);
  await Bun.sleep(20);
  expect(outcome).toBeNull(); // no note yet, no exit yet
  finished.resolve();
  await watching;
  expect(outcome).toEqual(written); // the process has not exited
  exited.resolve();
});

test("without the note (or with no result written), it waits for the exit as before", async () => {
  const exited = Promise.withResolvers<void>();
  const finished = Promise.withResolvers<void>();
  let outcome = null as AgentResult | null;
  const watching = watch(exited.promise, finished.promise).then((r) => {
    outcome = r;
  });
  finished.resolve(); // said, but nothing to read: not taken
  await Bun.sleep(20);
  expect(outcome).toBeNull();
  writeResultFile(workspace, written);
  exited.resolve();
  await watching;
  expect(outcome).toEqual(written);
});
