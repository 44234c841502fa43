/**
 * faultline under Deno (`deno run -A src/main.ts run`) as a real process against the simulator: three
 * clusters and the sample agent (examples/agents/triage.sh), `/health/clusters`, SIGTERM, and SIGKILL with
 * a restart that loses nothing; and `workers.threads: never` (the source on the main thread). Skipped while faultline does not start under Deno (see tests/helpers/deno.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../../scripts/runtime.ts";
import { type Simulator, startSimulator } from "../../scripts/sim/index.ts";
import type { ClustersBody } from "../../src/http/app.ts";
import { denoFaultline } from "../helpers/deno.ts";
import { runFaultline } from "../helpers/process.ts";
import { simConfig, timelineAgent } from "../helpers/sim-config.ts";
import { countState, queryState } from "../helpers/state.ts";
import { tempDir, writeFile, writeKubeconfig } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

const deno = denoFaultline();
const TOKEN = "deno-e2e-bearer-token";
const CLUSTERS = ["east", "west", "north"] as const;
/** Deno compiles faultline (and its worker module) at start: slower than Bun the first time. */
const START_MS = 60_000;

const dir = tempDir("faultline-deno-");
let sim: Simulator;

beforeAll(async () => {
  if (!deno.run) return;
  sim = await startSimulator({
    clusters: [
      { name: "east", bearerToken: TOKEN },
      ...["west", "north", "k1", "k2", "solo"].map((name) => ({ name })),
    ],
  });
});
afterAll(async () => {
  await sim?.stop();
  dir.cleanup();
});

/** What the sample agent wrote in one incident workspace. */
interface SampleRun {
  cluster: string;
  kubeconfig: string;
  exitCode: number | null;
  report: boolean;
}

function sampleRuns(state: string): SampleRun[] {
  const incidents = join(state, "incidents");
  if (!existsSync(incidents)) return [];
  return readdirSync(incidents)
    .map((id) => join(incidents, id))
    .filter((workspace) => existsSync(join(workspace, "result.json")))
    .map((workspace) => {
      const result = JSON.parse(readFileSync(join(workspace, "result.json"), "utf8")) as {
        cluster: string;
        exit_code: number | null;
      };
      const log = readFileSync(join(workspace, "agent.log"), "utf8");
      return {
        cluster: result.cluster,
        kubeconfig: /^kubeconfig: (.*)$/m.exec(log)?.[1] ?? "",
        exitCode: result.exit_code,
        report: existsSync(join(workspace, "triage-report.txt")),
      };
    });
}

describe.skipIf(!deno.run)("faultline under Deno", () => {
  test("three clusters and the sample agent: each fault reaches it with its cluster's kubeconfig; /health/clusters is right and holds no secret; SIGTERM unsubscribes and exits 0", async () => {
    const kubeconfigs = new Map(
      CLUSTERS.map((name) => [name, writeKubeconfig(dir.path, `${name}.kubeconfig`)]),
    );
    const state = join(dir.path, "three-state");
    const entries = CLUSTERS.map(
      (name) =>
        `  - name: ${name}\n    mcp_endpoint: "${sim.endpoint(name)}"\n    kubeconfig: ./${name}.kubeconfig\n    labels: { team: t-${name} }${name === "east" ? `\n    auth: { bearer_token: ${TOKEN} }` : ""}`,
    );
    const config = writeFile(
      dir.path,
      "three.yaml",
      `clusters:\n${entries.join("\n")}
agent: { command: ["${join(ROOT, "examples", "agents", "triage.sh")}"], max_concurrent: 3 }
reconnect: { initial_seconds: 0.05, max_seconds: 0.5 }
health: { listen: "127.0.0.1:0" }
state_dir: ${state}
log_level: info
`,
    );
    const run = runFaultline(config, {}, "deno");
    let url = "";
    try {
      url = await run.waitActive(CLUSTERS.length, START_MS);
      for (const name of CLUSTERS) {
        expect(sim.inject(name, { name: `web-${name}`, severity: "critical" })).toBe(1);
      }
      await waitFor("three sample-agent runs", () => sampleRuns(state).length >= 3, 30_000);
      const runs = sampleRuns(state).sort((a, b) => a.cluster.localeCompare(b.cluster));
      expect(runs).toEqual(
        [...CLUSTERS].sort().map((cluster) => ({
          cluster,
          kubeconfig: kubeconfigs.get(cluster) ?? "",
          exitCode: 0,
          report: true,
        })),
      );

      const response = await fetch(`${url}/health/clusters`);
      expect(response.status).toBe(200);
      const text = await response.text();
      const body = JSON.parse(text) as ClustersBody;
      expect(body.summary).toEqual({ total: 3, active: 3, unhealthy: 0 });
      expect(body.clusters.map((c) => c.name)).toEqual([...CLUSTERS]);
      for (const cluster of body.clusters) {
        expect(cluster).toMatchObject({
          status: "active",
          mode: "push",
          labels: { team: `t-${cluster.name}` },
          event_count: 1,
          last_error: null,
        });
      }
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain("kubeconfig");
    } finally {
      const before = CLUSTERS.map((name) => sim.stats(name).unsubscribeCalls);
      expect(await run.stop("SIGTERM")).toBe(0);
      expect(CLUSTERS.map((name) => sim.stats(name).unsubscribeCalls)).toEqual(before.map((n) => n + 1));
    }
  }, 120_000);

  test("workers.threads: never: the source on the main thread under Deno; a fault reaches the agent with its cluster's kubeconfig; SIGTERM exits 0", async () => {
    const { config, state } = simConfig(
      dir.path,
      sim,
      "inline",
      ["solo"],
      `agent: { command: ["${join(ROOT, "examples", "agents", "triage.sh")}"] }\nworkers: { threads: never }\nlog_level: info\n`,
    );
    const kubeconfig = join(dir.path, "solo.kubeconfig");
    const run = runFaultline(config, {}, "deno");
    try {
      await run.waitActive(1, START_MS);
      expect(run.logs.find((line) => line.msg === "workers started")).toMatchObject({ threads: false });
      expect(sim.inject("solo", { name: "web-inline", severity: "critical" })).toBe(1);
      await waitFor("the sample agent's run", () => sampleRuns(state).length >= 1, 30_000);
      expect(sampleRuns(state)).toEqual([{ cluster: "solo", kubeconfig, exitCode: 0, report: true }]);
    } finally {
      expect(await run.stop("SIGTERM")).toBe(0);
    }
  }, 120_000);

  test("SIGKILL while agents run, faults sent while it is down, a restart: nothing stored is lost, every fault is triaged exactly once", async () => {
    const timeline = join(dir.path, "kill-timeline.txt");
    writeFileSync(timeline, "");
    const agent = timelineAgent(dir.path, "kill-agent.sh", timeline, 1.5);
    const { config, state } = simConfig(
      dir.path,
      sim,
      "kill",
      ["k1", "k2"],
      `agent: { command: ["${agent}"], max_concurrent: 2, timeout_seconds: 60 }\nlog_level: info\n`,
    );
    const first = runFaultline(config, {}, "deno");
    let storedBeforeKill: number[] = [];
    try {
      await first.waitActive(2, START_MS);
      // The restart backfills from the last liveness stored with a session id (see restart-gap.test.ts).
      await waitFor(
        "liveness stored",
        () => countState(state, "SELECT count(*) n FROM cluster_liveness WHERE session_id IS NOT NULL") === 2,
        10_000,
      );
      for (let i = 0; i < 3; i++) {
        sim.inject("k1", { name: `pod-a${i}` });
        sim.inject("k2", { name: `pod-b${i}` });
      }
      await waitFor("two agents running", () => readFileSync(timeline, "utf8").includes("start"));
      await waitFor("six events stored", () => countState(state, "SELECT count(*) n FROM events") === 6);
      storedBeforeKill = queryState<{ id: number }>(state, "SELECT id FROM events ORDER BY id").map(
        (r) => r.id,
      );
    } finally {
      first.proc.kill("SIGKILL");
      await first.proc.exited;
    }
    for (const name of ["down-1", "down-2"]) expect(sim.inject("k1", { name })).toBe(0);

    const second = runFaultline(config, {}, "deno");
    try {
      await second.waitActive(2, START_MS);
      await waitFor(
        "eight incidents, all triaged",
        () =>
          countState(state, "SELECT count(*) n FROM incidents") === 8 &&
          countState(state, "SELECT count(*) n FROM incidents WHERE status <> 'succeeded'") === 0,
        60_000,
      );
    } finally {
      expect(await second.stop("SIGTERM")).toBe(0);
    }
    const storedAfter = queryState<{ id: number }>(state, "SELECT id FROM events ORDER BY id").map(
      (r) => r.id,
    );
    expect(storedAfter.slice(0, storedBeforeKill.length)).toEqual(storedBeforeKill);
    const names = queryState<{ name: string }>(
      state,
      "SELECT json_extract(resource, '$.name') AS name FROM incidents ORDER BY name",
    ).map((r) => r.name);
    expect(names).toEqual(["down-1", "down-2", "pod-a0", "pod-a1", "pod-a2", "pod-b0", "pod-b1", "pod-b2"]);
    // Each incident's agent started once (an agent running at the kill was adopted, not run again).
    const starts = readFileSync(timeline, "utf8")
      .trim()
      .split("\n")
      .filter((line) => line.startsWith("start "))
      .map((line) => line.split(" ")[1]);
    expect(starts).toHaveLength(8);
    expect(new Set(starts).size).toBe(8);
  }, 180_000);
});
