/**
 * Smoke test of faultline on Deno (`deno run -A src/main.ts …`, the `deno` devDependency), driven from
 * bun:test: `check` answers as under Bun, and a short `run` against three simulated clusters connects,
 * reports health, runs the agent with each cluster's kubeconfig, and exits 0 on SIGTERM. Skipped, with
 * a message, where `node_modules/.bin/deno` is missing. (The full Deno end-to-end suite is in `.ci/run`.)
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type Simulator, startSimulator } from "../../scripts/sim/index.ts";
import { finishedRuns, RECORDING_AGENT } from "../helpers/fleet.ts";
import { SOURCE_CLI, startProcess } from "../helpers/process.ts";
import { tempDir, writeFile, writeKubeconfig } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

const ROOT = join(import.meta.dir, "..", "..");
const DENO = join(ROOT, "node_modules", ".bin", "deno");
const hasDeno = existsSync(DENO);
if (!hasDeno) console.warn(`skipping the Deno smoke test: ${DENO} is missing (npm ci installs it)`);

/** `deno run -A src/main.ts`: the faultline CLI from the source tree, on Deno. */
const DENO_CLI: readonly string[] = [DENO, "run", "-A", join(ROOT, "src", "main.ts")];
const ENV = { NO_COLOR: "1" };

/** Runs a CLI to its end. */
function runToEnd(argv: readonly string[]): { code: number; stdout: string; stderr: string } {
  const result = Bun.spawnSync([...argv], { cwd: ROOT, env: { ...process.env, ...ENV } });
  return { code: result.exitCode ?? -1, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

describe.skipIf(!hasDeno)("faultline on Deno", () => {
  const dir = tempDir("faultline-deno-");
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ clusters: ["a", "b", "c"] });
  });
  afterAll(async () => {
    await sim?.stop();
    dir.cleanup();
  });

  test("check: the same output and exit code as under Bun, valid and invalid", () => {
    const bad = writeFile(
      dir.path,
      "bad.yaml",
      "clusters:\n  - name: a\n    mcp_endpoint: ftp://x\n    kubeconfig: ./nope.yaml\n  - name: a\n" +
        "    mcp_endpoint: http://127.0.0.1:1/mcp\n    kubeconfig: ./nope.yaml\n    bogus: 1\n",
    );
    for (const config of [join(ROOT, "examples", "faultline.yaml"), bad, join(dir.path, "missing.yaml")]) {
      const onBun = runToEnd([...SOURCE_CLI, "check", "--config", config]);
      const onDeno = runToEnd([...DENO_CLI, "check", "--config", config]);
      expect(onDeno).toEqual(onBun);
    }
    expect(runToEnd([...DENO_CLI, "check", "--config", bad]).code).toBe(2);
  }, 60_000);

  test("run: three clusters active, /health/clusters, one agent per cluster with its kubeconfig, SIGTERM exits 0", async () => {
    const names = ["a", "b", "c"];
    const entries = names.map((name) => {
      writeKubeconfig(dir.path, `${name}.kubeconfig`);
      return `  - { name: ${name}, mcp_endpoint: "${sim.endpoint(name)}", kubeconfig: ./${name}.kubeconfig }`;
    });
    writeFile(dir.path, "agent.sh", RECORDING_AGENT, 0o755);
    const config = writeFile(
      dir.path,
      "faultline.yaml",
      `clusters:\n${entries.join("\n")}
agent: { command: ["./agent.sh"], timeout_seconds: 20 }
reconnect: { initial_seconds: 0.05, max_seconds: 0.4 }
health: { listen: "127.0.0.1:0" }
state_dir: ./state
log_level: info
`,
    );
    const faultline = startProcess([...DENO_CLI, "run", "--config", config], ENV);
    try {
      const url = await faultline.waitActive(3, 30_000);
      const health = (await (await fetch(`${url}/health/clusters`)).json()) as {
        clusters: { name: string; status: string; mode: string }[];
        summary: { total: number; active: number };
      };
      expect(health.summary).toMatchObject({ total: 3, active: 3 });
      expect(health.clusters.map((c) => [c.name, c.status, c.mode]).sort()).toEqual([
        ["a", "active", "push"],
        ["b", "active", "push"],
        ["c", "active", "push"],
      ]);
      for (const name of names) expect(sim.inject(name, { name: `${name}-pod` })).toBe(1);
      const state = join(dir.path, "state");
      const runs = await waitFor("an agent run per cluster", () => {
        const done = finishedRuns(state);
        return done.length === 3 ? done : undefined;
      });
      for (const run of runs) {
        expect(run.result.exit_code).toBe(0);
        expect(run.env.KUBECONFIG).toBe(join(dir.path, `${run.result.cluster}.kubeconfig`));
        expect(run.stdin?.resource.name).toBe(`${run.result.cluster}-pod`);
      }
      expect(await faultline.stop("SIGTERM")).toBe(0);
      expect(faultline.logs.some((line) => line.msg === "stopped")).toBe(true);
    } finally {
      await faultline.stop("SIGKILL");
    }
  }, 60_000);
});
