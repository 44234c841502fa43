/**
 * Ends agents a previous faultline left behind. Agents run in their own process group (their pid is
 * the group id), so a faultline killed with SIGKILL leaves them running; before their incident runs
 * again, what is left of the group must go, or one incident would have two agents at once.
 *
 * On Linux only processes of that group whose environment carries the incident's
 * `FAULTLINE_INCIDENT_ID` are signalled, so a reused pid can never hit a stranger. Elsewhere the
 * group is signalled as it is.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { isRunning, readProcStat } from "../runtime/process.ts";

/** Ends the agent processes of group `pgid` that run `incidentId`: SIGTERM, SIGKILL after `graceMs`. Returns how many there were. */
export async function endOrphanedAgent(pgid: number, incidentId: string, graceMs = 5000): Promise<number> {
  if (!existsSync("/proc/self/stat")) return endGroup(pgid, graceMs);
  const pids = groupMembers(pgid).filter((pid) => runsIncident(pid, incidentId));
  if (pids.length === 0) return 0;
  signalAll(pids, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && pids.some(isRunning)) await Bun.sleep(50);
  signalAll(pids.filter(isRunning), "SIGKILL");
  return pids.length;
}

/** Live (non-zombie) processes whose process group is `pgid`. */
function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcStat(Number(entry));
    if (stat && stat.pgrp === pgid && stat.state !== "Z") members.push(Number(entry));
  }
  return members;
}

function runsIncident(pid: number, incidentId: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, "latin1")
      .split("\0")
      .includes(`FAULTLINE_INCIDENT_ID=${incidentId}`);
  } catch {
    return false;
  }
}

function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Without /proc: signal the whole group, if it still exists. */
async function endGroup(pgid: number, graceMs: number): Promise<number> {
  const signal = (sig: NodeJS.Signals | 0): boolean => {
    try {
      process.kill(-pgid, sig);
      return true;
    } catch {
      return false;
    }
  };
  if (!signal(0)) return 0;
  signal("SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && signal(0)) await Bun.sleep(50);
  signal("SIGKILL");
  return 1;
}
