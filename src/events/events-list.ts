/**
 * The answer of the stock kubernetes-mcp-server's `events_list` tool (see PROTOCOL.md §2), for poll mode
 * against servers without the events extension: parse its text into {@link ListedEvent}s and turn those
 * into {@link FaultEvent}s by the same rules as pushed faults (normalise.ts), so that a polled event and a
 * pushed nested fault about the same object and reason get the same `fault_id`.
 *
 * The text (one text content) is either `# No events found` or
 * `# The following events (YAML format) were found:` followed by a YAML list of items like
 * ```yaml
 * - InvolvedObject: { Kind: Pod, Name: web-1, apiVersion: v1 }
 *   Message: Back-off restarting failed container web in pod web-1
 *   Namespace: default
 *   Reason: BackOff
 *   Timestamp: 2026-11-25 02:54:13 +0000 UTC
 *   Type: Warning
 * ```
 * Timestamps are Go `time.Time.String()` output in the server process's local time zone (e.g.
 * `2026-11-25 08:24:13.123456 +0530 IST`); the numeric offset is authoritative, the zone name is ignored.
 * The server picks `eventTime`, else `series.lastObservedTime`, else `lastTimestamp` when `count > 1`, else
 * `firstTimestamp`, and trims the message.
 */

import * as v from "valibot";
import { parse as parseYaml } from "yaml";
import { errorMessage } from "../log.ts";
import {
  formatFieldIssue,
  isMissing,
  issuePath,
  toFieldIssue,
  type ValibotIssue,
} from "../validation/issues.ts";
import type { FaultEvent, FaultResource } from "./fault.ts";
import { faultIdOf, faultTypeFor, resourceNamespace, severityFor } from "./normalise.ts";

/** One item of an `events_list` answer, typed; `timestamp` converted to RFC 3339 (UTC, milliseconds). */
export interface ListedEvent {
  /** The event's namespace (for events about cluster-scoped objects such as Nodes, usually `default`). */
  namespace: string;
  kind: string;
  name: string;
  /** The involved object's apiVersion; may be empty. */
  apiVersion: string;
  reason: string;
  /** May be empty. */
  message: string;
  /** `Warning`, `Normal` or empty. */
  type: string;
  /** RFC 3339, e.g. `2026-11-25T02:54:13.000Z`. */
  timestamp: string;
}

const ERROR_PREFIX = "events_list answer";
const NO_EVENTS = /^(?:#\s*)?No events found\s*$/;
const EVENTS_HEADER = /^(?:#\s*)?The following events \(YAML format\) were found:[^\S\n]*(?:\n|$)/;

/**
 * Go's `time.Time.String()`: `2006-01-02 15:04:05.999999999 -0700 MST`, optionally followed by a monotonic
 * clock reading (`m=+0.000000001`). The zone name may be an abbreviation or a numeric offset (`+0530`).
 */
const GO_TIME =
  /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))? ([+-])(\d{2})(\d{2})(?: [^\s]+)?(?: m=[+-]\d+(?:\.\d+)?)?$/;

// Schemas (compiled once). The YAML is read with the failsafe schema, so every scalar is a string and an
// empty value is "". Required: InvolvedObject.Kind, InvolvedObject.Name, Reason, Timestamp (non-empty).
// Tolerated missing: InvolvedObject.apiVersion, Namespace, Message, Type (→ ""). Unknown keys are ignored.

const Str = v.string("must be a string");
const NonEmptyStr = v.pipe(Str, v.nonEmpty("must not be empty"));
const OptionalStr = v.optional(Str, "");

const ItemSchema = v.object(
  {
    InvolvedObject: v.object(
      { Kind: NonEmptyStr, Name: NonEmptyStr, apiVersion: OptionalStr },
      "must be a mapping",
    ),
    Namespace: OptionalStr,
    Reason: NonEmptyStr,
    Message: OptionalStr,
    Type: OptionalStr,
    Timestamp: v.pipe(
      NonEmptyStr,
      v.rawTransform(({ dataset, addIssue, NEVER }) => {
        const rfc3339 = goTimeToRfc3339(dataset.value);
        if (rfc3339 !== null) return rfc3339;
        addIssue({
          message: `not a Go time ("2006-01-02 15:04:05 -0700 MST"): ${JSON.stringify(dataset.value)}`,
        });
        return NEVER;
      }),
    ),
  },
  "must be a mapping",
);

/**
 * Parses the text of an `events_list` answer. `# No events found` → `[]`; the YAML form → one
 * {@link ListedEvent} per item, in the server's order. The leading `# ` of either header is optional (older
 * servers omit it). Throws an Error starting `events_list answer: ` for anything else, naming the problem
 * and, for bad items, the item (1-based) and field, e.g. `events_list answer: item 3: missing
 * InvolvedObject.Name` (all problems, joined with `; `).
 */
export function parseEventsList(text: string): ListedEvent[] {
  const trimmed = text.trim();
  if (NO_EVENTS.test(trimmed)) return [];
  const header = EVENTS_HEADER.exec(trimmed);
  if (!header) throw new Error(`${ERROR_PREFIX}: unrecognised text: ${JSON.stringify(excerpt(trimmed))}`);
  let document: unknown;
  try {
    document = parseYaml(trimmed.slice(header[0].length), { schema: "failsafe" });
  } catch (error) {
    throw new Error(`${ERROR_PREFIX}: invalid YAML: ${errorMessage(error)}`);
  }
  if (!Array.isArray(document)) {
    throw new Error(`${ERROR_PREFIX}: expected a YAML list after the header, got ${describe(document)}`);
  }
  const events: ListedEvent[] = [];
  const problems: string[] = [];
  document.forEach((item: unknown, index) => {
    const parsed = v.safeParse(ItemSchema, item);
    if (!parsed.success) {
      for (const issue of parsed.issues) problems.push(`item ${index + 1}: ${describeIssue(issue)}`);
      return;
    }
    const { InvolvedObject, Namespace, Reason, Message, Type, Timestamp } = parsed.output;
    events.push({
      namespace: Namespace,
      kind: InvolvedObject.Kind,
      name: InvolvedObject.Name,
      apiVersion: InvolvedObject.apiVersion,
      reason: Reason,
      message: Message,
      type: Type,
      timestamp: Timestamp,
    });
  });
  if (problems.length > 0) throw new Error(`${ERROR_PREFIX}: ${problems.join("; ")}`);
  return events;
}

/**
 * Turns a polled event into a {@link FaultEvent} tagged with faultline's configured `cluster`, by the
 * rules of normalise.ts for nested faults: `fault_id` = {@link faultIdOf}(resource, fault type) — the
 * id a pushed fault about the same object and fault type gets, flat or nested — `fault_type` and
 * `severity` from the reason, kind and event type, `resource.namespace` null for cluster-scoped kinds,
 * `resource.uid` null (the answer has none), `context` = the message, `raw` = `e`. `receivedAt` defaults to now.
 */
export function listedEventToFault(
  e: ListedEvent,
  cluster: { name: string; labels: Record<string, string> },
  receivedAt: Date = new Date(),
): FaultEvent {
  const faultType = faultTypeFor(e.kind, e.reason, e.message);
  const resource: FaultResource = {
    apiVersion: e.apiVersion,
    kind: e.kind,
    name: e.name,
    namespace: resourceNamespace(e.kind, "", e.namespace),
    uid: null,
  };
  return {
    cluster: cluster.name,
    labels: cluster.labels,
    fault_id: faultIdOf(resource, faultType),
    fault_type: faultType,
    severity: severityFor(faultType, e.type),
    resource,
    context: e.message,
    timestamp: e.timestamp,
    received_at: receivedAt.toISOString(),
    raw: e,
  };
}

/** Go `time.Time.String()` output → RFC 3339 in UTC with milliseconds (extra digits truncated), or null. */
function goTimeToRfc3339(text: string): string | null {
  const match = GO_TIME.exec(text);
  if (!match) return null;
  const [, year, month, day, hour, minute, second, fraction = "", sign, offsetHours, offsetMinutes] = match;
  const [y, mo, d, h, mi, s] = [year, month, day, hour, minute, second].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Number(fraction.slice(0, 3).padEnd(3, "0"));
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0-99 to 1900-1999 (Go's zero time is year 1).
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, ms);
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return null;
  if (h > 23 || mi > 59 || s > 59 || Number(offsetMinutes) > 59) return null;
  const offset = (sign === "-" ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes));
  return new Date(date.getTime() - offset * 60_000).toISOString();
}

/** `missing InvolvedObject.Name`, `Reason: must not be empty`, `must be a mapping` (the item itself). */
function describeIssue(issue: ValibotIssue): string {
  return isMissing(issue) ? `missing ${issuePath(issue)}` : formatFieldIssue(toFieldIssue(issue));
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
  if (typeof value === "string") return `text ${JSON.stringify(excerpt(value))}`;
  return Array.isArray(value) ? "a list" : "a mapping";
}

function excerpt(text: string): string {
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}
