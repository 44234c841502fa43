/**
 * `faultline __agent-supervisor …` (hidden, not in `--help`): the agent supervisor process faultline
 * starts for each agent run (`agent/supervisor.ts` does the work; `agent/supervisor-args.ts` is its
 * argv); SIGTERM asks it to end the agent (recorded as interrupted).
 *
 * @example
 * ```sh
 * faultline __agent-supervisor --incident ID --cluster C --run-id 7 --workspace /abs/ws \
 *   --timeout-ms 600000 --grace-ms 5000 -- ./agents/triage.sh --flag
 * ```
 */
import { type SupervisorSpec, superviseAgent } from "../agent/supervisor.ts";
import { parseSupervisorArgs, SUPERVISOR_COMMAND } from "../agent/supervisor-args.ts";
import { errorMessage } from "../log.ts";
import { EXIT } from "./exit-codes.ts";
import { type CommandIO, PROCESS_IO } from "./io.ts";

/** Runs the supervisor; resolves to the exit code (0 once `result.json` is written). */
export async function agentSupervisorCommand(argv: string[], io: CommandIO = PROCESS_IO): Promise<number> {
  let spec: SupervisorSpec;
  try {
    spec = parseSupervisorArgs(argv);
  } catch (error) {
    io.stderr(`faultline ${SUPERVISOR_COMMAND}: ${errorMessage(error)}\n`);
    return EXIT.usage;
  }
  const stop = new AbortController();
  const onTerm = (): void => stop.abort();
  process.on("SIGTERM", onTerm);
  process.on("SIGINT", onTerm);
  try {
    await superviseAgent(spec, stop.signal);
    return EXIT.ok;
  } catch (error) {
    io.stderr(`faultline ${SUPERVISOR_COMMAND}: ${errorMessage(error)}\n`);
    return EXIT.error;
  } finally {
    process.off("SIGTERM", onTerm);
    process.off("SIGINT", onTerm);
  }
}
