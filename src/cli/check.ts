/**
 * `faultline check --config FILE`: validates the config file in one pass — schema, whole-document
 * rules, the files it names, the listen address, and whether the state_dir can be used — then the
 * token, CA and certificate files of a valid file, without connecting anywhere, taking the state_dir
 * lock or creating the database.
 */
import { parseArgs } from "node:util";
import { connectionIssues } from "../config/connection-check.ts";
import { ConfigError, loadConfig } from "../config/load.ts";
import { redactUrl } from "../runtime/redact.ts";
import { EXIT } from "./exit-codes.ts";
import { type CommandIO, PROCESS_IO, reportConfigError } from "./io.ts";
import { COMMON_OPTIONS, parseCommandArgs } from "./options.ts";

/** `faultline check --help`. */
export const CHECK_USAGE = `Usage: faultline check --config FILE

Validate FILE without connecting anywhere and report every problem in one pass, each with its field
path: the schema, the kubeconfigs and the agent program, the health server's address (also from
$FAULTLINE_HEALTH_LISTEN), and whether state_dir can be used (created, written, enough free space).
A store.postgres URL is checked for its shape only and shown with its credentials replaced by ***.
Takes no lock and creates nothing.

Options:
  -c, --config FILE   the YAML config
  -h, --help          show this help

Exit codes: 0 valid, 2 invalid (every problem on stderr).`;

/**
 * `argv` is what follows `check`. Prints `<file>: valid (N cluster(s), M enabled)` and returns
 * {@link EXIT.ok}, or prints every problem with its field path on stderr and returns {@link EXIT.usage}.
 */
export function checkCommand(argv: string[], io: CommandIO = PROCESS_IO): number {
  const parsed = parseCommandArgs("faultline:", CHECK_USAGE, io, () =>
    parseArgs({ args: argv, strict: true, allowPositionals: false, options: COMMON_OPTIONS }),
  );
  if (typeof parsed === "number") return parsed;
  if (!parsed.values.config) {
    io.stderr("faultline check: --config FILE is required\n");
    return EXIT.usage;
  }
  try {
    const config = loadConfig(parsed.values.config, process.env, { thorough: true });
    const issues = connectionIssues(config);
    if (issues.length > 0) throw new ConfigError(config.source, issues);
    const enabled = config.clusters.filter((c) => c.enabled).length;
    // A PostgreSQL store is named by its URL with the credentials replaced (never as written).
    const pg = config.store.postgres;
    const store = pg ? `; store: PostgreSQL at ${redactUrl(pg.url)}` : "";
    io.stdout(`${config.source}: valid (${config.clusters.length} cluster(s), ${enabled} enabled${store})\n`);
    return EXIT.ok;
  } catch (error) {
    return reportConfigError(error, io);
  }
}
