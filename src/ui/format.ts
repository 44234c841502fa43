/** Small text helpers of the status page: times relative to now, durations, long text cut for display. */

/**
 * How long ago RFC 3339 `iso` was, from `nowMs`: `12 s ago`, `4 min ago`, `3 h ago`, `2 d ago`; `—` for
 * null, the text itself when it is not a date.
 *
 * @example
 * ```ts
 * ago("2026-11-25T03:00:00Z", Date.parse("2026-11-25T03:04:10Z")); // "4 min ago"
 * ```
 */
export function ago(iso: string | null, nowMs: number): string {
  if (iso === null) return "—";
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const seconds = Math.round((nowMs - at) / 1000);
  if (seconds < 0) return "just now";
  return `${duration(seconds * 1000)} ago`;
}

/** `ms` in the largest fitting unit: `850 ms`, `12 s`, `4 min`, `3 h`, `2 d`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 2 * 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 2 * 86400) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

/** `text` cut to `max` characters, with how much was left out. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… (${text.length - max} more characters; the JSON has all)`;
}
