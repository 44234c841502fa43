/** Finding a program on a search path, as a shell would (`Bun.which` without the Bun). */
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, resolve } from "node:path";

/**
 * The absolute path of the first executable regular file named `program` in the folders of `path`
 * (`$PATH` unless given; empty entries are skipped), or null.
 *
 * @example
 * ```ts
 * which("sh");              // "/usr/bin/sh"
 * which("claude", "/opt/bin:/usr/bin");
 * ```
 */
export function which(program: string, path: string | undefined = process.env.PATH): string | null {
  for (const dir of (path ?? "").split(delimiter)) {
    if (dir === "") continue;
    const full = resolve(dir, program);
    try {
      accessSync(full, constants.X_OK);
      if (statSync(full).isFile()) return full;
    } catch {
      // not here
    }
  }
  return null;
}
