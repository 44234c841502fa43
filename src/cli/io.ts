/**
 * Where commands write, and the one way they report an invalid config file.
 */
import { ConfigError, describeConfigError } from "../config/load.ts";
import { EXIT, type ExitCode } from "./exit-codes.ts";

/** Where a command writes its output (injectable for tests). */
export interface CommandIO {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

/** The process's own stdout and stderr. */
export const PROCESS_IO: CommandIO = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
};

/**
 * Prints every problem of a {@link ConfigError} like `faultline check` does and returns
 * {@link EXIT.usage}; anything else is rethrown.
 */
export function reportConfigError(error: unknown, io: CommandIO): ExitCode {
  if (!(error instanceof ConfigError)) throw error;
  io.stderr(describeConfigError(error));
  return EXIT.usage;
}
