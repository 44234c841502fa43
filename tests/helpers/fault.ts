/** A FaultEvent fixture for tests: sensible defaults, any field overridable. */
import type { FaultEvent, FaultResource } from "../../src/events/fault.ts";

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
