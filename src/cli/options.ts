/**
 * The flags every faultline command takes: `-c, --config FILE` and `-h, --help` (for
 * `node:util` parseArgs).
 *
 * @example
 * ```ts
 * parseArgs({ args: argv, strict: true, options: { ...COMMON_OPTIONS, json: { type: "boolean" } } });
 * ```
 */
export const COMMON_OPTIONS = {
  config: { type: "string", short: "c" },
  help: { type: "boolean", short: "h" },
} as const;
