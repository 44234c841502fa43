#!/usr/bin/env bun
/**
 * The faultline executable (package.json `bin`, the compiled binary's entry point): runs the command
 * line ({@link cli}) with the process's arguments and exits with its code; an unexpected error is
 * printed and exits 1.
 */
import { cli } from "./cli/entry.ts";
import { EXIT } from "./cli/exit-codes.ts";
import { errorMessage } from "./log.ts";

if (import.meta.main) {
  cli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`faultline: ${errorMessage(error)}\n`);
      process.exit(EXIT.error);
    },
  );
}
