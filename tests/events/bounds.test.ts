import { describe, expect, test } from "bun:test";
import { boundEvent, truncateStrings, truncateText } from "../../src/events/bounds.ts";
import { isoTime, isSaneTime, rfc3339Ms } from "../../src/events/timestamp.ts";
import { makeFault } from "../helpers/fault.ts";

describe("truncation", () => {
  test("long text keeps its head and says how long it was", () => {
    expect(truncateText("short", 10)).toBe("short");
    expect(truncateText("x".repeat(2000), 10)).toBe("xxxxxxxxxx…[truncated: 2000 chars]");
  });

  test("every string in a value is cut, keys too; untouched parts are shared", () => {
    const shared = { small: "ok" };
    const value = { long: "y".repeat(50), list: ["z".repeat(40), 1, null], shared, ["k".repeat(30)]: true };
    const cut = truncateStrings(value, 20) as Record<string, unknown>;
    expect(cut.long).toBe(`${"y".repeat(20)}…[truncated: 50 chars]`);
    expect(cut.list).toEqual([`${"z".repeat(20)}…[truncated: 40 chars]`, 1, null]);
    expect(cut.shared).toBe(shared);
    expect(cut[`${"k".repeat(20)}…[truncated: 30 chars]`]).toBe(true);
    expect(truncateStrings(shared, 20)).toBe(shared);
  });

  test("an event's context, resource and raw strings are cut; labels are the config's and stay", () => {
    const event = makeFault({ context: "c".repeat(300), raw: { message: "m".repeat(300) } });
    const bounded = boundEvent(event, 256);
    expect(bounded.context).toBe(`${"c".repeat(256)}…[truncated: 300 chars]`);
    expect(bounded.raw).toEqual({ message: `${"m".repeat(256)}…[truncated: 300 chars]` });
    expect(bounded.labels).toBe(event.labels);
    expect(boundEvent(makeFault(), 256)).toEqual(makeFault());
  });

  test("an event with nothing too long is returned as it is; one long field anywhere cuts that field", () => {
    const event = makeFault({ raw: { message: "short" } });
    expect(boundEvent(event, 256)).toBe(event);
    const long = "n".repeat(300);
    const cutLong = `${"n".repeat(256)}…[truncated: 300 chars]`;
    for (const field of ["fault_id", "fault_type", "context", "timestamp"] as const) {
      expect(boundEvent({ ...event, [field]: long }, 256)[field]).toBe(cutLong);
    }
    for (const field of ["apiVersion", "kind", "name", "namespace", "uid"] as const) {
      const bounded = boundEvent({ ...event, resource: { ...event.resource, [field]: long } }, 256);
      expect(bounded.resource[field]).toBe(cutLong);
    }
  });
});

describe("boundEvent with the length of the text raw was parsed from", () => {
  test("within the limit, raw is taken as it is (no string in it can be longer than its text)", () => {
    const raw = { message: "m".repeat(100) };
    const event = makeFault({ raw });
    const text = JSON.stringify(raw);
    expect(boundEvent(event, 256, text.length)).toBe(event);
    // The fields outside raw are still checked.
    const long = makeFault({ raw, context: "c".repeat(300) });
    expect(boundEvent(long, 256, text.length).context).toBe(`${"c".repeat(256)}…[truncated: 300 chars]`);
  });

  test("past the limit, raw is walked and its long strings cut as without it", () => {
    const raw = { message: "m".repeat(300) };
    const event = makeFault({ raw });
    expect(boundEvent(event, 256, JSON.stringify(raw).length)).toEqual(boundEvent(event, 256));
    expect(boundEvent(event, 256, JSON.stringify(raw).length).raw).toEqual({
      message: `${"m".repeat(256)}…[truncated: 300 chars]`,
    });
  });

  test("a parsed string is never longer than its JSON text, escapes and astral characters included", () => {
    // Escaped by hand (a server may escape what JSON.stringify would not): each decodes to fewer UTF-16 units.
    const texts = ['"\\u00e9"', '"\\ud83d\\ude00"', '"\\n\\t\\"\\\\"', '"\\u0001"', '"😀é€"', '"x"', '""'];
    for (const text of texts) {
      const value = JSON.parse(text) as string;
      expect(value.length).toBeLessThan(text.length);
    }
  });
});

describe("isoTime", () => {
  test("writes what toISOString writes, for the same millisecond again and for others", () => {
    for (const ms of [
      0,
      1,
      999,
      Date.UTC(2026, 10, 25, 3, 15, 5, 7),
      Date.UTC(2026, 10, 25, 3, 15, 5, 7),
      8.64e15,
    ]) {
      expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    }
  });

  test("throws for a time that is no date, as toISOString does", () => {
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
    expect(() => isoTime(8.64e15 + 1)).toThrow(RangeError);
  });
});

describe("timestamps", () => {
  const received = new Date("2026-11-25T03:15:06Z");
  test("RFC 3339 date-times within range are the server's", () => {
    for (const ok of [
      "2026-11-25T03:15:05Z",
      "2026-11-25T03:15:05.123456789+05:30",
      "2026-11-25 03:15:05z",
      "2000-01-01T00:00:00Z",
      "2026-11-26T03:15:05Z", // a day ahead: clock skew
      "2000-02-29T00:00:00Z", // a leap day (divisible by 400)
      "2024-02-29T12:00:00Z",
      "2026-04-30T00:00:00+23:59",
      "2026-11-25t03:15:05Z",
    ]) {
      expect(isSaneTime(ok, received.getTime())).toBe(true);
      expect(isSaneTime(ok, received.getTime())).toBe(true);
    }
  });
  test("anything else is not", () => {
    for (const bad of [
      "not-a-time",
      "",
      "2026-11-25",
      "2026-11-25T03:15:05", // no offset
      "2026-02-30T00:00:00Z", // no such day
      "2026-02-29T00:00:00Z", // not a leap year
      "2026-04-31T00:00:00Z",
      "2026-11-25T03:15:05+24:00",
      "2026-11-25T03:15:05+05:60",
      "2026-11-25T03:60:05Z",
      "2026-13-01T00:00:00Z",
      "2026-11-25T24:00:00Z",
      "0001-01-01T00:00:00Z", // Go's zero time
      "1999-12-31T23:59:59Z",
      "2026-11-27T03:15:07Z", // more than a day ahead
      "+275760-09-13T00:00:00Z",
    ]) {
      expect(isSaneTime(bad, received.getTime())).toBe(false);
      expect(isSaneTime(bad, received.getTime())).toBe(false);
    }
  });
  test("rfc3339Ms reads what Date.parse reads, and refuses what the RFC 3339 shape does not have", () => {
    for (let k = 0; k < 2000; k++) {
      const iso = new Date(k * 2_000_000_003 + (k % 7) * 123).toISOString(); // 1970-2096, with ms
      expect(rfc3339Ms(iso)).toBe(Date.parse(iso));
      const offset = `${k % 2 ? "+" : "-"}${String(k % 24).padStart(2, "0")}:${String(k % 60).padStart(2, "0")}`;
      const zoned = iso.replace("Z", offset);
      expect(rfc3339Ms(zoned)).toBe(Date.parse(zoned));
      const nanos = iso.replace(/\.(\d{3})Z$/, ".$1456789z").replace("T", k % 2 ? " " : "t");
      expect(rfc3339Ms(nanos)).toBe(Date.parse(iso));
    }
    expect(rfc3339Ms("0099-03-01T00:00:00Z")).toBe(Date.parse("0099-03-01T00:00:00Z"));
    expect(rfc3339Ms("2026-11-25T03:15:05.5Z")).toBe(Date.parse("2026-11-25T03:15:05.500Z"));
    for (const bad of [
      "2026-11-25T03:15:60Z", // a leap second: Date.parse says NaN too
      "2026-11-25T03:15:05.Z",
      "2026-11-25T03:15:05.1234567890Z",
      "2026-11-25T03:15:05Zx",
      "2026-11-25T03:15:05+0530",
      "2026-11-25T03:15:05+05:30x",
      "2026-1a-25T03:15:05Z",
      "2026-11-25T03:15:05 ",
    ]) {
      expect(rfc3339Ms(bad)).toBeNaN();
    }
  });
});
