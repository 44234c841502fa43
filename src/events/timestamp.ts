/**
 * A fault's time as the server gave it is used only when it is an RFC 3339 date-time within a sane range;
 * otherwise the time faultline received the fault stands in for it, and the event says so
 * (`timestamp_source: "received"`). A bad time would otherwise reach agents, backfill and dedup.
 */

/** RFC 3339 date-time (`T`, `t` or a space between date and time; `Z` or a numeric offset). */
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

/** The earliest fault time accepted: 2000-01-01T00:00:00Z (Go's zero time, year 1, is a common bad value). */
export const EARLIEST_FAULT_TIME_MS = Date.UTC(2000, 0, 1);

/** How far past the moment of receipt a fault time may lie (clock skew between cluster and faultline). */
export const MAX_CLOCK_AHEAD_MS = 24 * 60 * 60 * 1000;

/** Where an event's `timestamp` came from, when it is not the server's. */
export type TimestampSource = "received";

/**
 * True when `text` is an RFC 3339 date-time that names a real day and time, between
 * {@link EARLIEST_FAULT_TIME_MS} and {@link MAX_CLOCK_AHEAD_MS} after `receivedAt`.
 *
 * @example
 * ```ts
 * isSaneTimestamp("2026-11-25T03:15:05Z", new Date("2026-11-25T03:15:06Z")); // true
 * isSaneTimestamp("not-a-time", new Date()); // false
 * ```
 */
export function isSaneTimestamp(text: string, receivedAt: Date): boolean {
  const match = RFC3339.exec(text);
  if (!match) return false;
  // Read field by field (no array of numbers): this runs for every event.
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return false;
  if (Number(match[4]) > 23 || Number(match[5]) > 59 || Number(match[6]) > 60) return false;
  if (match[7] !== undefined && (Number(match[7]) > 23 || Number(match[8]) > 59)) return false;
  // `T` and `Z` as Date.parse reads them; the usual text has them already (no copies made).
  const iso =
    text.charCodeAt(10) === 0x54 && !text.endsWith("z")
      ? text
      : text.replace(" ", "T").replace("t", "T").replace("z", "Z");
  const ms = Date.parse(iso);
  return (
    Number.isFinite(ms) && ms >= EARLIEST_FAULT_TIME_MS && ms <= receivedAt.getTime() + MAX_CLOCK_AHEAD_MS
  );
}

/**
 * The event's `timestamp` (and `timestamp_source` when it is not the server's): `serverTime` when
 * {@link isSaneTimestamp}, else `receivedAt`.
 */
export function faultTimestamp(
  serverTime: string,
  receivedAt: Date,
): { timestamp: string; timestamp_source?: TimestampSource } {
  if (isSaneTimestamp(serverTime, receivedAt)) return { timestamp: serverTime };
  return { timestamp: receivedAt.toISOString(), timestamp_source: "received" };
}

/** Days in `month` (1-12) of `year`, by the Gregorian rules (as `Date` counts them from 100 on). */
function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}
