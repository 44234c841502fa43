/**
 * Small process helpers for the benchmark: `/proc` readings (RSS, CPU time), a JSON-lines reader for a
 * child's stdout, and a registry of every child started so they can all be ended.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, readdirSync, readFileSync, type WriteStream } from "node:fs";
import { constants } from "node:os";
import { lines } from "../lines.ts";

/** Clock ticks per second of `/proc/<pid>/stat` (`getconf CLK_TCK`; 100 on Linux). */
const CLOCK_TICKS = 100;

/** Memory of a process from `/proc/<pid>/status`, in bytes. */
interface MemoryReading {
  /** Resident set size now. */
  rss: number;
  /** Peak resident set size so far. */
  hwm: number;
}

/** Reads VmRSS and VmHWM of `pid`; null when the process is gone. */
export function readMemory(pid: number): MemoryReading | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return null;
  }
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text);
    return match?.[1] ? Number(match[1]) * 1024 : 0;
  };
  return { rss: field("VmRSS"), hwm: field("VmHWM") };
}

/** User + system CPU seconds `pid` has used (all its threads), or null when it is gone. */
export function readCpuSeconds(pid: number): number | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of the whole line, i.e. 11 and 12 after the command name.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return (utime + stime) / CLOCK_TICKS;
}

/**
 * CPU seconds per thread group of `pid`, from `/proc/<pid>/task/<tid>/{comm,stat}`: threads are grouped by
 * name (`main` for the thread whose id is the pid; Bun names its Web Workers `Worker`, the JIT compiler
 * threads `JITWorker`, the HTTP client thread `HTTP Client`, GC helpers `Heap Helper`/`…Collector`).
 */
export function readThreadCpu(pid: number): Record<string, number> {
  const groups: Record<string, number> = {};
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return groups;
  }
  for (const tid of tids) {
    try {
      const name =
        tid === String(pid) ? "main" : readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
      const text = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
      const seconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
      if (Number.isFinite(seconds)) groups[name] = (groups[name] ?? 0) + seconds;
    } catch {
      // the thread ended meanwhile
    }
  }
  return groups;
}

/** `after - before` per thread group, rounded to 10 ms, largest first, zero groups left out. */
export function threadCpuDelta(
  before: Record<string, number>,
  after: Record<string, number>,
): Record<string, number> {
  const entries = Object.entries(after)
    .map(([name, seconds]): [string, number] => [
      name,
      Math.round((seconds - (before[name] ?? 0)) * 100) / 100,
    ])
    .filter(([, seconds]) => seconds > 0)
    .sort((a, b) => b[1] - a[1]);
  return Object.fromEntries(entries);
}

/** CPU seconds of a process since a moment: all threads, and by thread group. */
export interface CpuSpent {
  cpu_s: number;
  threads: Record<string, number>;
}

/**
 * Reads `pid`'s CPU now; the function returned gives what it spent since (see {@link readCpuSeconds},
 * {@link readThreadCpu}).
 *
 * @example
 * ```ts
 * const spent = cpuFrom(child.pid);
 * await work();
 * spent(); // { cpu_s: 0.42, threads: { main: 0.35, "HTTP Client": 0.05, … } }
 * ```
 */
export function cpuFrom(pid: number): () => CpuSpent {
  const cpu0 = readCpuSeconds(pid) ?? 0;
  const threads0 = readThreadCpu(pid);
  return () => ({
    cpu_s: (readCpuSeconds(pid) ?? 0) - cpu0,
    threads: threadCpuDelta(threads0, readThreadCpu(pid)),
  });
}

/**
 * A started child process (node:child_process, which Bun and Deno both implement), with Bun's `exited`:
 * resolves with the exit code once it has exited (128 + the signal's number when a signal ended it).
 */
export interface ChildHandle {
  readonly pid: number;
  /** The exit code; null while it runs, and when a signal ended it. */
  readonly exitCode: number | null;
  /** The signal that ended it, or null. */
  readonly signalCode: NodeJS.Signals | null;
  readonly exited: Promise<number>;
  kill(signal?: NodeJS.Signals): void;
}

function handleOf(proc: ChildProcess): ChildHandle {
  const exited = new Promise<number>((resolve) => {
    proc.once("exit", (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
    // A program that cannot be started: no "exit" follows.
    proc.once("error", () => {
      if (proc.pid === undefined) resolve(127);
    });
  });
  return {
    get pid() {
      return proc.pid ?? 0;
    },
    get exitCode() {
      return proc.exitCode;
    },
    get signalCode() {
      return proc.signalCode;
    },
    exited,
    kill: (signal) => {
      proc.kill(signal);
    },
  };
}

/** A child process whose stdout is JSON lines; keeps the last lines of stdout and stderr for diagnostics. */
export class JsonLineChild {
  readonly proc: ChildHandle;
  readonly name: string;
  readonly #stdin: NodeJS.WritableStream | null;
  /** Both output pipes read to their end. */
  readonly #drained: Promise<unknown>;
  readonly #waiters = new Set<{
    match: (line: Record<string, unknown>) => boolean;
    resolve: (line: Record<string, unknown>) => void;
  }>();
  readonly #tail: string[] = [];
  readonly #listeners = new Set<(line: Record<string, unknown>) => void>();
  /** Where every line the child writes is appended as well (null: kept in the tail only). */
  readonly #log: WriteStream | null;

  /** Reads `proc`'s output; with `logFile`, appends every line of it (stderr lines prefixed) to that file. */
  constructor(name: string, proc: ChildProcess, logFile: string | null = null) {
    this.name = name;
    // Buffered: a slow log file must not hold the child's stdout (and so the child) back.
    this.#log = logFile ? createWriteStream(logFile, { flags: "a" }) : null;
    this.proc = handleOf(proc);
    this.#stdin = proc.stdin;
    // A child that exits with commands still queued: EPIPE on its stdin is not the benchmark's failure.
    proc.stdin?.on("error", () => {});
    this.#drained = Promise.all([
      proc.stdout && this.#read(proc.stdout, true),
      proc.stderr && this.#read(proc.stderr, false),
    ]).finally(() => this.#log?.end());
  }

  /** The child's pid. */
  get pid(): number {
    return this.proc.pid;
  }

  /** Whether the child has exited. */
  get exited(): boolean {
    return this.proc.exitCode !== null || this.proc.signalCode !== null;
  }

  /** Calls `listener` with every JSON line from now on; returns an unsubscribe function. */
  onLine(listener: (line: Record<string, unknown>) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Waits for a JSON stdout line matching `match` (from now on). Rejects on timeout or exit. */
  waitForLine(
    what: string,
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs: number,
  ): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (line: Record<string, unknown>) => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve(line);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(
          new Error(`${this.name}: timed out after ${timeoutMs} ms waiting for ${what}\n${this.tail()}`),
        );
      }, timeoutMs);
      this.#waiters.add(waiter);
      void this.proc.exited.then(async (code) => {
        if (!this.#waiters.has(waiter)) return;
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        reject(
          new Error(`${this.name}: exited (${code}) while waiting for ${what}\n${await this.finalTail()}`),
        );
      });
    });
  }

  /** Writes one JSON command line to the child's stdin. */
  #send(command: Record<string, unknown>): void {
    if (!this.#stdin) throw new Error(`${this.name}: no stdin pipe`);
    this.#stdin.write(`${JSON.stringify(command)}\n`);
  }

  /**
   * Sends a command and waits for the reply line carrying the same `id`; rejects when the reply is an
   * error (`{ id, error }`: an unknown command, a bad argument), naming the child and the command.
   */
  async request(command: Record<string, unknown>, timeoutMs: number): Promise<Record<string, unknown>> {
    const id = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const reply = this.waitForLine(`reply to ${String(command.cmd)}`, (line) => line.id === id, timeoutMs);
    this.#send({ ...command, id });
    const line = await reply;
    if (typeof line.error === "string")
      throw new Error(`${this.name}: ${String(command.cmd)}: ${line.error}`);
    return line;
  }

  /** The last lines the child wrote, for error messages. */
  tail(): string {
    return this.#tail.map((line) => `  | ${line}`).join("\n");
  }

  /** {@link tail} once the pipes of an exited child are read to their end (1 s at most). */
  async finalTail(): Promise<string> {
    await Promise.race([this.#drained, new Promise((resolve) => setTimeout(resolve, 1000))]);
    return this.tail();
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the child is gone. */
  async stop(graceMs: number): Promise<void> {
    if (this.exited) return;
    this.proc.kill("SIGTERM");
    const timer = setTimeout(() => {
      if (!this.exited) this.proc.kill("SIGKILL");
    }, graceMs);
    await this.proc.exited;
    clearTimeout(timer);
  }

  async #read(stream: AsyncIterable<Uint8Array>, json: boolean): Promise<void> {
    for await (const line of lines(stream)) {
      this.#remember(json ? line : `stderr: ${line}`);
      if (!json) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        continue;
      }
      if (typeof parsed !== "object" || parsed === null) continue;
      const record = parsed as Record<string, unknown>;
      for (const listener of this.#listeners) listener(record);
      for (const waiter of [...this.#waiters]) if (waiter.match(record)) waiter.resolve(record);
    }
  }

  #remember(line: string): void {
    this.#log?.write(`${line}\n`);
    this.#tail.push(line.length > 400 ? `${line.slice(0, 400)}…` : line);
    if (this.#tail.length > 20) this.#tail.shift();
  }
}

/** Every child the benchmark started, so that an interrupt can end them all (each by its pid). */
const children = new Set<JsonLineChild>();

/** The CPU `--pin` gives the simulator; the measured process (faultline, the baseline, a bench) gets {@link MEASURED_CPU}. */
export const SIMULATOR_CPU = 0;
/** The CPU `--pin` gives the measured process. */
export const MEASURED_CPU = 1;

/**
 * `argv` run on CPU `cpu` only (taskset execs it: the same pid).
 *
 * @example
 * ```ts
 * spawnChild("simulator", onCpu([process.execPath, "sim-process.ts"], SIMULATOR_CPU));
 * ```
 */
export function onCpu(argv: readonly string[], cpu: number): string[] {
  return ["taskset", "-c", String(cpu), ...argv];
}

/** Starts `argv` with stdout/stderr piped (and stdin piped when `stdin` is true) and registers it. */
export function spawnChild(
  name: string,
  argv: string[],
  options: {
    env?: Record<string, string | undefined>;
    stdin?: boolean;
    cwd?: string;
    /** Appends every line the child writes to this file. */
    logFile?: string;
  } = {},
): JsonLineChild {
  const [program, ...args] = argv;
  if (program === undefined) throw new Error(`${name}: empty command`);
  const proc = spawn(program, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: [options.stdin ? "pipe" : "ignore", "pipe", "pipe"],
  });
  const child = new JsonLineChild(name, proc, options.logFile ?? null);
  children.add(child);
  void child.proc.exited.then(() => children.delete(child));
  return child;
}

/** Kills every registered child by its pid (SIGKILL); for interrupts. */
export function killAllChildren(): void {
  for (const child of children) {
    if (!child.exited) child.proc.kill("SIGKILL");
  }
}

/**
 * Runs a script's `main` as the process: exits with its code; on SIGINT or an error (printed as
 * `<name>: <message>`, exit 2) ends every child it started first.
 *
 * @example
 * ```ts
 * if (import.meta.main) runScriptMain("chaos", main);
 * ```
 */
export function runScriptMain(name: string, main: (argv: string[]) => Promise<number>): void {
  process.once("SIGINT", () => {
    killAllChildren();
    process.exit(130);
  });
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`${name}: ${error instanceof Error ? error.message : String(error)}`);
      killAllChildren();
      process.exit(2);
    },
  );
}
