/**
 * The exit codes of every faultline command, defined once.
 *
 * @example
 * ```ts
 * process.exit(valid ? EXIT.ok : EXIT.usage);
 * ```
 */

/** `ok` 0: done; `error` 1: a runtime error (e.g. unusable state); `usage` 2: bad usage or an invalid config. */
export const EXIT = { ok: 0, error: 1, usage: 2 } as const;

/** One of {@link EXIT}'s codes. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
