import { expect, test } from "bun:test";
import type { FaultEvent } from "../../src/events/fault.ts";
import { newIncidentId } from "../../src/incidents/id.ts";
import { makeFault } from "../helpers/fault.ts";

function faultEvent(cluster = "prod-eu"): FaultEvent {
  return makeFault({
    cluster,
    labels: { env: "prod" },
    fault_id: "fault-123",
    raw: { anything: ["as", "sent"] },
  });
}

test("incident ids sort by time, name the cluster, are path-safe and unique", () => {
  const now = new Date("2026-11-25T03:05:12.345Z");
  const id = newIncidentId(faultEvent("prod-eu"), now);
  expect(id).toMatch(/^20261125T030512Z-prod-eu-[0-9a-f]{12}$/);
  expect(newIncidentId(faultEvent("prod-eu"), now)).not.toBe(id);
  expect(newIncidentId(faultEvent("../we ird"), now)).toMatch(/^20261125T030512Z-___we_ird-[0-9a-f]{12}$/);
  expect(newIncidentId(faultEvent("a"), new Date("2026-11-25T03:05:13Z")) > id).toBe(true);
});
