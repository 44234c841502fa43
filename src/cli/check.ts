/**
 * `faultline check --config FILE`: validates the config file (schema, whole-document and
 * file-system rules, the credential and certificate files) without connecting anywhere.
 */
import { connectionIssues } from "../config/connection-check.ts";
import { ConfigError, loadConfig } from "../config/load.ts";
import { EXIT, type ExitCode } from "./exit-codes.ts";
import { type CommandIO, PROCESS_IO, reportConfigError } from "./io.ts";

/**
 * Prints `<file>: valid (N cluster(s), M enabled)` and returns {@link EXIT.ok}, or prints every
 * problem with its field path on stderr and returns {@link EXIT.usage}.
 */
export function checkCommand(configFile: string, io: CommandIO = PROCESS_IO): ExitCode {
  try {
    const config = loadConfig(configFile);
    const issues = connectionIssues(config);
    if (issues.length > 0) throw new ConfigError(config.source, issues);
    const enabled = config.clusters.filter((c) => c.enabled).length;
    io.stdout(`${config.source}: valid (${config.clusters.length} cluster(s), ${enabled} enabled)\n`);
    return EXIT.ok;
  } catch (error) {
    return reportConfigError(error, io);
  }
}
