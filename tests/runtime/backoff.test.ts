import { expect, test } from "bun:test";
import { Backoff } from "../../src/runtime/backoff.ts";

test("starts at initial, doubles, never exceeds max; reset starts over", () => {
  const noJitter = new Backoff(1000, 60_000, () => 0);
  expect(Array.from({ length: 9 }, () => noJitter.next())).toEqual([
    1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000,
  ]);
  noJitter.reset();
  expect(noJitter.next()).toBe(1000);
});

test("jitter adds up to 20 % but never goes above max", () => {
  const fullJitter = new Backoff(1000, 60_000, () => 0.999);
  const delays = Array.from({ length: 10 }, () => fullJitter.next());
  expect(delays[0]).toBe(1200);
  expect(delays[1]).toBe(2400);
  expect(Math.max(...delays)).toBe(60_000);
  for (const d of delays) expect(d).toBeGreaterThanOrEqual(1000);
});

test("fractions of seconds work (tests use small values)", () => {
  const fast = new Backoff(50, 400, () => 0);
  expect([fast.next(), fast.next(), fast.next(), fast.next(), fast.next()]).toEqual([50, 100, 200, 400, 400]);
});
