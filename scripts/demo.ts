/**
 * `bun run demo` (or `deno run -A scripts/demo.ts`): faultline's whole flow on one machine, no cluster needed.
 *
 * Starts three simulated kubernetes-mcp-servers, writes a config for them, runs `faultline run` as a
 * real process (worker threads, health server, the sample agent in examples/agents/triage.sh),
 * injects a few faults and shows what happened: which agent ran for which cluster with which
 * kubeconfig, and the health view. Then it keeps running for you to explore until Ctrl-C
 * (`--once` stops after the summary). faultline runs under the runtime that runs the demo.
 */
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { type AgentResult, RESULT_FILE } from "../src/agent/outcome.ts";
import { AGENT_LOG_FILE, workspacePath } from "../src/agent/workspace.ts";
import { paint, useColor } from "../src/cli/color.ts";
import type { ClustersBody, HealthBody } from "../src/http/app.ts";
import { sleep } from "../src/runtime/sleep.ts";
import { lines } from "./lines.ts";
import { CURRENT_RUNTIME, ROOT, scriptCommand } from "./runtime.ts";
import { type SimFault, startSimulator } from "./sim/index.ts";

const { values } = parseArgs({
  options: {
    once: { type: "boolean", default: false },
    port: { type: "string", default: "8080" },
    dir: { type: "string", default: join(ROOT, ".demo") },
  },
});

const CLUSTERS = ["prod-east", "prod-west", "staging"] as const;
/** ANSI colours only on a terminal, and never with NO_COLOR (a pipe or a log file gets plain text). */
const color = useColor(process.stdout);
const say = (text: string) => process.stdout.write(`${paint(`▶ ${text}`, "\x1b[1m", color)}\n`);

const dir = resolve(values.dir);
rmSync(dir, { recursive: true, force: true });
mkdirSync(join(dir, "kubeconfigs"), { recursive: true });

say(`starting ${CLUSTERS.length} simulated kubernetes-mcp-servers`);
const sim = await startSimulator({ clusters: [...CLUSTERS], controlPort: 0 });
for (const name of CLUSTERS) {
  cpSync(join(ROOT, "examples", "kubeconfigs", `${name}.yaml`), join(dir, "kubeconfigs", `${name}.yaml`));
}
const configFile = join(dir, "faultline.yaml");
writeFileSync(
  configFile,
  `# Written by scripts/demo.ts
clusters:
  - { name: prod-east, mcp_endpoint: "${sim.endpoint("prod-east")}", kubeconfig: ./kubeconfigs/prod-east.yaml, labels: { region: us-east } }
  - { name: prod-west, mcp_endpoint: "${sim.endpoint("prod-west")}", kubeconfig: ./kubeconfigs/prod-west.yaml, labels: { region: us-west }, severity_threshold: warning }
  - { name: staging, mcp_endpoint: "${sim.endpoint("staging")}", kubeconfig: ./kubeconfigs/staging.yaml, triage: false }
agent: { command: ["${join(ROOT, "examples", "agents", "triage.sh")}"], max_concurrent: 2, timeout_seconds: 60 }
reconnect: { initial_seconds: 1, max_seconds: 10 }
health: { listen: "127.0.0.1:${await healthPort(Number(values.port))}" }
state_dir: ./data
`,
);

/** `faultline` from the source tree, under this runtime (`bun src/main.ts`, `deno run -A src/main.ts`). */
const [FAULTLINE, ...FAULTLINE_ARGS] = scriptCommand(CURRENT_RUNTIME, join(ROOT, "src", "main.ts")) as [
  string,
  ...string[],
];

say(`starting faultline: faultline run --config ${configFile}`);
const faultline = spawn(FAULTLINE, [...FAULTLINE_ARGS, "run", "--config", configFile], {
  stdio: ["ignore", "pipe", "inherit"],
});
// Deno's node:child_process reports a child that handled SIGTERM and exited 0 as (null, "SIGTERM"); its
// last log line ("stopped") tells a clean stop apart from a kill there.
let loggedStopped = false;
const exited = new Promise<number>((done) =>
  faultline.once("exit", (code, signal) => done(code ?? (signal === "SIGTERM" && loggedStopped ? 0 : 1))),
);
const healthUrl = Promise.withResolvers<string>();
void (async () => {
  for await (const line of lines(faultline.stdout)) {
    process.stdout.write(`${paint("faultline │", "\x1b[2m", color)} ${line}\n`);
    if (line.includes('"health server listening"')) healthUrl.resolve(JSON.parse(line).url);
    if (line.includes('"msg":"stopped"')) loggedStopped = true;
  }
})();
void exited.then((code) => healthUrl.reject(new Error(`faultline exited early (code ${code})`)));

let exitCode = 0;
try {
  const url = await withDeadline(healthUrl.promise, 15_000, "faultline's health server");
  await until(async () => {
    const body = (await (await fetch(`${url}/health`)).json()) as HealthBody;
    return body.summary.active === CLUSTERS.length;
  }, "all clusters active");

  const faults: Array<{ cluster: string; fault: SimFault; triaged: boolean; what: string }> = [
    {
      cluster: "prod-east",
      fault: { faultType: "CrashLoop", severity: "critical", namespace: "shop", name: "checkout-7d9f" },
      triaged: true,
      what: "triaged",
    },
    {
      cluster: "prod-west",
      fault: { shape: "nested", namespace: "api", name: "gateway-5c2", reason: "BackOff" },
      triaged: true,
      what: "triaged (older nested payload shape)",
    },
    {
      cluster: "prod-west",
      fault: { faultType: "PodCrash", severity: "info", name: "batch-1" },
      triaged: false,
      what: "below prod-west's threshold: recorded, not triaged",
    },
    {
      cluster: "staging",
      fault: { faultType: "JobFailure", severity: "critical", name: "nightly" },
      triaged: false,
      what: "staging has triage: false: recorded, not triaged",
    },
    {
      cluster: "prod-east",
      fault: { faultType: "NodeUnhealthy", severity: "critical", name: "node-3" },
      triaged: true,
      what: "triaged",
    },
  ];
  say("injecting faults");
  for (const { cluster, fault, what } of faults) {
    sim.inject(cluster, fault);
    process.stdout.write(
      `   ${cluster.padEnd(10)} ${(fault.faultType ?? fault.reason ?? "").padEnd(14)} ${what}\n`,
    );
  }
  const expected = faults.filter((f) => f.triaged).length;
  await until(() => results(dir).length >= expected, `${expected} agent runs`);

  say("agent runs (each with its own cluster's kubeconfig)");
  for (const run of results(dir)) {
    process.stdout.write(
      `   ${run.cluster.padEnd(10)} exit ${run.exit_code}  KUBECONFIG=${run.kubeconfig}\n`,
    );
    process.stdout.write(`   ${"".padEnd(10)} workspace ${run.workspace}\n`);
  }
  say(`faultline incidents --config ${configFile}`);
  const table = spawnSync(FAULTLINE, [...FAULTLINE_ARGS, "incidents", "--config", configFile], {
    encoding: "utf8",
  });
  process.stdout.write(`${table.stdout.replace(/^/gm, "   ")}\n`);
  say("GET /health/clusters");
  const health = (await (await fetch(`${url}/health/clusters`)).json()) as ClustersBody;
  for (const c of health.clusters)
    process.stdout.write(`   ${c.name.padEnd(10)} ${c.status.padEnd(8)} events ${c.event_count}\n`);
  process.stdout.write(`   summary ${JSON.stringify(health.summary)}\n`);

  if (!values.once) {
    say("faultline keeps running. Try:");
    process.stdout.write(`   open ${url}/ in a browser: the status page\n`);
    process.stdout.write(`   curl ${url}/health/clusters\n`);
    process.stdout.write(
      `   curl -X POST -H 'content-type: application/json' -d '{"severity":"critical"}' ${sim.controlUrl}/clusters/prod-east/faults\n`,
    );
    process.stdout.write(`   curl -X POST ${sim.controlUrl}/clusters/prod-west/down   # then /up\n`);
    process.stdout.write("   Ctrl-C to stop.\n");
    await new Promise<void>((done) => {
      process.once("SIGINT", done);
      process.once("SIGTERM", done);
    });
  }
} catch (error) {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  exitCode = 1;
} finally {
  say("stopping faultline (SIGTERM) and the simulators");
  faultline.kill("SIGTERM");
  const code = await exited;
  if (code !== 0) exitCode = 1;
  await sim.stop();
}
process.exit(exitCode);

/** `wanted` when it is free (or 0), else 0: any free port, so a busy 8080 never stops the demo. */
async function healthPort(wanted: number): Promise<number> {
  if (wanted === 0) return 0;
  const server = createServer();
  const free = await new Promise<boolean>((answer) => {
    server.once("error", () => answer(false));
    server.listen(wanted, "127.0.0.1", () => answer(true));
  });
  if (free) {
    await new Promise((closed) => server.close(closed));
    return wanted;
  }
  say(`port ${wanted} is busy: the health server takes any free port`);
  return 0;
}

/** Finished agent runs found in the demo's state dir. */
function results(
  base: string,
): Array<{ cluster: string; exit_code: number | null; kubeconfig: string; workspace: string }> {
  const stateDir = join(base, "data");
  const incidents = join(stateDir, "incidents");
  if (!existsSync(incidents)) return [];
  return readdirSync(incidents)
    .map((id) => workspacePath(stateDir, id))
    .filter((workspace) => existsSync(join(workspace, RESULT_FILE)))
    .map((workspace) => {
      const result = JSON.parse(readFileSync(join(workspace, RESULT_FILE), "utf8")) as AgentResult;
      const log = readFileSync(join(workspace, AGENT_LOG_FILE), "utf8");
      return {
        cluster: result.cluster,
        exit_code: result.exit_code,
        kubeconfig: /kubeconfig: (.*)/.exec(log)?.[1] ?? "?",
        workspace,
      };
    });
}

async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (
      await Promise.resolve()
        .then(check)
        .catch(() => false)
    )
      return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    work,
    sleep(ms).then(() => {
      throw new Error(`timed out waiting for ${what}`);
    }),
  ]);
}
