/** Incident ids: the store gives each new incident one, and it names the incident's workspace. */
import { randomBytes } from "node:crypto";
import type { FaultEvent } from "../events/fault.ts";

/** Random bytes drawn at once and handed out 6 at a time (one `randomBytes` call per 1024 ids, not per id). */
const POOL_IDS = 1024;
const ID_RANDOM_BYTES = 6;
let pool = Buffer.alloc(0);
let poolOffset = 0;

/** 12 random hex digits (48 bits) from the pool. */
function randomHex(): string {
  if (poolOffset + ID_RANDOM_BYTES > pool.length) {
    pool = randomBytes(POOL_IDS * ID_RANDOM_BYTES);
    poolOffset = 0;
  }
  const hex = pool.toString("hex", poolOffset, poolOffset + ID_RANDOM_BYTES);
  poolOffset += ID_RANDOM_BYTES;
  return hex;
}

/** The last second formatted, and its text (ids of one burst share it). */
let lastSecond = Number.NaN;
let lastStamp = "";

/** `2026-11-25T03:05:12.345Z` → `20261125T030512Z`: sortable and free of `:` and `.`. */
function compactUtcTimestamp(now: Date): string {
  const second = Math.floor(now.getTime() / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastStamp = `${now.toISOString().slice(0, 19).replace(/[-:]/g, "")}Z`;
  }
  return lastStamp;
}

/** Anything outside `[A-Za-z0-9_-]` becomes `_`, so the id stays one path segment. */
function pathSafe(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, "_") || "_";
}

/**
 * A new incident id: sorts by time, names the cluster, and ends in 12 random hex digits (48 bits) so
 * incidents of one cluster in the same second do not collide: at 20,000 new incidents a second the
 * chance of any collision is ~1e-6 (with 8 digits it was ~5 %, and a collision fails its whole batch).
 *
 * @example
 * ```ts
 * newIncidentId(event, new Date("2026-11-25T03:05:12Z")); // "20261125T030512Z-prod-eu-1f2e3d4c5b6a"
 * ```
 */
export function newIncidentId(event: FaultEvent, now: Date = new Date()): string {
  return `${compactUtcTimestamp(now)}-${pathSafe(event.cluster)}-${randomHex()}`;
}
