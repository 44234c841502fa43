/**
 * `faultline version`: prints `faultline <version>`.
 */
import { VERSION } from "../version.ts";
import { EXIT, type ExitCode } from "./exit-codes.ts";
import { type CommandIO, PROCESS_IO } from "./io.ts";

/** Prints the version line; always {@link EXIT.ok}. */
export function versionCommand(io: CommandIO = PROCESS_IO): ExitCode {
  io.stdout(`faultline ${VERSION}\n`);
  return EXIT.ok;
}
