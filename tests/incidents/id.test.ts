import { expect, test } from "bun:test";
import { faultKey } from "../../src/incidents/fault-key.ts";
import { newIncidentId, seqOfIncidentId, sequencedIncidentId } from "../../src/incidents/id.ts";
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

test("the SQLite store's ids end in their incident's seq, which reads back; other ids read as none", () => {
  const received = Date.parse("2026-11-25T03:05:12.345Z");
  const id = sequencedIncidentId("../we ird", received, 42);
  expect(id).toBe("20261125T030512Z-___we_ird-42");
  expect(seqOfIncidentId(id)).toBe(42);
  expect(sequencedIncidentId("a", received + 1000, 7) > sequencedIncidentId("a", received, 8)).toBe(true);
  // A random (PostgreSQL, or pre-migration SQLite) id, a leading zero, a non-number: no seq.
  expect(seqOfIncidentId(newIncidentId(faultEvent("prod-eu")))).toBe(-1);
  expect(seqOfIncidentId("20261125T030512Z-a-042")).toBe(-1);
  expect(seqOfIncidentId("20261125T030512Z-a-4x")).toBe(-1);
  expect(seqOfIncidentId("")).toBe(-1);
});

test("a fault key is a fixed 53-bit integer of (cluster, fault id), the same on every runtime", () => {
  // Fixed values: a change of hash would strand the keys a database already holds.
  expect(faultKey("prod-eu", "f-1")).toBe(6155790612736036);
  expect(faultKey("ab", "c")).toBe(6148766394332122);
  expect(faultKey("a", "bc")).toBe(6864912440237066);
  for (const key of [faultKey("prod-eu", "f-1"), faultKey("", ""), faultKey("é", "🙂")]) {
    expect(Number.isSafeInteger(key) && key >= 0).toBe(true);
  }
});
