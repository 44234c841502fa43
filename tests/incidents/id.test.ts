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

test("ids drawn past one pool of random bytes stay well-formed and distinct", () => {
  const now = new Date("2026-11-25T03:05:12.345Z");
  const ids = new Set<string>();
  for (let i = 0; i < 3000; i++) ids.add(newIncidentId(faultEvent("prod-eu"), new Date(now.getTime() + i)));
  expect(ids.size).toBe(3000);
  for (const id of ids) expect(id).toMatch(/^20261125T03051[2-5]Z-prod-eu-[0-9a-f]{12}$/);
  // A pre-epoch or far-future second is formatted for itself, not taken from the last one.
  expect(newIncidentId(faultEvent("a"), new Date("1999-01-01T00:00:00Z"))).toMatch(/^19990101T000000Z-a-/);
});
