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
  const [, year, month, day, hour, minute, second, offsetHours, offsetMinutes] = match.map(Number);
  if (month === undefined || month < 1 || month > 12 || day === undefined || day < 1) return false;
  if (year === undefined || day > daysInMonth(year, month)) return false;
  if ((hour ?? 99) > 23 || (minute ?? 99) > 59 || (second ?? 99) > 60) return false;
  if (
    offsetHours !== undefined &&
    !Number.isNaN(offsetHours) &&
    (offsetHours > 23 || (offsetMinutes ?? 0) > 59)
  )
    return false;
  const ms = Date.parse(text.replace(" ", "T").replace("t", "T").replace("z", "Z"));
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

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
