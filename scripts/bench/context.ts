/**
 * The shared wall clock, the `context` format of benchmark faults and JSON-line output, used by the
 * simulator process, the baseline and the benchmark. Dependency-free (but for the line splitter), so that
 * importing it costs the baseline nothing measurable.
 */
import { lines } from "../lines.ts";

/**
 * Wall-clock milliseconds with sub-millisecond precision, comparable across processes on this machine
 * (`performance.timeOrigin + performance.now()`; within ~1 ms of `Date.now()`).
 */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Writes `value` to stdout as one JSON line. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Prefix of every benchmark fault's `context`. */
const CONTEXT_PREFIX = "bench|";

/** The `context` of a benchmark fault: `bench|<tag>|<seq>|<send ms>`. */
export function benchContext(tag: string, seq: number, sendMs: number): string {
  return `${CONTEXT_PREFIX}${tag}|${seq}|${sendMs.toFixed(3)}`;
}

/** A parsed benchmark `context`. */
export interface BenchContext {
  tag: string;
  seq: number;
  /** When the simulator wrote the fault to the subscriber's stream (wall-clock ms). */
  sendMs: number;
}

/** Parses a benchmark fault's `context`; null for anything else. */
export function parseBenchContext(context: unknown): BenchContext | null {
  if (typeof context !== "string" || !context.startsWith(CONTEXT_PREFIX)) return null;
  const [, tag, seq, sendMs] = context.split("|");
  if (tag === undefined || seq === undefined || sendMs === undefined) return null;
  return { tag, seq: Number(seq), sendMs: Number(sendMs) };
}

/** A command line a benchmark child reads on stdin: `{ cmd, id, … }`. */
export interface ChildCommand {
  cmd?: string;
  id?: unknown;
  [field: string]: unknown;
}

/** The JSON command lines on stdin, as they arrive; lines that are not JSON objects are skipped. */
export async function* stdinCommands(): AsyncGenerator<ChildCommand> {
  for await (const line of lines(process.stdin)) {
    let command: unknown;
    try {
      command = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof command === "object" && command !== null) yield command as ChildCommand;
  }
}
