/**
 * How to start this faultline again as a child process (for the agent supervisor): the compiled
 * binary is its own program (`process.execPath`; Bun sets `argv[1]` to a path inside the binary's
 * embedded file system, `/$bunfs/root/…`), while from source it is the runtime plus `src/main.ts`
 * (`bun src/main.ts`, or `deno run -A src/main.ts`: Deno needs its command and the permissions).
 */
import { fileURLToPath } from "node:url";
import { RUNTIME } from "../runtime/runtime.ts";

/** True inside the binary built by `scripts/build.ts` (modules are served from `/$bunfs/`). */
function isCompiled(): boolean {
  return import.meta.url.includes("/$bunfs/");
}

/**
 * The argv prefix that runs the faultline CLI in a new process.
 *
 * @example
 * ```ts
 * spawnProcess([...selfCommand(), "version"], options);
 * // compiled: ["/usr/local/bin/faultline", "version"]
 * // Bun:      ["/path/to/bun", "/repo/src/main.ts", "version"]
 * // Deno:     ["/path/to/deno", "run", "-A", "/repo/src/main.ts", "version"]
 * ```
 */
export function selfCommand(): string[] {
  if (isCompiled()) return [process.execPath];
  const main = fileURLToPath(new URL("../main.ts", import.meta.url));
  return RUNTIME === "deno" ? [process.execPath, "run", "-A", main] : [process.execPath, main];
}
