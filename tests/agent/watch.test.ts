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

/** Watches a supervisor whose exit and "finished" note the test settles; `outcome` is null until resolved. */
function watching() {
  const exited = Promise.withResolvers<void>();
  const finished = Promise.withResolvers<void>();
  const state = { outcome: null as AgentResult | null, exited, finished, done: Promise.resolve() };
  state.done = watchSupervisor(run(), {
    exited: exited.promise,
    finished: finished.promise,
    kill: () => {},
    timeoutMs: 60_000,
    graceMs: 1000,
    log: logger({ component: "test" }),
  }).then((result) => {
    state.outcome = result;
  });
  return state;
}

test("the result is read once the supervisor said it is written, while its process is still exiting", async () => {
  const watch = watching();
  writeResultFile(workspace, written);
  await Bun.sleep(20);
  expect(watch.outcome).toBeNull(); // no note yet, no exit yet
  watch.finished.resolve();
  await watch.done;
  expect(watch.outcome).toEqual(written); // the process has not exited
  watch.exited.resolve();
});

test("without a result written, the note is not enough: it waits for the exit as before", async () => {
  const watch = watching();
  watch.finished.resolve();
  await Bun.sleep(20);
  expect(watch.outcome).toBeNull();
  writeResultFile(workspace, written);
  watch.exited.resolve();
  await watch.done;
  expect(watch.outcome).toEqual(written);
});
