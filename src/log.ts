/**
 * Structured JSON logging: one object per line on stdout, with `ts`, `level`, `msg` and any fields
 * (a `cluster` field wherever one applies). Works the same in the main thread and in worker threads.
 */

/** Log levels, least to most severe. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Extra structured fields attached to a log line. */
export type LogFields = Record<string, unknown>;

let threshold = 1;
let sink: (line: string) => void = (line) => process.stdout.write(`${line}\n`);

/** Sets the minimum level written (default `info`). */
export function setLogLevel(level: LogLevel): void {
  threshold = LOG_LEVELS.indexOf(level);
}

/** Replaces where log lines go (tests capture them). Returns the previous sink. */
export function setLogSink(next: (line: string) => void): (line: string) => void {
  const previous = sink;
  sink = next;
  return previous;
}

/**
 * Whether lines at `level` are written now (a line below the threshold costs no more than this check):
 * lets a hot path skip building the fields of lines that would be dropped.
 *
 * @example
 * ```ts
 * if (logEnabled("info")) for (const result of results) logResult(result);
 * ```
 */
export function logEnabled(level: LogLevel): boolean {
  return LOG_LEVELS.indexOf(level) >= threshold;
}

function write(level: LogLevel, msg: string, fields?: LogFields): void {
  sink(JSON.stringify({ ts: new Date().toISOString(), level, msg, ...fields }));
}

/** A logger that stamps the given fields (e.g. `{ cluster }`) on every line. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

/** Creates a logger whose lines all carry `base` fields. */
export function logger(base: LogFields = {}): Logger {
  return {
    debug: (msg, fields) => logEnabled("debug") && write("debug", msg, { ...base, ...fields }),
    info: (msg, fields) => logEnabled("info") && write("info", msg, { ...base, ...fields }),
    warn: (msg, fields) => logEnabled("warn") && write("warn", msg, { ...base, ...fields }),
    error: (msg, fields) => logEnabled("error") && write("error", msg, { ...base, ...fields }),
    child: (fields) => logger({ ...base, ...fields }),
  };
}

/** The message of any thrown value. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
