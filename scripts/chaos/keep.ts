/**
 * Keeping a failed run: a copy of the run directory (each faultline or replica life's JSON log, the agent's
 * record, the ledgers, the store or its snapshot, the state directories with each run's `result.json`
 * and `agent.log`) in a directory that outlives the caller's temporary one, so that the cause of a
 * failure seen once (in CI, say) can still be read. The built binary (`bin/`) is left out.
 */
import { cpSync, mkdirSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";

/** What {@link keepRunFiles} copied. */
export interface KeptRun {
  /** The copy of the run directory. */
  dir: string;
  /** The faultline logs in it (`faultline-<replica>-<life>.log`, or `faultline-<life>.log`), sorted. */
  logs: string[];
}

/**
 * Copies run directory `dir` into a new directory under `into` (named after the run and the time) and
 * returns where, with its faultline logs.
 *
 * @example
 * ```ts
 * const kept = keepRunFiles("/tmp/faultline-chaos-x/run", "/tmp/faultline-chaos-failed");
 * console.log(`run files kept in ${kept.dir}`);
 * ```
 */
export function keepRunFiles(dir: string, into: string): KeptRun {
  const stamp = new Date().toISOString().replaceAll(":", "-");
  const target = join(into, `${basename(dir)}-${stamp}-${process.pid}`);
  mkdirSync(target, { recursive: true });
  cpSync(dir, target, {
    recursive: true,
    filter: (source) => source !== join(dir, "bin"),
  });
  const logs = readdirSync(target)
    .filter((name) => name.startsWith("faultline") && name.endsWith(".log"))
    .sort()
    .map((name) => join(target, name));
  return { dir: target, logs };
}
