/**
 * Starting child processes the same way on Bun and Deno: `node:child_process`, which both implement,
 * behind a small interface with web streams for the pipes and a promise for the exit. `detached`
 * starts the child in its own session and process group (`setsid`), so a whole group can be signalled.
 */
import { type ChildProcess, type StdioOptions, spawn } from "node:child_process";
import { Readable } from "node:stream";

/** Where a child's standard stream goes: `"pipe"` (read by us), `"ignore"`, or an open file descriptor. */
export type StdioTarget = "pipe" | "ignore" | number;

/** How to start a child. */
export interface SpawnOptions {
  cwd: string;
  /** The child's whole environment. */
  env: Record<string, string | undefined>;
  stdin: "ignore" | number;
  stdout: StdioTarget;
  stderr: StdioTarget;
  /** Own session and process group (default false). */
  detached?: boolean;
}

/** A started child process. */
export interface Subprocess {
  readonly pid: number;
  /** Its stdout when piped, else null. */
  readonly stdout: ReadableStream<Uint8Array> | null;
  /** Its stderr when piped, else null. */
  readonly stderr: ReadableStream<Uint8Array> | null;
  /** Resolves with the exit code (null when a signal ended it) once it has exited. */
  readonly exited: Promise<number | null>;
  /** The exit code once exited; null before, or when a signal ended it. */
  readonly exitCode: number | null;
  /** The signal that ended it (`SIGKILL`…), or null. */
  readonly signalCode: string | null;
  /** Sends `signal` to the child itself; a no-op once it has exited. */
  kill(signal: NodeJS.Signals): void;
}

/**
 * Starts `argv` and resolves once it runs; rejects when it cannot be started (no such program, not
 * executable, no such `cwd`), with the system's error (`ENOENT`…).
 *
 * @example
 * ```ts
 * const child = await spawnProcess(["./triage.sh"], { cwd, env, stdin: "ignore", stdout: "pipe", stderr: "pipe", detached: true });
 * for await (const chunk of child.stdout!) process.stdout.write(chunk);
 * const code = await child.exited;
 * ```
 */
export function spawnProcess(argv: readonly string[], options: SpawnOptions): Promise<Subprocess> {
  const [program, ...args] = argv;
  if (program === undefined) return Promise.reject(new Error("empty command"));
  const stdio: StdioOptions = [options.stdin, options.stdout, options.stderr];
  const child = spawn(program, args, {
    cwd: options.cwd,
    env: options.env,
    stdio,
    detached: options.detached ?? false,
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => resolve(code));
  });
  return new Promise<Subprocess>((resolve, reject) => {
    const failed = (error: Error): void => reject(error);
    child.once("error", failed);
    child.once("spawn", () => {
      child.off("error", failed);
      // Later errors (a kill that cannot be delivered) must not crash the process.
      child.on("error", () => {});
      resolve(wrap(child, exited));
    });
  });
}

function wrap(child: ChildProcess, exited: Promise<number | null>): Subprocess {
  return {
    pid: child.pid ?? 0,
    stdout: child.stdout ? toWebStream(child.stdout) : null,
    stderr: child.stderr ? toWebStream(child.stderr) : null,
    exited,
    get exitCode() {
      return child.exitCode;
    },
    get signalCode() {
      return child.signalCode;
    },
    kill(signal) {
      child.kill(signal);
    },
  };
}

function toWebStream(stream: Readable): ReadableStream<Uint8Array> {
  return Readable.toWeb(stream) as unknown as ReadableStream<Uint8Array>;
}
