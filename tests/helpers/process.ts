/** Runs faultline as a real child process and reads its JSON log lines. */

import { join } from "node:path";
import type { Subprocess } from "bun";
import { lines } from "../../scripts/lines.ts";
import { type RuntimeName, scriptCommand } from "../../scripts/runtime.ts";
import { waitFor } from "./wait.ts";

/** A running faultline process. */
export interface FaultlineProcess {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** Parsed JSON log lines so far (stdout). */
  logs: Array<Record<string, unknown>>;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Waits for a log line matching `match`, returns it. */
  waitForLog(
    what: string,
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** The health server's base URL, once faultline logs it (needs log_level info or lower). */
  healthUrl(): Promise<string>;
  /** Waits until `GET /health` counts `clusters` active clusters; resolves with the health URL. */
  waitActive(clusters: number, timeoutMs?: number): Promise<string>;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number>;
}

/** Starts `argv` (e.g. `[bun, "src/main.ts", "run", ...]`), collecting its output. */
export function startProcess(argv: string[], env: Record<string, string | undefined> = {}): FaultlineProcess {
  const proc = Bun.spawn(argv, {
    env: { ...process.env, ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderrText = "";
  void (async () => {
    for await (const line of lines(proc.stdout)) {
      try {
        logs.push(JSON.parse(line));
      } catch {
        logs.push({ text: line });
      }
    }
  })();
  void (async () => {
    for await (const chunk of proc.stderr.pipeThrough(new TextDecoderStream())) stderrText += chunk;
  })();
  const waitForLog = (what: string, match: (line: Record<string, unknown>) => boolean, timeoutMs = 15_000) =>
    waitFor(what, () => logs.find(match), timeoutMs);
  const healthUrl = async () =>
    String((await waitForLog("health server listening", (l) => l.msg === "health server listening")).url);
  return {
    proc,
    logs,
    stderr: () => stderrText,
    waitForLog,
    healthUrl,
    waitActive: async (clusters, timeoutMs = 15_000) => {
      const url = await healthUrl();
      await waitFor(
        `${clusters} clusters active`,
        async () => {
          const body = (await (await fetch(`${url}/health`)).json()) as { summary: { active: number } };
          return body.summary.active === clusters;
        },
        timeoutMs,
        50,
      );
      return url;
    },
    stop: async (signal = "SIGTERM") => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return proc.exited;
    },
  };
}

/**
 * The faultline CLI from the source tree under `runtime`: `bun src/main.ts`, or `deno run -A src/main.ts`
 * (the Deno end-to-end suite, tests/deno/).
 */
export function sourceCli(runtime: RuntimeName): string[] {
  return scriptCommand(runtime, join(import.meta.dir, "..", "..", "src", "main.ts"));
}

/** `bun src/main.ts`: the faultline CLI from the source tree. */
export const SOURCE_CLI: readonly string[] = sourceCli("bun");

/** `faultline run --config <config>` from the source tree (under Bun unless `runtime` says), as a real process. */
export function runFaultline(
  config: string,
  env: Record<string, string | undefined> = {},
  runtime: RuntimeName = "bun",
): FaultlineProcess {
  return startProcess([...sourceCli(runtime), "run", "--config", config], env);
}

/** What a finished process printed, and how it exited. */
export interface FinishedProcess {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `argv` in `cwd` to its end (with `env`, else this process's environment), collecting stdout and stderr. */
export async function runToEnd(
  argv: string[],
  cwd: string,
  env?: Record<string, string | undefined>,
): Promise<FinishedProcess> {
  const child = Bun.spawn(argv, { cwd, env, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, stdout, stderr };
}
