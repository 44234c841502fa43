/**
 * Which JavaScript runtime runs a script, and how to start a TypeScript file under Bun or Deno (the demo,
 * the benchmark and the Deno end-to-end tests start faultline, the simulator and the baseline this way).
 * Both binaries come from npm (devDependencies `bun` and `deno`).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

/** A runtime faultline and its scripts run on. */
export type RuntimeName = "bun" | "deno";

/** Every runtime a `--runtime` flag accepts. */
export const RUNTIMES: readonly RuntimeName[] = ["bun", "deno"];

/** The repository's root folder. */
export const ROOT = resolve(import.meta.dirname ?? ".", "..");

interface RuntimeGlobals {
  Deno?: { version: { deno: string } };
  Bun?: { version: string };
}

const globals = globalThis as RuntimeGlobals;

/** The runtime running this process. */
export const CURRENT_RUNTIME: RuntimeName = globals.Deno ? "deno" : "bun";

/** `bun 1.4.5` / `deno 2.9.6`: this process's runtime and its version. */
export function runtimeDescription(): string {
  return globals.Deno ? `deno ${globals.Deno.version.deno}` : `bun ${globals.Bun?.version ?? "?"}`;
}

/** Whether `value` names a runtime. */
export function isRuntimeName(value: string): value is RuntimeName {
  return (RUNTIMES as readonly string[]).includes(value);
}

/**
 * The executable of `runtime`: this process's own when it runs under it, else the npm-installed one in
 * node_modules/.bin (falling back to the name on PATH).
 */
export function runtimeBinary(runtime: RuntimeName): string {
  if (runtime === CURRENT_RUNTIME) return process.execPath;
  const installed = join(ROOT, "node_modules", ".bin", runtime);
  return existsSync(installed) ? installed : runtime;
}

/** `1.4.5`: the version `runtime`'s binary reports ("?" when it cannot be run). */
export function runtimeVersion(runtime: RuntimeName): string {
  const answer = spawnSync(runtimeBinary(runtime), ["--version"], { encoding: "utf8" });
  return /\d+\.\d+\.\d+\S*/.exec(answer.stdout ?? "")?.[0] ?? "?";
}

/**
 * The argv that runs the TypeScript file `script` under `runtime`, `flags` being the runtime's own flags
 * (`bun --cpu-prof …`); under Deno with every permission (`deno run -A`).
 *
 * @example
 * ```ts
 * scriptCommand("deno", "src/main.ts"); // ["…/node_modules/.bin/deno", "run", "-A", "src/main.ts"]
 * ```
 */
export function scriptCommand(runtime: RuntimeName, script: string, flags: readonly string[] = []): string[] {
  const binary = runtimeBinary(runtime);
  return runtime === "deno" ? [binary, "run", "-A", ...flags, script] : [binary, ...flags, script];
}
