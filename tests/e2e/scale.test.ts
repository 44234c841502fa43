/**
 * Fleet scale: 1000 simulated clusters in one faultline process (sized in-flight request cap,
 * bounded start-up, 16 workers), every cluster delivering, with the full pipeline on.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { type Simulator, startSimulator } from "../../scripts/sim/index.ts";
import { RECORDING_AGENT } from "../helpers/fleet.ts";
import { type FaultlineProcess, runFaultline } from "../helpers/process.ts";
import { clustersYaml, countState } from "../helpers/state.ts";
import { tempDir, writeFile, writeKubeconfig } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

const N = 1000;
const TRIAGED = 20;
const dir = tempDir();
const names = Array.from({ length: N }, (_, i) => `c${String(i).padStart(4, "0")}`);
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

test(`${N} clusters reach active and each delivers a fault into the store; critical ones reach agents`, async () => {
  writeKubeconfig(dir.path, "k.yaml");
  writeFile(dir.path, "agent.sh", RECORDING_AGENT, 0o755);
  const config = writeFile(
    dir.path,
    "scale.yaml",
    `${clustersYaml(sim, names, "./k.yaml")}severity_threshold: critical
agent: { command: ["./agent.sh"], max_concurrent: 8 }
health: { listen: "127.0.0.1:0" }
state_dir: ./state
log_level: info
`,
  );
  run = runFaultline(config);
  await run.waitActive(N, 60_000);
  let delivered = 0;
  names.forEach((name, i) => {
    delivered += sim.inject(name, { name: `pod-${i}`, severity: i < TRIAGED ? "critical" : "warning" });
  });
  expect(delivered).toBe(N);
  const count = (sql: string): number => countState(join(dir.path, "state"), sql);
  await waitFor("every event stored", () => count("SELECT count(*) n FROM events") === N, 30_000, 100);
  expect(count("SELECT count(DISTINCT json_extract(event, '$.cluster')) n FROM events")).toBe(N);
  expect(count("SELECT count(*) n FROM incidents WHERE status = 'skipped'")).toBe(N - TRIAGED);
  await waitFor(
    "critical ones triaged",
    () => count("SELECT count(*) n FROM incidents WHERE status = 'succeeded'") === TRIAGED,
    30_000,
    100,
  );
  expect(run.logs.filter((l) => l.level === "error")).toEqual([]);
}, 120_000);
