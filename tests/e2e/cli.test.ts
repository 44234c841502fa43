/**
 * faultline as users run it: the CLI from source and the compiled binary, as real processes.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { type Simulator, startSimulator } from "../../scripts/sim/index.ts";
import { finishedRuns, RECORDING_AGENT } from "../helpers/fleet.ts";
import { SOURCE_CLI, startProcess } from "../helpers/process.ts";
import { clustersYaml } from "../helpers/state.ts";
import { tempDir, writeFile, writeKubeconfig } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";
import { aliasBombYaml } from "../helpers/yaml-bomb.ts";

const ROOT = join(import.meta.dir, "..", "..");

const dir = tempDir();
let sim: Simulator;
let binary: string;
beforeAll(async () => {
  sim = await startSimulator({ clusters: ["solo", "bin-a", "bin-b"] });
  writeFile(dir.path, "agent.sh", RECORDING_AGENT, 0o755);
  binary = join(dir.path, "faultline");
  const build = Bun.spawnSync([process.execPath, join(ROOT, "scripts", "build.ts"), "--outfile", binary], {
    cwd: ROOT,
  });
  if (build.exitCode !== 0) throw new Error(`build failed: ${build.stderr.toString()}`);
}, 120_000);
afterAll(async () => {
  await sim?.stop();
  dir.cleanup();
});

/** Runs a CLI to completion. */
function runToEnd(argv: string[]): { code: number; stdout: string; stderr: string } {
  const result = Bun.spawnSync(argv, { cwd: ROOT });
  return { code: result.exitCode ?? -1, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

describe.each([
  ["source", () => SOURCE_CLI],
  ["compiled binary", () => [binary]],
])("the CLI (%s)", (_label, cli) => {
  test("version and --help", () => {
    expect(runToEnd([...cli(), "version"]).stdout).toMatch(/^faultline \d+\.\d+\.\d+/);
    const help = runToEnd([...cli(), "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("faultline check --config FILE");
  });

  test("check: exit 0 on the example config, exit 2 with every problem on stderr", () => {
    const ok = runToEnd([...cli(), "check", "--config", join(ROOT, "examples", "faultline.yaml")]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("valid (3 cluster(s)");
    const bad = writeFile(
      dir.path,
      "bad.yaml",
      "clusters:\n  - name: a\n    mcp_endpoint: http://127.0.0.1:1/mcp\n    kubeconfig: ./agent.sh\n  - name: b\n    mcp_endpoint: nope\n",
    );
    const result = runToEnd([...cli(), "check", "--config", bad]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("clusters[1].mcp_endpoint: must be a URL");
    expect(result.stderr).toContain("clusters[1].kubeconfig: required");
  });

  test("check: a YAML alias bomb exits 2 naming the file", () => {
    const bomb = writeFile(dir.path, "bomb.yaml", aliasBombYaml());
    const result = runToEnd([...cli(), "check", "--config", bomb]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${bomb}: invalid configuration`);
    expect(result.stderr).toContain("YAML refused: Excessive alias count");
  });

  test("300 clusters: re-executes itself (same pid) with Bun's in-flight request cap raised, and all reach active", async () => {
    const names = Array.from({ length: 300 }, (_, i) => `big-${i}`);
    const big = await startSimulator({ clusters: names });
    const kube = writeKubeconfig(dir.path, "big.kubeconfig");

    const config = writeFile(
      dir.path,
      `big-${_label.replace(" ", "-")}.yaml`,
      `${clustersYaml(big, names, kube)}health: { listen: "127.0.0.1:0" }\n`,
    );
    const run = startProcess([...cli(), "run", "--config", config], {
      BUN_CONFIG_MAX_HTTP_REQUESTS: undefined,
    });
    try {
      const reexec = await run.waitForLog("re-exec", (l) =>
        String(l.msg).startsWith("raising Bun's in-flight"),
      );
      expect(reexec).toMatchObject({ from: 256, to: 664, clusters: 300 });
      const applied = await run.waitForLog("limit applied", (l) => l.msg === "in-flight HTTP request limit");
      expect(applied).toMatchObject({ limit: 664, required: 664 });
      await run.waitActive(300, 20_000);
      // execve kept the process: the pid we started is the one serving.
      expect(run.proc.exitCode).toBeNull();
    } finally {
      expect(await run.stop("SIGTERM")).toBe(0);
      await big.stop();
    }
  }, 60_000);

  test("usage errors exit 2", () => {
    expect(runToEnd([...cli(), "run"]).code).toBe(2);
    expect(runToEnd([...cli(), "frobnicate"]).code).toBe(2);
    expect(runToEnd([...cli(), "check", "--bogus"]).code).toBe(2);
  });
});

test("single-cluster mode end to end: default cluster, $KUBECONFIG reaches the agent, SIGTERM unsubscribes and exits 0", async () => {
  const work = join(dir.path, "single");
  const kubeconfig = writeKubeconfig(dir.path, "single-kubeconfig.yaml");
  const config = writeFile(
    dir.path,
    "single.yaml",
    `mcp_endpoint: ${sim.endpoint("solo")}
agent: { command: ["./agent.sh"] }
health: { listen: "127.0.0.1:0" }
state_dir: ${work}
`,
  );
  const run = startProcess([...SOURCE_CLI, "run", "--config", config], { KUBECONFIG: kubeconfig });
  try {
    const url = await run.healthUrl();
    await run.waitForLog("default active", (l) => l.cluster === "default" && l.status === "active");
    expect(sim.inject("solo", { name: "solo-pod", severity: "warning" })).toBe(1);
    const [done] = await waitFor("agent run", () => {
      const runs = finishedRuns(work);
      return runs.length > 0 ? runs : null;
    });
    expect(done?.env.KUBECONFIG).toBe(kubeconfig);
    expect(done?.env.FAULTLINE_CLUSTER).toBe("default");
    const body = (await (await fetch(`${url}/health/clusters`)).json()) as {
      clusters: Array<{ name: string }>;
    };
    expect(body.clusters.map((c) => c.name)).toEqual(["default"]);
  } finally {
    const unsubscribes = sim.stats("solo").unsubscribeCalls;
    expect(await run.stop("SIGTERM")).toBe(0);
    expect(sim.stats("solo").unsubscribeCalls).toBe(unsubscribes + 1);
    expect(sim.stats("solo").sessions).toBe(0);
  }
}, 30_000); // a real process, a worker and an agent: well past bun's default 5 s on a loaded machine

test("the compiled binary end to end: workers inside the binary connect, faults reach agents, SIGINT exits 0", async () => {
  const work = join(dir.path, "bin-state");
  const kubeA = writeKubeconfig(dir.path, "bin-a.kubeconfig");
  const kubeB = writeKubeconfig(dir.path, "bin-b.kubeconfig");
  const config = writeFile(
    dir.path,
    "bin.yaml",
    `clusters:
  - { name: bin-a, mcp_endpoint: "${sim.endpoint("bin-a")}", kubeconfig: ./bin-a.kubeconfig }
  - { name: bin-b, mcp_endpoint: "${sim.endpoint("bin-b")}", kubeconfig: ./bin-b.kubeconfig }
agent: { command: ["./agent.sh"] }
health: { listen: "127.0.0.1:0" }
state_dir: ${work}
`,
  );
  const run = startProcess([binary, "run", "--config", config]);
  try {
    await run.waitActive(2);
    sim.inject("bin-a", { name: "a-pod" });
    sim.inject("bin-b", { name: "b-pod", shape: "nested" });
    const runs = await waitFor("two agent runs", () => {
      const found = finishedRuns(work);
      return found.length >= 2 ? found : null;
    });
    const byCluster = Object.fromEntries(runs.map((r) => [r.result.cluster, r.env.KUBECONFIG]));
    expect(byCluster).toEqual({ "bin-a": kubeA, "bin-b": kubeB });
    // result.json came from the agent supervisor (the binary itself, `__agent-supervisor`): it names the run.
    expect(runs.every((r) => r.result.run_id > 0)).toBe(true);
  } finally {
    expect(await run.stop("SIGINT")).toBe(0);
  }
  expect(run.stderr()).toBe("");
}, 30_000);
