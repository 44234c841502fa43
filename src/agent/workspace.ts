/**
 * Incident workspaces: one directory per incident under `<state_dir>/incidents/`, holding the event
 * that caused it (`event.json`) and, once an agent has run there, `agent.log` and `result.json`.
 */
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { FaultEvent } from "../events/fault.ts";

/** Name of the file holding the incident's event, as pretty-printed JSON. */
export const EVENT_FILE = "event.json";

const SAFE_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/** `2026-11-25T03:05:12.345Z` → `20261125T030512Z`: sortable and free of `:` and `.`. */
function compactUtcTimestamp(now: Date): string {
  return `${now.toISOString().slice(0, 19).replace(/[-:]/g, "")}Z`;
}

/** Anything outside `[A-Za-z0-9_-]` becomes `_`, so the id stays one path segment. */
function pathSafe(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, "_") || "_";
}

/**
 * A new incident id, e.g. `20261125T030512Z-prod-eu-1f2e3d4c`: sorts by time, names the cluster,
 * and ends in 8 random hex digits so two incidents in the same second never collide.
 */
export function newIncidentId(event: FaultEvent, now: Date = new Date()): string {
  return `${compactUtcTimestamp(now)}-${pathSafe(event.cluster)}-${randomBytes(4).toString("hex")}`;
}

/** True when `id` is a single, harmless path segment (no `/`, not `.` or `..`). */
export function isSafeIncidentId(id: string): boolean {
  return SAFE_ID.test(id);
}

/** The absolute path of an incident's workspace (whether or not it exists yet). */
export function workspacePath(stateDir: string, incidentId: string): string {
  if (!isSafeIncidentId(incidentId)) throw new Error(`unsafe incident id: ${JSON.stringify(incidentId)}`);
  return resolve(stateDir, "incidents", incidentId);
}

/** The event exactly as written to `event.json` and fed to the agent's stdin. */
export function eventJson(event: FaultEvent): string {
  return `${JSON.stringify(event, null, 2)}\n`;
}

/**
 * Creates `<stateDir>/incidents/<incidentId>/` (and any missing parents), writes `event.json` into
 * it, and returns the workspace's absolute path. Safe to repeat: the event file is rewritten.
 */
export async function createWorkspace(
  stateDir: string,
  incidentId: string,
  event: FaultEvent,
): Promise<string> {
  const workspace = workspacePath(stateDir, incidentId);
  await mkdir(workspace, { recursive: true });
  await writeFile(join(workspace, EVENT_FILE), eventJson(event));
  return workspace;
}
