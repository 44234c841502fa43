import { expect, test } from "bun:test";
import { watchIntervalMs, watchVerdict } from "../../src/cluster/worker-watchdog.ts";

test("a worker heard from recently is left alone; a silent one is asked; one silent past the timeout is hung", () => {
  expect(watchVerdict(0, 30_000)).toBe("quiet");
  expect(watchVerdict(watchIntervalMs(30_000) - 1, 30_000)).toBe("quiet");
  expect(watchVerdict(watchIntervalMs(30_000), 30_000)).toBe("ask");
  expect(watchVerdict(29_999, 30_000)).toBe("ask");
  expect(watchVerdict(30_000, 30_000)).toBe("hung");
});

test("the watchdog looks four times per timeout, at most every 5 s and at least every 10 ms", () => {
  expect(watchIntervalMs(30_000)).toBe(5000);
  expect(watchIntervalMs(8000)).toBe(2000);
  expect(watchIntervalMs(600)).toBe(150);
  expect(watchIntervalMs(1)).toBe(10);
});
