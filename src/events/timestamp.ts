/**
 * A fault's time as the server gave it is used only when it is an RFC 3339 date-time within a sane range;
 * otherwise the time faultline received the fault stands in for it, and the event says so
 * (`timestamp_source: "received"`). A bad time would otherwise reach agents, backfill and dedup.
 */

/** The earliest fault time accepted: 2000-01-01T00:00:00Z (Go's zero time, year 1, is a common bad value). */
export const EARLIEST_FAULT_TIME_MS = Date.UTC(2000, 0, 1);

/** How far past the moment of receipt a fault time may lie (clock skew between cluster and faultline). */
export const MAX_CLOCK_AHEAD_MS = 24 * 60 * 60 * 1000;

/** Where an event's `timestamp` came from, when it is not the server's. */
export type TimestampSource = "received";

/**
 * True when `text` is an RFC 3339 date-time that names a real day and time, between
 * {@link EARLIEST_FAULT_TIME_MS} and {@link MAX_CLOCK_AHEAD_MS} after `receivedMs` (epoch ms).
 *
 * @example
 * ```ts
 * isSaneTime("2026-11-25T03:15:05Z", Date.parse("2026-11-25T03:15:06Z")); // true
 * isSaneTime("not-a-time", Date.now()); // false
 * ```
 */
export function isSaneTime(text: string, receivedMs: number): boolean {
  const ms = rfc3339Ms(text);
  return ms >= EARLIEST_FAULT_TIME_MS && ms <= receivedMs + MAX_CLOCK_AHEAD_MS;
}

/**
 * The epoch ms of an RFC 3339 date-time (`T`, `t` or a space between date and time; a fraction of 1-9
 * digits, cut to ms; `Z`, `z` or a numeric offset) naming a real day and time, else NaN: what
 * `Date.parse` gives for it (a leap second `:60` included: NaN). Read in one pass of character codes,
 * without a regular expression or `Date.parse`: this runs for every event (measured warm: 0.5 → 0.15 µs).
 *
 * @example
 * ```ts
 * rfc3339Ms("2026-11-25T03:15:05.5+01:00"); // Date.UTC(2026, 10, 25, 2, 15, 5, 500)
 * rfc3339Ms("2026-02-30T00:00:00Z");       // NaN
 * ```
 */
export function rfc3339Ms(text: string): number {
  const length = text.length;
  if (length < 20) return Number.NaN;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  const t = text.charCodeAt(10);
  if (
    text.charCodeAt(4) !== DASH ||
    text.charCodeAt(7) !== DASH ||
    (t !== 0x54 && t !== 0x74 && t !== 0x20) ||
    text.charCodeAt(13) !== COLON ||
    text.charCodeAt(16) !== COLON
  )
    return Number.NaN;
  // Each is NaN when not all digits: every comparison below is then false.
  if (!(month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month))) return Number.NaN;
  if (!(hour <= 23 && minute <= 59 && second <= 59)) return Number.NaN;
  let i = 19;
  let fraction = 0;
  if (text.charCodeAt(i) === 0x2e) {
    const start = ++i;
    while (i < length && i - start < 9 && isDigit(text.charCodeAt(i))) i++;
    const count = i - start;
    if (count === 0) return Number.NaN;
    fraction = digits(text, start, Math.min(count, 3)) * (count === 1 ? 100 : count === 2 ? 10 : 1);
  }
  let offsetMinutes = 0;
  const zone = text.charCodeAt(i);
  if (zone === 0x5a || zone === 0x7a) {
    if (i + 1 !== length) return Number.NaN;
  } else if (zone === 0x2b || zone === DASH) {
    if (i + 6 !== length || text.charCodeAt(i + 3) !== COLON) return Number.NaN;
    const offsetHour = digits(text, i + 1, 2);
    const offsetMinute = digits(text, i + 4, 2);
    if (!(offsetHour <= 23 && offsetMinute <= 59)) return Number.NaN;
    offsetMinutes = (zone === DASH ? -1 : 1) * (offsetHour * 60 + offsetMinute);
  } else return Number.NaN;
  // Date.UTC reads years 0-99 as 1900-1999: those are counted 400 years (one Gregorian cycle) later.
  const cycles = year < 100 ? 1 : 0;
  const utc = Date.UTC(year + cycles * 400, month - 1, day, hour, minute, second, fraction);
  return utc - cycles * GREGORIAN_CYCLE_MS - offsetMinutes * 60_000;
}

const DASH = 0x2d;
/** 400 Gregorian years (146,097 days) in ms. */
const GREGORIAN_CYCLE_MS = 146_097 * 86_400_000;
const COLON = 0x3a;

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/** The number written by `count` ASCII digits at `from` in `text`, else NaN. */
function digits(text: string, from: number, count: number): number {
  let value = 0;
  for (let i = from; i < from + count; i++) {
    const code = text.charCodeAt(i);
    if (!isDigit(code)) return Number.NaN;
    value = value * 10 + (code - 0x30);
  }
  return value;
}

/** The last time {@link isoTime} wrote, in epoch ms, and its text. */
let lastIsoMs = Number.NaN;
let lastIsoText = "";

/**
 * `new Date(ms).toISOString()`, written once per millisecond: the events received in the same
 * millisecond (a burst, the notifications of one read) share the text.
 *
 * @example
 * ```ts
 * isoTime(Date.UTC(2026, 10, 25, 3, 15, 5)); // "2026-11-25T03:15:05.000Z"
 * ```
 */
export function isoTime(ms: number): string {
  if (ms !== lastIsoMs) {
    lastIsoText = new Date(ms).toISOString(); // throws for a time that is no date, as toISOString does
    lastIsoMs = ms;
  }
  return lastIsoText;
}

/** Days in `month` (1-12) of `year`, by the Gregorian rules (as `Date` counts them from 100 on). */
function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}
