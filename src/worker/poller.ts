/**
 * Poll mode for servers without `events_subscribe`: list events with `events_list`, and turn the
 * Warning events that are new since the previous list into faults. The first list is a baseline: what
 * existed before faultline connected never fires (the same semantics as push: only new faults). A
 * recurring event shows a newer timestamp, so each new occurrence fires (dedup groups them).
 *
 * The same listing serves backfill after a push-mode outage: Warning events since a moment.
 */
import type { ListedEvent } from "../events/events-list.ts";
import { describeResource, type FaultEvent } from "../events/fault.ts";

let eventsList: Promise<typeof import("../events/events-list.ts")> | null = null;

/**
 * events-list.ts and the YAML parser it needs, loaded the first time an answer is parsed: a worker whose
 * connections only push (never a backfill) does not load them at start-up.
 */
function loadEventsList(): Promise<typeof import("../events/events-list.ts")> {
  eventsList ??= import("../events/events-list.ts");
  return eventsList;
}

/** Lists events: calls `events_list` (one namespace, or all when undefined) and returns its text. */
export type ListEvents = (namespace: string | undefined) => Promise<string>;

/** The cluster the faults are tagged with. */
export interface PollCluster {
  name: string;
  labels: Record<string, string>;
}

/** Lists every configured namespace (or all namespaces) and parses the answers. */
async function listAll(list: ListEvents, namespaces: readonly string[] | undefined): Promise<ListedEvent[]> {
  const { parseEventsList } = await loadEventsList();
  if (!namespaces || namespaces.length === 0) return parseEventsList(await list(undefined));
  const answers = await Promise.all(namespaces.map((namespace) => list(namespace)));
  return answers.flatMap((text) => parseEventsList(text));
}

/** Turns successive event lists into new faults. Keeps one list's worth of keys, no more. */
export class EventsPoller {
  /** Keys of the Warning events in the previous list; null until the baseline. */
  #seen: Set<string> | null = null;
  /** Set by {@link resume}: the baseline reports the gap a previous faultline left. */
  #resume: { fromMs: number; stored: ReadonlyMap<string, number> } | null = null;

  constructor(
    readonly cluster: PollCluster,
    readonly namespaces?: readonly string[],
  ) {}

  /**
   * Makes the first list report the Warning events at or after `sinceMs` (to the second) whose object
   * has no fault stored at that time or later in `stored` (per `kind/namespace/name`, epoch ms).
   */
  resume(sinceMs: number, stored: ReadonlyMap<string, number>): void {
    if (this.#seen === null) this.#resume = { fromMs: Math.floor(sinceMs / 1000) * 1000, stored };
  }

  /**
   * Lists events; returns the Warning events not seen in the previous list (none on the first call,
   * unless {@link resume} said where a previous faultline stopped).
   */
  async poll(list: ListEvents, receivedAt: () => Date = () => new Date()): Promise<FaultEvent[]> {
    const events = (await listAll(list, this.namespaces)).filter(isWarning);
    const { listedEventToFault } = await loadEventsList();
    const now = receivedAt();
    const previous = this.#seen;
    const seen = new Set<string>();
    const fresh: FaultEvent[] = [];
    for (const event of events) {
      const fault = listedEventToFault(event, this.cluster, now);
      const key = `${fault.fault_id}@${event.timestamp}`;
      seen.add(key);
      if (previous ? !previous.has(key) : this.#inGap(fault, event.timestamp)) fresh.push(fault);
    }
    this.#seen = seen;
    this.#resume = null;
    return fresh;
  }

  /** On the first list after {@link resume}: the event falls in the gap and is not stored yet. */
  #inGap(fault: FaultEvent, timestamp: string): boolean {
    if (!this.#resume) return false;
    const at = Date.parse(timestamp);
    const stored = this.#resume.stored.get(describeResource(fault.resource)) ?? -1;
    return at >= this.#resume.fromMs && stored < at;
  }
}

/**
 * Warning events at or after `since` (compared to the second: the stock server prints whole seconds),
 * as faults: what a push-mode connection missed while it was down.
 */
export async function backfill(
  list: ListEvents,
  cluster: PollCluster,
  namespaces: readonly string[] | undefined,
  since: Date,
  receivedAt: Date = new Date(),
): Promise<FaultEvent[]> {
  const from = Math.floor(since.getTime() / 1000) * 1000;
  const listed = await listAll(list, namespaces);
  const { listedEventToFault } = await loadEventsList();
  return listed
    .filter((event) => isWarning(event) && Date.parse(event.timestamp) >= from)
    .map((event) => listedEventToFault(event, cluster, receivedAt));
}

function isWarning(event: ListedEvent): boolean {
  return event.type === "Warning";
}
