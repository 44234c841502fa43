/**
 * A store that fails at run time (here: the database locked by another process past the busy
 * timeout) loses nothing: the batch is kept, the event streams are held, the write is retried.
 */
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { type Simulator, startSimulator } from "../../scripts/sim/index.ts";
import { type FaultlineProcess, runFaultline } from "../helpers/process.ts";
import { clustersYaml, countState } from "../helpers/state.ts";
import { tempDir, writeFile, writeKubeconfig } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

const dir = tempDir();
let sim: Simulator;
let run: FaultlineProcess | undefined;

beforeAll(async () => {
  sim = await startSimulator({ clusters: ["locked"] });
});
afterAll(async () => {
  await run?.stop("SIGTERM");
  await sim?.stop();
  dir.cleanup();
});

test("events that cannot be written yet are kept and stored once the store works again", async () => {
  writeKubeconfig(dir.path, "k.yaml");
  const state = join(dir.path, "state");
  const config = writeFile(
    dir.path,
    "retry.yaml",
    `${clustersYaml(sim, ["locked"], "./k.yaml")}health: { listen: "127.0.0.1:0" }\nstate_dir: ${state}\n`,
  );
  run = runFaultline(config);
  await run.waitForLog("active", (l) => l.cluster === "locked" && l.status === "active");

  // Another process takes the write lock and keeps it past faultline's 5 s busy timeout.
  const blocker = new Database(join(state, "faultline.db"));
  blocker.exec("BEGIN EXCLUSIVE");
  try {
    for (let i = 0; i < 3; i++) expect(sim.inject("locked", { name: `pod-${i}` })).toBe(1);
    const retrying = await run.waitForLog(
      "a failed write",
      (l) => l.msg === "events not stored yet: holding event streams, retrying",
      15_000,
    );
    expect(retrying).toMatchObject({ attempt: 1, retry_in_ms: expect.any(Number) });
    expect(String(retrying.error)).toContain("locked");
    expect(run.logs.some((l) => l.msg === "store behind: holding event streams")).toBe(true);
  } finally {
    blocker.exec("ROLLBACK");
    blocker.close();
  }
  await waitFor(
    "all three stored",
    () => countState(state, "SELECT count(*) n FROM events") === 3,
    20_000,
    100,
  );
  await run.waitForLog("stored after retrying", (l) => l.msg === "events stored after retrying");
  expect(run.logs.filter((l) => l.msg === "events not stored: faultline is stopping")).toEqual([]);
}, 40_000);
