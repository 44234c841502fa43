/**
 * A fault storm bigger than the fan-in channel's hold mark: every event the servers send is stored,
 * none is dropped (the workers hold their event streams while the store catches up).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { type Simulator, startSimulator } from "../../scripts/sim/index.ts";
import { HOLD_AT } from "../../src/pipeline/backpressure.ts";
import { type FaultlineProcess, runFaultline } from "../helpers/process.ts";
import { clustersYaml, countState } from "../helpers/state.ts";
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
