/**
 * A real faultline (workers, health server, agent processes) against a real simulator, for
 * end-to-end tests. Everything started here is stopped by `stop()`.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Simulator, startSimulator } from "../../scripts/sim/index.ts";
import { startFaultline } from "../../src/app.ts";
import { parseConfig } from "../../src/config/load.ts";
import type { FaultEvent } from "../../src/events/fault.ts";
import type { Faultline } from "../../src/faultline.ts";
import { tempDir, writeFile, writeKubeconfig } from "./tmp.ts";
import { waitFor } from "./wait.ts";

/** An agent that records what it was given: stdin, env and cwd, into its workspace. */
export const RECORDING_AGENT = `#!/bin/sh
cat > stdin.json
printf '%s\\n' "KUBECONFIG=$KUBECONFIG" "FAULTLINE_CLUSTER=$FAULTLINE_CLUSTER" \\
  "FAULTLINE_INCIDENT_ID=$FAULTLINE_INCIDENT_ID" "FAULTLINE_WORKSPACE=$FAULTLINE_WORKSPACE" "PWD=$(pwd)" > env.txt
echo "agent ran for $FAULTLINE_CLUSTER"
`;

/** What one finished agent run left in its workspace. */
export interface FinishedRun {
  id: string;
  workspace: string;
  env: Record<string, string>;
  /** The event the agent read on stdin (null if it wrote none). */
  stdin: FaultEvent | null;
  result: { exit_code: number | null; cluster: string; run_id: number };
}

/** A test fleet: simulator + faultline + temp state. */
export interface Fleet {
  sim: Simulator;
  app: Faultline;
  kubeconfigs: Record<string, string>;
  /** Agent runs that have finished (result.json written), any order. */
  finishedRuns(): FinishedRun[];
  waitActive(names?: string[], timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Options for {@link startFleet}. */
export interface FleetOptions {
  clusters: string[];
  /** Extra YAML appended to the generated config (must not repeat generated keys). */
  extra?: string;
  /** Per-cluster extra YAML lines (indented under the cluster entry). */
  clusterExtra?: Record<string, string>;
  eventsSubscribe?: Record<string, boolean>;
  workersMax?: number;
  /** `workers.hang_seconds` (default: faultline's own). */
  hangSeconds?: number;
  /** `workers.threads` (default: faultline's own). */
  threads?: "auto" | "always" | "never";
  /** Rewrites a cluster's endpoint (e.g. to put a proxy in front of the simulator). */
  endpointFor?: (name: string, simEndpoint: string) => string;
  /** The `ping` value (default `{ interval_seconds: 0.5, timeout_seconds: 2 }`). */
  ping?: string;
  /** Extra `agent` keys, e.g. `max_concurrent: 1, max_queue: 2`. */
  agentExtra?: string;
  /** The agent script (default {@link RECORDING_AGENT}). */
  agentScript?: string;
  /** Runs against the simulator before faultline starts (e.g. to create events that exist already). */
  beforeStart?: (sim: Simulator) => void;
  /** Extra `health` keys, e.g. `auth_token: secret` (after `listen`). */
  healthExtra?: string;
  /** faultline's log level (default warn, to keep test output readable). */
  logLevel?: "debug" | "info" | "warn" | "error";
}

/** Starts a simulator with `clusters` and a faultline watching all of them. */
export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const tmp = tempDir();
  const sim = await startSimulator({
    clusters: options.clusters.map((name) => ({
      name,
      eventsSubscribe: options.eventsSubscribe?.[name] ?? true,
    })),
  });
  const kubeconfigs: Record<string, string> = {};
  const entries = options.clusters.map((name) => {
    kubeconfigs[name] = writeKubeconfig(tmp.path, `${name}.kubeconfig`);
    const extra = options.clusterExtra?.[name] ?? "";
    const endpoint = options.endpointFor?.(name, sim.endpoint(name)) ?? sim.endpoint(name);
    return `  - name: ${name}\n    mcp_endpoint: ${endpoint}\n    kubeconfig: ./${name}.kubeconfig\n    labels: { team: t-${name} }\n${extra}`;
  });
  writeFile(tmp.path, "agent.sh", options.agentScript ?? RECORDING_AGENT, 0o755);
  const text = `clusters:\n${entries.join("\n")}
agent: { command: ["./agent.sh"], timeout_seconds: 20, ${options.agentExtra ?? "max_concurrent: 4"} }
reconnect: { initial_seconds: 0.05, max_seconds: 0.4 }
ping: ${options.ping ?? "{ interval_seconds: 0.5, timeout_seconds: 2 }"}
health: { listen: "127.0.0.1:0"${options.healthExtra ? `, ${options.healthExtra}` : ""} }
workers: { max: ${options.workersMax ?? 16}${options.hangSeconds === undefined ? "" : `, hang_seconds: ${options.hangSeconds}`}${options.threads ? `, threads: ${options.threads}` : ""} }
state_dir: ./state
log_level: ${options.logLevel ?? "warn"}
${options.extra ?? ""}`;
  const source = writeFile(tmp.path, "faultline.yaml", text);
  options.beforeStart?.(sim);
  const app = await startFaultline(parseConfig(text, source, {}));
  const fleet: Fleet = {
    sim,
    app,
    kubeconfigs,
    finishedRuns: () => finishedRuns(join(tmp.path, "state")),
    waitActive: async (names = options.clusters, timeoutMs = 10_000) => {
      await waitFor(
        `clusters ${names.join(", ")} active`,
        () => names.every((n) => app.registry.get(n)?.status === "active"),
        timeoutMs,
      );
    },
    stop: async () => {
      await app.stop(2000);
      await sim.stop();
      tmp.cleanup();
    },
  };
  return fleet;
}

/** Reads every incident workspace that has a result.json. */
export function finishedRuns(stateDir: string): FinishedRun[] {
  const incidents = join(stateDir, "incidents");
  if (!existsSync(incidents)) return [];
  const runs: FinishedRun[] = [];
  for (const id of readdirSync(incidents)) {
    const workspace = join(incidents, id);
    const resultFile = join(workspace, "result.json");
    if (!existsSync(resultFile)) continue;
    const env: Record<string, string> = {};
    const envFile = join(workspace, "env.txt");
    if (existsSync(envFile)) {
      for (const line of readFileSync(envFile, "utf8").split("\n")) {
        const at = line.indexOf("=");
        if (at > 0) env[line.slice(0, at)] = line.slice(at + 1);
      }
    }
    const stdinFile = join(workspace, "stdin.json");
    runs.push({
      id,
      workspace,
      env,
      stdin: existsSync(stdinFile) ? JSON.parse(readFileSync(stdinFile, "utf8")) : null,
      result: JSON.parse(readFileSync(resultFile, "utf8")),
    });
  }
  return runs;
}
