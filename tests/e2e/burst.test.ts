/**
 * A fault storm bigger than the fan-in channel's hold mark: every event the servers send is stored,
 * none is dropped (the workers hold their event streams while the store catches up). A storm goes
 * through the store's intake journal: killed in the middle of one, faultline builds at its next start
 * every event the journal had committed, each into its fault's one incident.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { type Simulator, startSimulator } from "../../scripts/sim/index.ts";
import { HOLD_AT } from "../../src/pipeline/backpressure.ts";
import { intakeWaiting } from "../helpers/intake.ts";
import { type FaultlineProcess, runFaultline } from "../helpers/process.ts";
import { clustersYaml, countState, queryState } from "../helpers/state.ts";
import { tempDir, writeFile, writeKubeconfig } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

const CLUSTERS = 10;
const PER_CLUSTER = 2000;
const dir = tempDir();
const names = Array.from({ length: CLUSTERS }, (_, i) => `storm-${i}`);
let sim: Simulator;
let run: FaultlineProcess | undefined;

beforeAll(async () => {
  sim = await startSimulator({ clusters: names });
});
afterAll(async () => {
  await run?.stop("SIGTERM");
  await sim?.stop();
  dir.cleanup();
});

test(`a storm of ${CLUSTERS * PER_CLUSTER} events (over ${HOLD_AT} queued at once) is stored whole`, async () => {
  writeKubeconfig(dir.path, "k.yaml");
  const config = writeFile(
    dir.path,
    "storm.yaml",
    `${clustersYaml(sim, names, "./k.yaml")}health: { listen: "127.0.0.1:0" }\nstate_dir: ./state\n`,
  );
  run = runFaultline(config);
  await waitFor(
    "all active",
    () => run?.logs.filter((l) => l.status === "active").length === CLUSTERS,
    15_000,
  );
  let sent = 0;
  for (let i = 0; i < PER_CLUSTER; i++) {
    for (const name of names) sent += sim.inject(name, { name: `pod-${i}` });
    if (i % 100 === 99) await Bun.sleep(0); // let the simulator's streams flush
  }
  expect(sent).toBe(CLUSTERS * PER_CLUSTER);
  const stored = () => countState(join(dir.path, "state"), "SELECT count(*) n FROM events");
  await waitFor("every event stored", () => stored() === sent, 60_000, 100);
  expect(run.logs.filter((l) => l.msg === "event dropped: fan-in channel full")).toEqual([]);
}, 90_000);

test("SIGKILL in the middle of a storm: what the journal committed is built once at the next start, one incident per fault", async () => {
  await run?.stop("SIGTERM"); // the storm test's faultline: not connected to these servers any more
  run = undefined;
  writeKubeconfig(dir.path, "k.yaml");
  const config = writeFile(
    dir.path,
    "storm-kill.yaml",
    `${clustersYaml(sim, names, "./k.yaml")}health: { listen: "127.0.0.1:0" }\nstate_dir: ./state-kill\n`,
  );
  const state = join(dir.path, "state-kill");
  const pending = () => intakeWaiting(state).length;
  const first = runFaultline(config);
  try {
    await first.waitActive(CLUSTERS);
    for (let i = 0; i < PER_CLUSTER; i++) {
      for (const name of names) sim.inject(name, { name: `kill-pod-${i}` });
      if (i % 100 === 99) await Bun.sleep(0);
    }
    // Stopped (SIGSTOP) the moment rows are seen, so they cannot be built before the kill; if they were
    // built between the look and the stop, it goes on and looks again.
    await waitFor(
      "faultline stopped with events committed to the journal, not built yet",
      () => {
        if (pending() === 0) return false;
        first.proc.kill("SIGSTOP");
        if (pending() > 0) return true;
        first.proc.kill("SIGCONT");
        return false;
      },
      30_000,
      2,
    );
  } finally {
    first.proc.kill("SIGKILL");
    await first.proc.exited;
  }
  const journaled = intakeWaiting(state).map((record) => {
    const event = JSON.parse(record.event) as { cluster: string; fault_id: string };
    return `${event.cluster}/${event.fault_id}`;
  });
  const eventsBefore = countState(state, "SELECT count(*) n FROM events");
  expect(journaled.length).toBeGreaterThan(0);

  run = runFaultline(config);
  const second = run;
  // The journal is built as the store opens, before any connection (so before the restart's backfill).
  await waitFor("the journal built at open", () =>
    second.logs.some((l) => l.msg === "built the events a previous run had journaled"),
  );
  const built = second.logs.find((l) => l.msg === "built the events a previous run had journaled");
  expect(built?.events).toBe(journaled.length);
  await second.waitActive(CLUSTERS);
  await waitFor("nothing left in the journal", () => pending() === 0);
  expect(countState(state, "SELECT count(*) n FROM events")).toBeGreaterThanOrEqual(
    eventsBefore + journaled.length,
  );
  // One incident per fault, and each journaled fault's one event counted once (built once; the
  // backfill skips it, as already stored).
  const incidents = new Map(
    queryState<{ fault: string; n: number; events: number }>(
      state,
      "SELECT cluster || '/' || fault_id AS fault, count(*) AS n, sum(count) AS events FROM incidents GROUP BY cluster, fault_id",
    ).map((row) => [row.fault, row]),
  );
  for (const fault of journaled) expect(incidents.get(fault)).toMatchObject({ n: 1, events: 1 });
  expect([...incidents.values()].filter((row) => row.n !== 1)).toEqual([]);
  expect(await run.stop("SIGTERM")).toBe(0);
  run = undefined;
}, 90_000);

test("a restart right after a storm of 600 faults in one cluster: the backfill lists them all again and reports none; each counted once", async () => {
  const faults = 600; // over the 256 stored events (and objects) the backfill once skipped at most
  const stormSim = await startSimulator({ clusters: ["again"] });
  try {
    writeKubeconfig(dir.path, "k-again.yaml");
    const config = writeFile(
      dir.path,
      "again.yaml",
      `${clustersYaml(stormSim, ["again"], "./k-again.yaml")}health: { listen: "127.0.0.1:0" }\nstate_dir: ./state-again\n`,
    );
    const state = join(dir.path, "state-again");
    const first = runFaultline(config);
    try {
      await first.waitActive(1);
      for (let i = 0; i < faults; i++) stormSim.inject("again", { name: `again-pod-${i}` });
      await waitFor(
        "every fault built into its incident",
        () =>
          countState(state, "SELECT count(*) n FROM incidents") === faults &&
          intakeWaiting(state).length === 0,
        30_000,
        50,
      );
      // Its session recorded alive (before the storm's end): the next start backfills from 10 s before that.
      await waitFor(
        "the cluster's liveness recorded",
        () => countState(state, "SELECT count(*) n FROM cluster_liveness") === 1,
        10_000,
        20,
      );
    } finally {
      first.proc.kill("SIGKILL");
      await first.proc.exited;
    }
    run = runFaultline(config);
    const second = run;
    const backfilled = await second.waitForLog("the restart's backfill", (l) =>
      String(l.msg).startsWith("backfilled events from"),
    );
    expect(backfilled.events).toBe(0);
    expect(countState(state, "SELECT count(*) n FROM incidents")).toBe(faults);
    expect(countState(state, "SELECT count(*) n FROM events")).toBe(faults);
    expect(countState(state, "SELECT count(*) n FROM incidents WHERE count <> 1")).toBe(0);
    expect(await second.stop("SIGTERM")).toBe(0);
    run = undefined;
  } finally {
    await stormSim.stop();
  }
}, 60_000);
