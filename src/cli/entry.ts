/**
 * The faultline command line: dispatches `run`, `check`, `incidents`, `version` and `probe`; each
 * parses its own flags and answers its own `--help`. `--version`/`-v` print the version.
 *
 * @example
 * ```ts
 * const code = await cli(["check", "--config", "faultline.yaml"]);
 * ```
 */
import { SUPERVISOR_COMMAND } from "../agent/supervisor-args.ts";
import { VERSION } from "../version.ts";
import { agentSupervisorCommand } from "./agent-supervisor.ts";
import { checkCommand } from "./check.ts";
import { EXIT } from "./exit-codes.ts";
import { incidentsCommand } from "./incidents.ts";
import { type CommandIO, PROCESS_IO } from "./io.ts";
import { probeCommand } from "./probe.ts";
import { runCommand } from "./run.ts";
import { versionCommand } from "./version.ts";

/** The `--help` text. */
export const HELP = `faultline ${VERSION}: watch fault events from many Kubernetes clusters (kubernetes-mcp-server)
and run a triage agent for each fault with that cluster's kubeconfig.

Usage:
  faultline run --config FILE     connect to every enabled cluster and triage faults until SIGINT/SIGTERM
                                  (SIGHUP reloads FILE)
  faultline check --config FILE   validate FILE and the token, CA and certificate files it names;
                                  exit 0 when valid, 2 with every problem on stderr
  faultline incidents --config FILE [--cluster C] [--status S] [--limit N] [--json]
                                  list incidents from the store (works while faultline runs)
  faultline incidents show ID --config FILE [--json]
                                  one incident: its runs, the agent's summary and report, its notifications
  faultline version               print the version (also --version, -v)
  faultline probe URL             GET a local URL, exit 0 on 2xx (container health checks)
  faultline --help                this text; faultline COMMAND --help for a command's own

Options:
  -c, --config FILE   the YAML config (see examples/faultline.yaml); \${VAR} and \${VAR:-default}
                      in its values are taken from the environment, $$ is a literal $
  -h, --help          show this help

Exit codes: ${EXIT.ok} ok, ${EXIT.error} runtime error, ${EXIT.usage} invalid config or usage.
(run exits ${EXIT.error} when a token, CA or certificate file the config names cannot be used.)`;

/** Each command: what follows its name → the exit code. */
const COMMANDS: Readonly<Record<string, (argv: string[], io: CommandIO) => number | Promise<number>>> = {
  run: runCommand,
  check: checkCommand,
  incidents: incidentsCommand,
  version: versionCommand,
  probe: probeCommand,
};

/**
 * Runs the CLI with `argv` (without the program name), writing to `io`; resolves to the exit code.
 * (`run` logs to the process's stdout whatever `io` is.)
 */
export async function cli(argv: string[], io: CommandIO = PROCESS_IO): Promise<number> {
  // The hidden agent supervisor has flags of its own; it parses its arguments itself.
  if (argv[0] === SUPERVISOR_COMMAND) return agentSupervisorCommand(argv.slice(1), io);
  const [first, ...rest] = argv;
  if (first === "--version" || first === "-v") return versionCommand([], io);
  if (first === "help" && rest[0] && rest[0] in COMMANDS) return cli([rest[0], "--help"], io);
  if (first === undefined) return usageError("a command is required", io);
  // The command may follow global flags (`faultline -c FILE check`): it is the first word that names one.
  const at = argv.findIndex((arg) => Object.hasOwn(COMMANDS, arg));
  const help = first === "help" || (at < 0 && (argv.includes("--help") || argv.includes("-h")));
  if (help) {
    io.stdout(`${HELP}\n`);
    return EXIT.ok;
  }
  if (first.startsWith("-") && at < 0) return usageError(`unknown option '${first}' or no command`, io);
  const name = at < 0 ? first : (argv[at] as string);
  const command = COMMANDS[name];
  if (!command || (at > 0 && !first.startsWith("-"))) return usageError(`unknown command "${first}"`, io);
  return command([...argv.slice(0, at), ...argv.slice(at + 1)], io);
}

/** Prints `faultline: <problem>` and the help on stderr; exit 2. */
function usageError(problem: string, io: CommandIO): number {
  io.stderr(`faultline: ${problem}\n\n${HELP}\n`);
  return EXIT.usage;
}
