/**
 * The events a simulated cluster remembers for `events_list`, recorded like the API server does (a repeat of
 * the same object and reason bumps `count`), and the stock server's YAML rendering of them.
 */
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { stringify as toYaml } from "yaml";
import type { KubeEvent } from "./faults.ts";

/** How many recorded events a cluster keeps for `events_list` (oldest are dropped). */
export const MAX_RECORDED_EVENTS = 1000;

/** Go's time.Time.String() of a UTC time, as the stock server prints it: `2026-11-25 02:54:13 +0000 UTC`. */
function goTimeString(timestamp: string): string {
  const date = new Date(timestamp);
  if (Number.isNaN(date.getTime())) return timestamp;
  const iso = date.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} +0000 UTC`;
}

/** The item format of the stock server's `events_list` YAML (Go field names, sorted keys, no uid/count). */
function eventListItem(event: KubeEvent): object {
  const { involvedObject } = event;
  return {
    InvolvedObject: {
      Kind: involvedObject.kind,
      Name: involvedObject.name,
      apiVersion: involvedObject.apiVersion,
    },
    Message: event.message,
    Namespace: event.namespace,
    Reason: event.reason,
    Timestamp: goTimeString(event.lastTimestamp),
    Type: event.type,
  };
}

/** Text of an `events_list` answer. */
function formatEventList(events: KubeEvent[]): string {
  if (events.length === 0) return "# No events found";
  return `# The following events (YAML format) were found:\n${toYaml(events.map(eventListItem))}`;
}

/** The recorded events of one cluster, oldest first; at most {@link MAX_RECORDED_EVENTS} are kept. */
export class EventLog {
  private readonly events = new Map<string, KubeEvent>();

  /** With `file`: the events it holds are recorded first, and every event recorded is appended to it. */
  constructor(private readonly file?: string) {
    if (!file || !existsSync(file)) return;
    for (const line of readFileSync(file, "utf8").split("\n")) {
      if (line.trim() === "") continue;
      try {
        this.remember(JSON.parse(line) as KubeEvent);
      } catch {
        // A line cut by a kill: skipped.
      }
    }
  }

  /** Records an event like the API server does: a repeat of the same object+reason bumps `count`. */
  record(event: KubeEvent): KubeEvent {
    const recorded = this.remember(event);
    if (this.file) appendFileSync(this.file, `${JSON.stringify(recorded)}\n`);
    return recorded;
  }

  private remember(event: KubeEvent): KubeEvent {
    const { involvedObject } = event;
    const key = `${event.namespace}/${involvedObject.kind}/${involvedObject.name}/${event.reason}`;
    const previous = this.events.get(key);
    const recorded = previous
      ? { ...event, count: previous.count + 1, firstTimestamp: previous.firstTimestamp }
      : event;
    this.events.delete(key);
    this.events.set(key, recorded);
    if (this.events.size > MAX_RECORDED_EVENTS) {
      const oldest = this.events.keys().next().value;
      if (oldest !== undefined) this.events.delete(oldest);
    }
    return recorded;
  }

  /**
   * Text of an `events_list` answer for one namespace, or for all when `namespace` is undefined, with the
   * events `fieldSelector` selects (`type`, `reason`, `involvedObject.kind`; `=`, `==` or `!=`, joined by
   * commas, as the API server takes them); null for a selector it cannot read.
   */
  listText(namespace: string | undefined, fieldSelector = ""): string | null {
    const select = parseFieldSelector(fieldSelector);
    if (!select) return null;
    const events = [...this.events.values()].filter(
      (event) => (namespace === undefined || event.namespace === namespace) && select(event),
    );
    return formatEventList(events);
  }
}

/** The fields a simulated selector may name. */
const SELECTABLE: Readonly<Record<string, (event: KubeEvent) => string>> = {
  type: (event) => event.type,
  reason: (event) => event.reason,
  "involvedObject.kind": (event) => event.involvedObject.kind,
};

/** A field selector as a predicate, or null when a term is malformed or names another field. */
function parseFieldSelector(selector: string): ((event: KubeEvent) => boolean) | null {
  const tests: Array<(event: KubeEvent) => boolean> = [];
  for (const term of selector.split(",").filter((t) => t.trim() !== "")) {
    const match = /^\s*([^!=\s]+)\s*(==|!=|=)\s*(.*?)\s*$/.exec(term);
    const get = match ? SELECTABLE[match[1] ?? ""] : undefined;
    if (!match || !get) return null;
    const value = match[3];
    tests.push(match[2] === "!=" ? (event) => get(event) !== value : (event) => get(event) === value);
  }
  return (event) => tests.every((test) => test(event));
}
