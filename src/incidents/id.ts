/**
 * Incident ids: the store gives each new incident one, and it names the incident's workspace. Every id
 * sorts by time (its received second first), names the cluster and is one path segment. Its end makes it
 * unique: the SQLite store's ids end in the incident's `seq` (unique by construction, and the id is
 * found by that primary key: no text index to write per incident); PostgreSQL's in 12 random hex digits.
 */
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

/** `2026-11-25T03:05:12.345Z` (as epoch ms) → `20261125T030512Z`: sortable and free of `:` and `.`. */
function compactUtcTimestamp(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastStamp = `${new Date(ms).toISOString().slice(0, 19).replace(/[-:]/g, "")}Z`;
  }
  return lastStamp;
}

/** Cluster names made path-safe (few distinct names; bounded all the same). */
const safeNames = new Map<string, string>();
const MAX_SAFE_NAMES = 10_000;

/** Anything outside `[A-Za-z0-9_-]` becomes `_`, so the id stays one path segment. */
function pathSafe(text: string): string {
  let safe = safeNames.get(text);
  if (safe === undefined) {
    safe = text.replace(/[^A-Za-z0-9_-]/g, "_") || "_";
    if (safeNames.size >= MAX_SAFE_NAMES) safeNames.clear();
    safeNames.set(text, safe);
  }
  return safe;
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
  return `${compactUtcTimestamp(now.getTime())}-${pathSafe(event.cluster)}-${randomHex()}`;
}

/**
 * The id of the incident numbered `seq` (the SQLite store's primary key, which it assigns itself inside
 * its write transaction): sorts by time, names the cluster and ends in the decimal `seq`, so it is unique
 * while `seq` is. It never equals an id {@link newIncidentId} made (those end in exactly 12 hex digits;
 * a `seq` would need 12 decimal digits, 10^11 incidents).
 *
 * @example
 * ```ts
 * sequencedIncidentId("prod-eu", Date.parse("2026-11-25T03:05:12Z"), 42); // "20261125T030512Z-prod-eu-42"
 * ```
 */
export function sequencedIncidentId(cluster: string, receivedMs: number, seq: number): string {
  return `${compactUtcTimestamp(receivedMs)}-${pathSafe(cluster)}-${seq}`;
}

/**
 * The `seq` a {@link sequencedIncidentId} ends in, or -1 when `id` does not end in one (an id made
 * by {@link newIncidentId}, or anything else). The caller still compares the whole id.
 *
 * @example
 * ```ts
 * seqOfIncidentId("20261125T030512Z-prod-eu-42"); // 42
 * seqOfIncidentId("20261125T030512Z-prod-eu-1f2e3d4c5b6a"); // -1
 * ```
 */
export function seqOfIncidentId(id: string): number {
  const tail = id.slice(id.lastIndexOf("-") + 1);
  if (!/^[1-9][0-9]{0,14}$/.test(tail)) return -1;
  return Number(tail);
}
