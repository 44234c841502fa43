/**
 * The agent's environment: only what `agent.env_passthrough` names from faultline's own environment
 * (so MCP tokens and cloud credentials faultline holds never reach an agent that did not ask for
 * them), every `FAULTLINE_*` variable but faultline's own secrets ({@link WITHHELD_VARIABLES}), and
 * the run's own: its cluster's `KUBECONFIG`, `FAULTLINE_CLUSTER`, `FAULTLINE_INCIDENT_ID` and
 * `FAULTLINE_WORKSPACE`.
 */
import { resolve } from "node:path";

/** The variable that tags every process of an incident's agent (with {@link WORKSPACE_VARIABLE}). */
export const INCIDENT_VARIABLE = "FAULTLINE_INCIDENT_ID";
/** The variable naming the run's workspace: with {@link INCIDENT_VARIABLE}, the tag of its processes. */
export const WORKSPACE_VARIABLE = "FAULTLINE_WORKSPACE";

/** Variables every agent gets from faultline's environment whatever `env_passthrough` says. */
const ALWAYS_PASSED_PREFIX = "FAULTLINE_";

/**
 * `FAULTLINE_*` variables that hold faultline's own secrets: not passed by the prefix, only when
 * `agent.env_passthrough` names one exactly. `FAULTLINE_DATABASE_URL` is the PostgreSQL URL, password
 * included, that `store.postgres.url` reads (README, deploy/kubernetes/overlays/ha).
 */
export const WITHHELD_VARIABLES: readonly string[] = ["FAULTLINE_DATABASE_URL"];

/** What an agent run's environment is made of. */
export interface AgentEnvInput {
  incident_id: string;
  cluster: { name: string; kubeconfig: string };
  workspace: string;
  /** `agent.env_passthrough`: names, or prefixes ending in `*`. */
  passthrough: readonly string[];
  /** The environment to pick from (faultline's own by default). */
  from?: Readonly<Record<string, string | undefined>>;
}

/**
 * True when an agent gets `name` from faultline's environment: a `FAULTLINE_*` variable (but the
 * {@link WITHHELD_VARIABLES}, passed only when named exactly), or one of `patterns` (an exact name, or a
 * prefix written `PREFIX*`).
 *
 * @example
 * ```ts
 * isPassedThrough("FAULTLINE_HEALTH_LISTEN", []);           // true
 * isPassedThrough("FAULTLINE_DATABASE_URL", ["FAULTLINE_*"]); // false
 * isPassedThrough("AWS_REGION", ["AWS_*"]);                 // true
 * ```
 */
export function isPassedThrough(name: string, patterns: readonly string[]): boolean {
  if (WITHHELD_VARIABLES.includes(name)) return patterns.includes(name);
  if (name.startsWith(ALWAYS_PASSED_PREFIX)) return true;
  return patterns.some((pattern) =>
    pattern.endsWith("*") ? name.startsWith(pattern.slice(0, -1)) : name === pattern,
  );
}

/**
 * The agent's environment.
 *
 * @example
 * ```ts
 * agentEnv({ incident_id, cluster, workspace, passthrough: ["PATH", "HOME"] });
 * // { PATH, HOME, KUBECONFIG, FAULTLINE_CLUSTER, FAULTLINE_INCIDENT_ID, FAULTLINE_WORKSPACE }
 * ```
 */
export function agentEnv(input: AgentEnvInput): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.from ?? process.env)) {
    if (value !== undefined && isPassedThrough(name, input.passthrough)) env[name] = value;
  }
  env.KUBECONFIG = resolve(input.cluster.kubeconfig);
  env.FAULTLINE_CLUSTER = input.cluster.name;
  env[INCIDENT_VARIABLE] = input.incident_id;
  env[WORKSPACE_VARIABLE] = input.workspace;
  return env;
}
