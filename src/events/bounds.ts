/**
 * Long strings cut to size, with a marker saying so: the `context` and every string in `raw` of an event,
 * and any text a server sends that ends up in health or logs (a `subscription_error`, an error answer).
 */
import type { FaultEvent } from "./fault.ts";

/** Longest server-sent text kept in a status, `subscription_error`, `last_error` or drop detail. */
export const MAX_REPORTED_CHARS = 1024;

/** Containers nested deeper than this in `raw` are replaced by a marker (the edge refuses deeper JSON first). */
const MAX_WALK_DEPTH = 512;

/**
 * `text` when it has at most `max` characters, else its first `max` characters and a marker giving the
 * original length.
 *
 * @example
 * ```ts
 * truncateText("x".repeat(2000), 10); // "xxxxxxxxxx…[truncated: 2000 chars]"
 * ```
 */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}…[truncated: ${text.length} chars]`;
}

/**
 * `value` with every string longer than `max` characters (object keys included) truncated by
 * {@link truncateText}; unchanged parts are shared, and `value` itself is returned when nothing was cut.
 */
export function truncateStrings(value: unknown, max: number, depth = 0): unknown {
  if (typeof value === "string") return truncateText(value, max);
  if (typeof value !== "object" || value === null) return value;
  if (depth >= MAX_WALK_DEPTH) return "…[truncated: nested too deep]";
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const bounded = truncateStrings(item, max, depth + 1);
      if (bounded !== item) {
        copy ??= value.slice();
        copy[i] = bounded;
      }
    }
    return copy ?? value;
  }
  let copy: Record<string, unknown> | null = null;
  const record = value as Record<string, unknown>;
  // for…in over own keys: no array of entries allocated per object (this runs for every event's `raw`).
  for (const key in record) {
    if (!Object.hasOwn(record, key)) continue;
    const item = record[key];
    const bounded = truncateStrings(item, max, depth + 1);
    const boundedKey = truncateText(key, max);
    if (bounded === item && boundedKey === key) continue;
    copy ??= { ...value };
    if (boundedKey !== key) delete copy[key];
    copy[boundedKey] = bounded;
  }
  return copy ?? value;
}

/**
 * `event` with its strings cut at `max` characters (`context`, the resource's and the fault's fields,
 * every string in `raw`; `labels` come from the config): what the store, the API and an agent get.
 * `event` itself when nothing is longer (no copy: the common case, once per event). `rawChars`, when
 * known, bounds the length of every string in `raw` (the length of the JSON text it was parsed from):
 * within `max`, `raw` is not walked.
 */
export function boundEvent(event: FaultEvent, max: number, rawChars = Number.POSITIVE_INFINITY): FaultEvent {
  const { resource } = event;
  const raw = rawChars <= max ? event.raw : truncateStrings(event.raw, max);
  const fits =
    raw === event.raw &&
    event.fault_id.length <= max &&
    event.fault_type.length <= max &&
    event.context.length <= max &&
    event.timestamp.length <= max &&
    resource.apiVersion.length <= max &&
    resource.kind.length <= max &&
    resource.name.length <= max &&
    (resource.namespace === null || resource.namespace.length <= max) &&
    (resource.uid === null || resource.uid.length <= max);
  if (fits) return event;
  const cut = (text: string): string => truncateText(text, max);
  return {
    ...event,
    fault_id: cut(event.fault_id),
    fault_type: cut(event.fault_type),
    resource: {
      apiVersion: cut(resource.apiVersion),
      kind: cut(resource.kind),
      name: cut(resource.name),
      namespace: resource.namespace === null ? null : cut(resource.namespace),
      uid: resource.uid === null ? null : cut(resource.uid),
    },
    context: cut(event.context),
    timestamp: cut(event.timestamp),
    raw,
  };
}
