/** Shared fixtures of the store contract suite: a settable clock, events at offsets, items, outcomes, a planner. */
import type { AgentOutcome } from "../../../src/agent/runner.ts";
import type { FaultEvent, Severity } from "../../../src/events/fault.ts";
import type { IngestItem, RouteDecision } from "../../../src/incidents/model.ts";
import type { NotificationPlanner } from "../../../src/incidents/outbox.ts";
import type { IncidentStore } from "../../../src/incidents/store-api.ts";
import { makeFault, makeOutcome } from "../../helpers/fault.ts";

/** The suite's epoch. */
export const T0 = Date.parse("2026-11-25T03:00:00.000Z");
/** Routed to an agent. */
export const TRIAGE: RouteDecision = { action: "triage" };

/** A clock the cases move: `now` for the store, `at(seconds)` to set it. */
export function testClock(): { now: () => Date; set(offsetSeconds: number): void } {
  let ms = T0;
  return {
    now: () => new Date(ms),
    set: (offsetSeconds) => {
      ms = T0 + offsetSeconds * 1000;
    },
  };
}

/** An event of `fault_id` on `cluster` received `offsetSeconds` after {@link T0}. */
export function eventAt(
  offsetSeconds: number,
  overrides: { cluster?: string; fault_id?: string; severity?: Severity } = {},
): FaultEvent {
  return makeFault({
    cluster: overrides.cluster ?? "prod-eu",
    fault_id: overrides.fault_id ?? "fault-1",
    severity: overrides.severity ?? "critical",
    labels: { env: "prod" },
    raw: { sent: ["as", "is"] },
    at: new Date(T0 + offsetSeconds * 1000),
  });
}

/** An ingest item (triage unless told). */
export function item(event: FaultEvent, decision: RouteDecision = TRIAGE): IngestItem {
  return { event, decision };
}

/** A run's end: exited 0 (or as overridden), timed after T0. */
export function outcome(overrides: Partial<AgentOutcome> = {}): AgentOutcome {
  return makeOutcome({
    workspace: "",
    duration_ms: 1234,
    started_at: new Date(T0 + 1000).toISOString(),
    finished_at: new Date(T0 + 2234).toISOString(),
    ...overrides,
  });
}

/** Claims the next queued incident with a workspace named after it; throws when none is queued. */
export async function claim(store: IncidentStore) {
  const claimed = await store.claimNext((incident) => `/state/incidents/${incident.id}`);
  if (claimed === null) throw new Error("nothing queued");
  return claimed;
}

/** A planner sending every change to each of `sinks`, keyed by incident, trigger and run. */
export function plannerFor(...sinks: string[]): NotificationPlanner {
  return ({ trigger, incident, run }) =>
    sinks.map((sink) => ({
      sink,
      idempotency_key: `${incident.id}:${trigger}:${run?.id ?? 0}`,
      message: JSON.stringify({ trigger, incident: incident.id, status: incident.status }),
    }));
}

/** Claims until nothing is left; the ids of the incidents this claimer got, in order. */
export async function claimAll(store: IncidentStore): Promise<string[]> {
  const got: string[] = [];
  for (;;) {
    const claimed = await store.claimNext((incident) => `/state/incidents/${incident.id}`);
    if (claimed === null) return got;
    got.push(claimed.incident.id);
  }
}
