/**
 * `faultline version` (also `faultline --version` and `-v`): prints `faultline <version>`.
 */
import { VERSION } from "../version.ts";
import { EXIT, type ExitCode } from "./exit-codes.ts";
import { type CommandIO, PROCESS_IO } from "./io.ts";

/** `faultline version --help`. */
export const VERSION_USAGE = `Usage: faultline version   (or faultline --version, faultline -v)

Print the version.`;

/** Prints the version line (or the usage for `--help`/`-h`); always {@link EXIT.ok}. */
export function versionCommand(argv: string[] = [], io: CommandIO = PROCESS_IO): ExitCode {
  if (argv.includes("--help") || argv.includes("-h")) io.stdout(`${VERSION_USAGE}\n`);
  else io.stdout(`faultline ${VERSION}\n`);
  return EXIT.ok;
}
