/** What the operating system says about a process, by pid (Linux `/proc` where it exists). */

import { readFileSync } from "node:fs";
import { errnoCode } from "./errno.ts";

/** The state letter and process group of `pid` from `/proc/<pid>/stat`, or null (gone, or no /proc). */
export function readProcStat(pid: number): { state: string; pgrp: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which may itself contain spaces and parentheses.
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { state: fields[0] ?? "", pgrp: Number(fields[2]) };
  } catch {
    return null;
  }
}

/** True when `pid` is a live process: it exists (ours or not) and is not a zombie (already exited). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if (errnoCode(error) !== "EPERM") return false;
  }
  return readProcStat(pid)?.state !== "Z";
}
