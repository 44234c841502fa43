/**
 * How to start this faultline again as a child process (for the agent supervisor): the compiled
 * binary is its own program (`process.execPath`; Bun sets `argv[1]` to a path inside the binary's
 * embedded file system, `/$bunfs/root/…`), while from source it is the runtime plus `src/main.ts`.
 */
import { fileURLToPath } from "node:url";

/** True inside the binary built by `scripts/build.ts` (modules are served from `/$bunfs/`). */
function isCompiled(): boolean {
  return import.meta.url.includes("/$bunfs/");
}

/**
 * The argv prefix that runs the faultline CLI in a new process.
 *
 * @example
 * ```ts
 * Bun.spawn([...selfCommand(), "version"]);
 * // compiled: ["/usr/local/bin/faultline", "version"]
 * // source:   ["/path/to/bun", "/repo/src/main.ts", "version"]
 * ```
 */
export function selfCommand(): string[] {
  if (isCompiled()) return [process.execPath];
  return [process.execPath, fileURLToPath(new URL("../main.ts", import.meta.url))];
}
