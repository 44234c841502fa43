/**
 * One faultline per state directory: a pid file, `<state_dir>/faultline.pid`, created exclusively.
 * A second faultline on the same state would dispatch the same queued incidents twice. A pid file
 * whose process is gone (a crash, SIGKILL) is stale and taken over.
 */

import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { errnoCode } from "../runtime/errno.ts";
import { isRunning } from "../runtime/process.ts";

/** The lock file's name inside `state_dir`. */
export const LOCK_FILE = "faultline.pid";

/** Another live faultline holds the state directory. */
export class StateDirLockedError extends Error {
  constructor(
    readonly path: string,
    readonly pid: number,
  ) {
    super(
      `state_dir is in use by another faultline (pid ${pid}, lock ${path}); stop it first, ` +
        "or remove the lock file if no faultline runs",
    );
    this.name = "StateDirLockedError";
  }
}

/** A held state-directory lock. */
export class StateDirLock {
  private constructor(readonly path: string) {}

  /** Takes the lock for `stateDir` (which must exist), or throws {@link StateDirLockedError}. */
  static acquire(stateDir: string): StateDirLock {
    const path = join(stateDir, LOCK_FILE);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, "wx", 0o644);
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        return new StateDirLock(path);
      } catch (error) {
        if (errnoCode(error) !== "EEXIST") throw error;
      }
      const holder = Number.parseInt(readFileSync(path, "utf8"), 10);
      if (Number.isInteger(holder) && holder !== process.pid && isRunning(holder)) {
        throw new StateDirLockedError(path, holder);
      }
      rmSync(path, { force: true });
    }
    throw new Error(`cannot take the state_dir lock ${path}: another process keeps recreating it`);
  }

  /** Gives the lock up. */
  release(): void {
    try {
      if (Number.parseInt(readFileSync(this.path, "utf8"), 10) === process.pid)
        rmSync(this.path, { force: true });
    } catch {
      // already gone
    }
  }
}
