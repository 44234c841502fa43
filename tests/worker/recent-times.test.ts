/** The two-generation memory of the latest time per key (a push feed's memory of pushed and listed faults). */
import { expect, test } from "bun:test";
import { RecentTimes } from "../../src/worker/recent-times.ts";

test("keeps the latest time per key, whichever generation holds it", () => {
  const times = new RecentTimes(4);
  times.remember("a", 10);
  times.remember("a", 5); // older: the latest stays
  expect(times.get("a")).toBe(10);
  times.remember("a", 20);
  expect(times.get("a")).toBe(20);
  // Push "a" into the old generation, then remember an older time for it in the young one.
  for (const key of ["b", "c", "d"]) times.remember(key, 1);
  times.remember("a", 15);
  expect(times.get("a")).toBe(20);
  times.remember("a", 30);
  expect(times.get("a")).toBe(30);
  expect(times.get("never")).toBeUndefined();
});

test("a time that is not finite is ignored; none is kept below 0 (as the map it replaces did)", () => {
  const times = new RecentTimes(4);
  times.remember("a", Number.NaN);
  times.remember("b", Number.POSITIVE_INFINITY);
  expect(times.get("a")).toBeUndefined();
  expect(times.get("b")).toBeUndefined();
  expect(times.size).toBe(0);
  times.remember("c", -5);
  expect(times.get("c")).toBe(0);
});

test("stays bounded (at most twice the capacity) and always keeps the capacity most recently remembered", () => {
  const capacity = 8;
  const times = new RecentTimes(capacity);
  const order: string[] = [];
  for (let i = 0; i < 1000; i++) {
    // Mostly new keys, some remembered again (which makes them recent again).
    const key = i % 7 === 0 && i > 0 ? (order[order.length - 3] as string) : `k${i}`;
    times.remember(key, i);
    order.push(key);
    expect(times.size).toBeLessThanOrEqual(2 * capacity);
    const recent = [...new Set(order.toReversed())].slice(0, capacity);
    for (const kept of recent) expect(times.get(kept)).toBeDefined();
  }
  // The oldest keys are gone: memory does not grow with the stream.
  expect(times.get("k1")).toBeUndefined();
});
