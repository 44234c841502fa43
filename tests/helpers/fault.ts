/** A FaultEvent fixture for tests: sensible defaults, any field overridable. */
import type { AgentOutcome } from "../../src/agent/runner.ts";
import { DEFAULT_ENV_PASSTHROUGH } from "../../src/config/schema.ts";
import type { AgentConfig } from "../../src/config/types.ts";
import type { FaultEvent, FaultResource } from "../../src/events/fault.ts";
import type { Incident, RouteDecision } from "../../src/incidents/model.ts";
import type { SqliteStore } from "../../src/incidents/store.ts";

/** Overrides for {@link makeFault}; `resource` is merged field by field, `at` sets both times. */
export type FaultOverrides = Partial<Omit<FaultEvent, "resource">> & {
  resource?: Partial<FaultResource>;
  /** Sets `timestamp` and `received_at` together. */
  at?: Date | string;
};

/** A critical CrashLoop of Pod shop/api-7f9c on cluster prod-eu, with `overrides` applied. */
export function makeFault(overrides: FaultOverrides = {}): FaultEvent {
  const { resource, at, ...rest } = overrides;
  const when = at === undefined ? "2026-11-25T03:05:12.000Z" : new Date(at).toISOString();
  return {
    cluster: "prod-eu",
    labels: {},
    fault_id: "fault-1",
    fault_type: "CrashLoop",
    severity: "critical",
    context: "back-off restarting failed container",
    timestamp: when,
    received_at: when,
    raw: {},
    ...rest,
    resource: { apiVersion: "v1", kind: "Pod", name: "api-7f9c", namespace: "shop", uid: null, ...resource },
  };
}

/**
 * Event `n` of a numbered series: fault `f<n % faults>` (its resource `pod-<n % faults>`) on cluster
 * `c<n % 2>`, received `n` ms after `startIso`: a journal's or a store's stream of events with repeats.
 */
export function numberedFault(n: number, faults: number, startIso: string): FaultEvent {
  const at = new Date(Date.parse(startIso) + n).toISOString();
  return makeFault({
    cluster: `c${n % 2}`,
    fault_id: `f${n % faults}`,
    at,
    resource: { name: `pod-${n % faults}` },
  });
}

/** An agent run's outcome fixture: exited 0 after one second, with `overrides` applied. */
export function makeOutcome(overrides: Partial<AgentOutcome> = {}): AgentOutcome {
  return {
    incident_id: "ignored",
    cluster: "prod-eu",
    run_id: 0,
    workspace: "/state/incidents/x",
    exit_code: 0,
    signal: null,
    timed_out: false,
    interrupted: false,
    duration_ms: 1000,
    started_at: "2026-11-25T03:05:13.000Z",
    finished_at: "2026-11-25T03:05:14.000Z",
    error: null,
    ...overrides,
  };
}

/** Ingests one event (routed to triage unless told otherwise) and returns its incident. */
export function ingestOne(
  store: SqliteStore,
  event: FaultEvent,
  decision: RouteDecision = { action: "triage" },
): Incident {
  const [result] = store.ingest([{ event, decision }]);
  if (!result) throw new Error("ingest returned nothing");
  return result.incident;
}

/** An agent config fixture: `command`, one at a time, 30 s timeout, with `overrides` applied. */
export function makeAgentConfig(command: string[], overrides: Partial<AgentConfig> = {}): AgentConfig {
  return {
    command,
    max_concurrent: 1,
    timeout_seconds: 30,
    max_queue: 100,
    retry_interrupted: true,
    max_attempts: 3,
    max_log_bytes: 10 * 1024 * 1024,
    env_passthrough: [...DEFAULT_ENV_PASSTHROUGH],
    ...overrides,
  };
}

/** A fault of `cluster` with labels and a raw payload (the id and workspace tests' sample). */
export function sampleFault(cluster = "prod-eu"): FaultEvent {
  return makeFault({
    cluster,
    labels: { env: "prod" },
    fault_id: "fault-123",
    raw: { anything: ["as", "sent"] },
  });
}
