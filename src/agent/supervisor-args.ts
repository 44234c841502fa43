/**
 * The agent supervisor's command line, both ways: faultline builds it with {@link supervisorArgs},
 * the hidden `faultline __agent-supervisor` command reads it with {@link parseSupervisorArgs}, and
 * recovery recognises a live supervisor by it (`/proc/<pid>/cmdline`).
 */
import { isAbsolute } from "node:path";
import { parseArgs } from "node:util";
import type { SupervisorSpec } from "./supervisor.ts";

/** The hidden command's name. */
export const SUPERVISOR_COMMAND = "__agent-supervisor";

const OPTIONS = {
  incident: { type: "string" },
  cluster: { type: "string" },
  "run-id": { type: "string" },
  workspace: { type: "string" },
  "timeout-ms": { type: "string" },
  "grace-ms": { type: "string" },
  "max-log-bytes": { type: "string" },
} as const;

/** The arguments (after the command name) that make the supervisor run `spec`. */
export function supervisorArgs(spec: SupervisorSpec): string[] {
  return [
    SUPERVISOR_COMMAND,
    "--incident",
    spec.incident_id,
    "--cluster",
    spec.cluster,
    "--run-id",
    String(spec.run_id),
    "--workspace",
    spec.workspace,
    "--timeout-ms",
    String(spec.timeout_ms),
    "--grace-ms",
    String(spec.kill_grace_ms),
    "--max-log-bytes",
    String(spec.max_log_bytes),
    "--",
    ...spec.command,
  ];
}

/** Parses the supervisor's arguments (after the command name); throws naming the bad one. */
export function parseSupervisorArgs(argv: string[]): SupervisorSpec {
  const { values, positionals } = parseArgs({
    args: argv,
    options: OPTIONS,
    allowPositionals: true,
    strict: true,
  });
  const text = (name: keyof typeof OPTIONS): string => {
    const value = values[name];
    if (value === undefined || value === "") throw new Error(`--${name} is required`);
    return value;
  };
  const count = (name: keyof typeof OPTIONS): number => {
    const value = Number(text(name));
    if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} must be an integer >= 0`);
    return value;
  };
  const workspace = text("workspace");
  if (!isAbsolute(workspace)) throw new Error("--workspace must be an absolute path");
  if (positionals.length === 0) throw new Error("the agent's command is required after --");
  return {
    incident_id: text("incident"),
    cluster: text("cluster"),
    run_id: count("run-id"),
    workspace,
    timeout_ms: count("timeout-ms"),
    kill_grace_ms: count("grace-ms"),
    max_log_bytes: count("max-log-bytes"),
    command: positionals,
  };
}
