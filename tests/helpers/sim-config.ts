/** Configs and agents for end-to-end tests that run faultline against the simulator. */
import { join } from "node:path";
import type { Simulator } from "../../scripts/sim/index.ts";
import { writeFile, writeKubeconfig } from "./tmp.ts";

/**
 * Writes `<dir>/<name>.yaml`: the simulator's `clusters` (a kubeconfig each), fast reconnects, the
 * health server on any free port, `state_dir` `<dir>/<name>-state`, then `body` (agent and the rest).
 */
export function simConfig(
  dir: string,
  sim: Simulator,
  name: string,
  clusters: readonly string[],
  body: string,
): { config: string; state: string } {
  const state = join(dir, `${name}-state`);
  const entries = clusters.map((c) => {
    writeKubeconfig(dir, `${c}.kubeconfig`);
    return `  - { name: ${c}, mcp_endpoint: "${sim.endpoint(c)}", kubeconfig: ./${c}.kubeconfig }`;
  });
  const config = writeFile(
    dir,
    `${name}.yaml`,
    `clusters:\n${entries.join("\n")}
reconnect: { initial_seconds: 0.05, max_seconds: 0.5 }
health: { listen: "127.0.0.1:0" }
state_dir: ${state}
${body}`,
  );
  return { config, state };
}

/**
 * Writes an agent script logging `start|end|term <incident> <ms>` to `timeline`; it runs `before`,
 * sleeps `seconds` (interruptibly: SIGTERM logs `term` and exits 143), logs `end`, then runs `after`.
 */
export function timelineAgent(
  dir: string,
  name: string,
  timeline: string,
  seconds: number,
  shell: { before?: string; after?: string } = {},
): string {
  return writeFile(
    dir,
    name,
    `#!/bin/sh
stamp() { echo "$1 $FAULTLINE_INCIDENT_ID $(date +%s%3N)" >> "${timeline}"; }
trap 'stamp term; exit 143' TERM
stamp start
${shell.before ?? ""}
sleep ${seconds} &
wait $!
stamp end
${shell.after ?? ""}
`,
    0o755,
  );
}

/**
 * {@link simConfig} with `agent` as the agent program: `agentKeys` are its other keys (e.g.
 * `max_concurrent: 2, timeout_seconds: 60`), `extra` the config's remaining lines.
 */
export function agentConfig(
  dir: string,
  sim: Simulator,
  name: string,
  clusters: readonly string[],
  agent: string,
  agentKeys: string,
  extra = "",
): { config: string; state: string } {
  return simConfig(dir, sim, name, clusters, `agent: { command: ["${agent}"], ${agentKeys} }\n${extra}`);
}
