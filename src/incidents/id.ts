/** Incident ids: the store gives each new incident one, and it names the incident's workspace. */
import { randomBytes } from "node:crypto";
import type { FaultEvent } from "../events/fault.ts";

/** `2026-11-25T03:05:12.345Z` → `20261125T030512Z`: sortable and free of `:` and `.`. */
function compactUtcTimestamp(now: Date): string {
  return `${now.toISOString().slice(0, 19).replace(/[-:]/g, "")}Z`;
}

/** Anything outside `[A-Za-z0-9_-]` becomes `_`, so the id stays one path segment. */
function pathSafe(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, "_") || "_";
}

/**
 * A new incident id: sorts by time, names the cluster, and ends in 8 random hex digits so two
 * incidents in the same second never collide.
 *
 * @example
 * ```ts
 * newIncidentId(event, new Date("2026-11-25T03:05:12Z")); // "20261125T030512Z-prod-eu-1f2e3d4c"
 * ```
 */
export function newIncidentId(event: FaultEvent, now: Date = new Date()): string {
  return `${compactUtcTimestamp(now)}-${pathSafe(event.cluster)}-${randomBytes(4).toString("hex")}`;
}
