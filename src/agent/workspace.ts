/**
 * Incident workspaces: one directory per incident under `<state_dir>/incidents/`, holding the event
 * that caused it (`event.json`) and, once an agent has run there, `agent.log` and `result.json`.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { FaultEvent } from "../events/fault.ts";

/** File in the workspace that receives the agent's stdout and stderr (appended). */
export const AGENT_LOG_FILE = "agent.log";

/** Name of the file holding the incident's event, as compact JSON (one line). */
export const EVENT_FILE = "event.json";

const SAFE_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/** True when `id` is a single, harmless path segment (no `/`, not `.` or `..`). */
export function isSafeIncidentId(id: string): boolean {
  return SAFE_ID.test(id);
}

/** The absolute path of an incident's workspace (whether or not it exists yet). */
export function workspacePath(stateDir: string, incidentId: string): string {
  if (!isSafeIncidentId(incidentId)) throw new Error(`unsafe incident id: ${JSON.stringify(incidentId)}`);
  return resolve(stateDir, "incidents", incidentId);
}

/**
 * The event exactly as written to `event.json` and fed to the agent's stdin: compact JSON on one line
 * (pretty-printing a deeply nested payload multiplied its size). The event is bounded already (see
 * `limits`), so this is too.
 */
export function eventJson(event: FaultEvent): string {
  return `${JSON.stringify(event)}\n`;
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
