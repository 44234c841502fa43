import { expect, test } from "bun:test";
import { newIncidentId } from "../../src/incidents/id.ts";
import { sampleFault } from "../helpers/fault.ts";

const faultEvent = sampleFault;

test("incident ids sort by time, name the cluster, are path-safe and unique", () => {
  const now = new Date("2026-11-25T03:05:12.345Z");
  const id = newIncidentId(faultEvent("prod-eu"), now);
  expect(id).toMatch(/^20261125T030512Z-prod-eu-[0-9a-f]{12}$/);
  expect(newIncidentId(faultEvent("prod-eu"), now)).not.toBe(id);
  expect(newIncidentId(faultEvent("../we ird"), now)).toMatch(/^20261125T030512Z-___we_ird-[0-9a-f]{12}$/);
  expect(newIncidentId(faultEvent("a"), new Date("2026-11-25T03:05:13Z")) > id).toBe(true);
});
