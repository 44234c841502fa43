/**
 * The flags every faultline command takes (`-c, --config FILE` and `-h, --help`, for `node:util`
 * parseArgs), and the one way a command parses its arguments: its own `--help`, its own usage on a
 * bad flag.
 *
 * @example
 * ```ts
 * const parsed = parseCommandArgs("faultline:", USAGE, io, () =>
 *   parseArgs({ args: argv, strict: true, options: { ...COMMON_OPTIONS, json: { type: "boolean" } } }),
 * );
 * if (typeof parsed === "number") return parsed; // help printed (0) or bad usage (2)
 * ```
 */
import { errorMessage } from "../log.ts";
import { EXIT } from "./exit-codes.ts";
import type { CommandIO } from "./io.ts";

/** `-c, --config FILE` and `-h, --help`. */
export const COMMON_OPTIONS = {
  config: { type: "string", short: "c" },
  help: { type: "boolean", short: "h" },
} as const;

/**
 * Runs `parse` (a `parseArgs` call). A flag it rejects prints `<prefix> <problem>` and `usage` on
 * stderr and returns {@link EXIT.usage}; `--help` prints `usage` on stdout and returns {@link EXIT.ok};
 * otherwise the parsed arguments.
 */
export function parseCommandArgs<T extends { values: { help?: boolean } }>(
  prefix: string,
  usage: string,
  io: CommandIO,
  parse: () => T,
): T | number {
  let parsed: T;
  try {
    parsed = parse();
  } catch (error) {
    io.stderr(`${prefix} ${errorMessage(error)}\n\n${usage}\n`);
    return EXIT.usage;
  }
  if (parsed.values.help) {
    io.stdout(`${usage}\n`);
    return EXIT.ok;
  }
  return parsed;
}
