/**
 * Ends an incident's agent processes, wherever they went.
 *
 * Every process of an agent carries the run's tag in its environment: `FAULTLINE_INCIDENT_ID=<id>`
 * and `FAULTLINE_WORKSPACE=<path>` (inherited by whatever it starts, `setsid` escapees included).
 * On Linux {@link endTaggedProcesses} finds them all in `/proc/<pid>/environ`; a process that wipes
 * its environment on purpose is the one thing that escapes (cgroups would catch it, but creating
 * one needs a delegated cgroup subtree an unprivileged faultline rarely has: see the README).
 *
 * {@link endOrphanedAgent} ends the process group of an agent started by a faultline from before
 * the supervisor (whose recorded pid was the agent's group id); elsewhere than Linux it is all
 * there is.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { isRunning, readProcStat } from "../runtime/process.ts";
import { sleep } from "../runtime/sleep.ts";
import { INCIDENT_VARIABLE, WORKSPACE_VARIABLE } from "./env.ts";

/** Rounds of SIGKILL at most: a process forking while it is being killed gets another round. */
const KILL_ROUNDS = 5;

/** True when this system lists processes' environments (Linux `/proc`). */
export function canFindTaggedProcesses(): boolean {
  return existsSync("/proc/self/environ");
}

/** Live processes (not this one) whose environment carries the run's tag; [] without `/proc`. */
export function taggedProcesses(incidentId: string, workspace: string): number[] {
  if (!canFindTaggedProcesses()) return [];
  const tags = [`${INCIDENT_VARIABLE}=${incidentId}`, `${WORKSPACE_VARIABLE}=${workspace}`];
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const environ = readEnviron(Number(entry));
    if (environ && tags.every((tag) => environ.includes(tag))) pids.push(Number(entry));
  }
  return pids;
}

/**
 * Ends every process carrying the run's tag: SIGTERM, SIGKILL to what is left after `graceMs` (with
 * `graceMs` 0, SIGKILL at once). Returns how many there were. A no-op without `/proc`.
 */
export async function endTaggedProcesses(
  incidentId: string,
  workspace: string,
  graceMs = 0,
): Promise<number> {
  const found = taggedProcesses(incidentId, workspace);
  if (found.length === 0) return 0;
  if (graceMs > 0) {
    signalAll(found, "SIGTERM");
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && taggedProcesses(incidentId, workspace).length > 0) await sleep(50);
  }
  const seen = new Set(found);
  for (let round = 0; round < KILL_ROUNDS; round++) {
    const left = taggedProcesses(incidentId, workspace);
    if (left.length === 0) break;
    for (const pid of left) seen.add(pid);
    signalAll(left, "SIGKILL");
    await sleep(20);
  }
  return seen.size;
}

/** The NUL-separated entries of `/proc/<pid>/environ`, or null (gone, a zombie, or not ours). */
function readEnviron(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/environ`, "latin1").split("\0");
  } catch {
    return null;
  }
}

/** Ends the agent processes of group `pgid` that run `incidentId`: SIGTERM, SIGKILL after `graceMs`. Returns how many there were. */
export async function endOrphanedAgent(pgid: number, incidentId: string, graceMs = 5000): Promise<number> {
  if (!existsSync("/proc/self/stat")) return endGroup(pgid, graceMs);
  const pids = groupMembers(pgid).filter((pid) => runsIncident(pid, incidentId));
  if (pids.length === 0) return 0;
  signalAll(pids, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && pids.some(isRunning)) await sleep(50);
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
  return readEnviron(pid)?.includes(`${INCIDENT_VARIABLE}=${incidentId}`) ?? false;
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
  while (Date.now() < deadline && signal(0)) await sleep(50);
  signal("SIGKILL");
  return 1;
}
