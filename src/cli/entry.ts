/**
 * The faultline command line: dispatches `run`, `check`, `incidents` and `version`, prints the help.
 *
 * @example
 * ```ts
 * const code = await cli(["check", "--config", "faultline.yaml"]);
 * ```
 */
import { parseArgs } from "node:util";
import { SUPERVISOR_COMMAND } from "../agent/supervisor-args.ts";
import { errorMessage } from "../log.ts";
import { VERSION } from "../version.ts";
import { agentSupervisorCommand } from "./agent-supervisor.ts";
import { checkCommand } from "./check.ts";
import { EXIT } from "./exit-codes.ts";
import { incidentsCommand } from "./incidents.ts";
import { type CommandIO, PROCESS_IO } from "./io.ts";
import { COMMON_OPTIONS } from "./options.ts";
import { runCommand } from "./run.ts";
import { versionCommand } from "./version.ts";

/** The `--help` text. */
export const HELP = `faultline ${VERSION}: watch fault events from many Kubernetes clusters (kubernetes-mcp-server)
and run a triage agent for each fault with that cluster's kubeconfig.

Usage:
  faultline run --config FILE     connect to every enabled cluster and triage faults until SIGINT/SIGTERM
  faultline check --config FILE   validate FILE; exit 0 when valid, 2 with every problem on stderr
  faultline incidents --config FILE [--cluster C] [--status S] [--limit N] [--json]
                                  list incidents from the store (works while faultline runs)
  faultline version               print the version
  faultline --help                this text

Options:
  -c, --config FILE   the YAML config (see examples/faultline.yaml)
  -h, --help          show this help

Exit codes: ${EXIT.ok} ok, ${EXIT.error} runtime error, ${EXIT.usage} invalid config or usage.`;

/**
 * Runs the CLI with `argv` (without the program name), writing to `io`; resolves to the exit code.
 * (`run` logs to the process's stderr whatever `io` is.)
 */
export async function cli(argv: string[], io: CommandIO = PROCESS_IO): Promise<number> {
  // `incidents` and the hidden agent supervisor have flags of their own; they parse their arguments themselves.
  if (argv[0] === SUPERVISOR_COMMAND) return agentSupervisorCommand(argv.slice(1), io);
  if (argv[0] === "incidents") return incidentsCommand(argv.slice(1), io);
  let parsed: ReturnType<typeof parseCli>;
  try {
    parsed = parseCli(argv);
  } catch (error) {
    return usageError(errorMessage(error), io);
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help || command === "help") {
    io.stdout(`${HELP}\n`);
    return EXIT.ok;
  }
  switch (command) {
    case "version":
      return versionCommand(io);
    case "check":
    case "run": {
      if (!values.config) {
        io.stderr(`faultline ${command}: --config FILE is required\n`);
        return EXIT.usage;
      }
      return command === "check" ? checkCommand(values.config, io) : runCommand(values.config, io);
    }
    case undefined:
      return usageError("a command is required", io);
    default:
      return usageError(`unknown command "${command}"`, io);
  }
}

/** Prints `faultline: <problem>` and the help on stderr; exit 2. */
function usageError(problem: string, io: CommandIO): number {
  io.stderr(`faultline: ${problem}\n\n${HELP}\n`);
  return EXIT.usage;
}

/** The command (a positional) and the common flags; throws on an unknown flag. */
function parseCli(argv: string[]) {
  return parseArgs({ args: argv, allowPositionals: true, strict: true, options: COMMON_OPTIONS });
}
