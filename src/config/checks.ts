/**
 * The checks only `faultline check` makes (`parseConfig(..., { thorough: true })`), without taking the
 * state_dir lock, creating anything or listening anywhere: the state_dir can be used (created if
 * missing, written, enough free space, a database file faultline can open), and the health server's
 * address belongs to this machine.
 */
import { accessSync, constants, statfsSync, statSync } from "node:fs";
import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import { dirname, join } from "node:path";
import { DB_FILE, DEFAULT_MIN_FREE_BYTES } from "../incidents/open.ts";
import { errnoCode } from "../runtime/errno.ts";
import type { FieldIssue } from "../validation/issues.ts";
import type { ListenAddress } from "./types.ts";

/**
 * Problems `faultline run` would meet with this state_dir and listen address.
 *
 * @example
 * ```ts
 * thoroughIssues("/var/lib/faultline", { hostname: "10.9.9.9", port: 8080 });
 * // [{ path: "health.listen", message: "10.9.9.9 is not an address of this machine: …" }]
 * ```
 */
export function thoroughIssues(stateDir: string, listen: ListenAddress): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const problem = stateDirProblem(stateDir);
  if (problem) issues.push({ path: "state_dir", message: problem });
  const listenProblem = listenAddressProblem(listen.hostname);
  if (listenProblem) issues.push({ path: "health.listen", message: listenProblem });
  return issues;
}

/** Why `faultline run` could not use `dir` as its state_dir, or null. Creates and locks nothing. */
export function stateDirProblem(dir: string, minFreeBytes = DEFAULT_MIN_FREE_BYTES): string | null {
  const existing = nearestExisting(dir);
  if (existing === null) return `"${dir}": no parent folder exists`;
  if (!existing.isDirectory) {
    return existing.path === dir
      ? null
      : `"${existing.path}" is a file: state_dir "${dir}" cannot be created`;
  }
  if (!canWrite(existing.path)) {
    return existing.path === dir
      ? `"${dir}" is not writable by this user`
      : `state_dir "${dir}" cannot be created: "${existing.path}" is not writable by this user`;
  }
  if (existing.path === dir) {
    const db = join(dir, DB_FILE);
    try {
      if (!statSync(db).isFile()) return `"${db}" exists but is not a file`;
      if (!canWrite(db, constants.R_OK | constants.W_OK)) return `"${db}" is not readable and writable`;
    } catch (error) {
      if (errnoCode(error) !== "ENOENT") return `cannot inspect "${db}": ${String(error)}`;
    }
  }
  const stats = statfsSync(existing.path);
  const free = stats.bavail * stats.bsize;
  if (free < minFreeBytes) {
    return `only ${Math.floor(free / 1024)} KiB free on the filesystem of "${dir}", faultline needs ${minFreeBytes / 1024} KiB`;
  }
  return null;
}

/** Why the health server could not listen on `hostname` here, or null (names other than localhost are not looked up). */
export function listenAddressProblem(hostname: string): string | null {
  if (isIP(hostname) === 0) return null;
  const address = hostname.toLowerCase();
  if (["0.0.0.0", "::", "::1"].includes(address) || address.startsWith("127.")) return null;
  const local = Object.values(networkInterfaces())
    .flat()
    .some((entry) => entry?.address.toLowerCase() === address);
  return local
    ? null
    : `${hostname} is not an address of this machine: the health server could not listen on it`;
}

/** The path itself or its nearest existing ancestor, and whether that is a directory. */
function nearestExisting(path: string): { path: string; isDirectory: boolean } | null {
  for (let current = path; ; current = dirname(current)) {
    try {
      return { path: current, isDirectory: statSync(current).isDirectory() };
    } catch (error) {
      const code = errnoCode(error);
      if (code !== "ENOENT" && code !== "ENOTDIR") return null;
    }
    if (dirname(current) === current) return null;
  }
}

function canWrite(path: string, mode = constants.W_OK | constants.X_OK): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}
