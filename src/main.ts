#!/usr/bin/env bun
/**
 * The faultline executable (package.json `bin`, the compiled binary's entry point): runs the command
 * line (`cli/entry.ts`) with the process's arguments and exits with its code; an unexpected error is
 * printed and exits 1.
 */
import { SUPERVISOR_COMMAND } from "./agent/supervisor-args.ts";
import { EXIT } from "./cli/exit-codes.ts";
import { errorMessage } from "./log.ts";

/**
 * The agent supervisor (one process per agent run) loads only what it needs, so it starts quickly;
 * everything else goes through the full command line.
 */
async function main(argv: string[]): Promise<number> {
  if (argv[0] === SUPERVISOR_COMMAND) {
    const { agentSupervisorCommand } = await import("./cli/agent-supervisor.ts");
    return agentSupervisorCommand(argv.slice(1));
  }
  const { cli } = await import("./cli/entry.ts");
  return cli(argv);
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`faultline: ${errorMessage(error)}\n`);
      process.exit(EXIT.error);
    },
  );
}
