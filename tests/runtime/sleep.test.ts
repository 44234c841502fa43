import { expect, test } from "bun:test";
import { MAX_SLEEP_MS, sleep } from "../../src/runtime/sleep.ts";

/** A signal whose abort listeners are counted (added minus removed). */
function countedSignal(): { controller: AbortController; listeners: () => number } {
  const controller = new AbortController();
  const { signal } = controller;
  let listeners = 0;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = (...args: Parameters<AbortSignal["addEventListener"]>) => {
    listeners++;
    add(...args);
  };
  signal.removeEventListener = (...args: Parameters<AbortSignal["removeEventListener"]>) => {
    listeners--;
    remove(...args);
  };
  return { controller, listeners: () => listeners };
}

test("resolves after the delay and removes its abort listener", async () => {
  const { controller, listeners } = countedSignal();
  const started = performance.now();
  await sleep(50, controller.signal);
  expect(performance.now() - started).toBeGreaterThanOrEqual(45);
  expect(listeners()).toBe(0);
});

test("an abort ends the wait early, resolving (not rejecting)", async () => {
  const { controller, listeners } = countedSignal();
  const started = performance.now();
  const waiting = sleep(10_000, controller.signal);
  setTimeout(() => controller.abort(new Error("stopping")), 20);
  await expect(waiting).resolves.toBeUndefined();
  expect(performance.now() - started).toBeLessThan(1000);
  expect(listeners()).toBe(0);
});

test("an already aborted signal resolves at once without a timer or listener", async () => {
  const { controller, listeners } = countedSignal();
  controller.abort();
  // No timer: the sleep settles before a 0 ms timer can fire, however loaded the machine is.
  const timer = new Promise<"timer">((resolve) => setTimeout(() => resolve("timer"), 0));
  expect(await Promise.race([sleep(10_000, controller.signal).then(() => "slept" as const), timer])).toBe(
    "slept",
  );
  expect(listeners()).toBe(0);
});

test("without a signal it is a plain delay", async () => {
  const started = performance.now();
  await sleep(30);
  expect(performance.now() - started).toBeGreaterThanOrEqual(25);
});

test("a delay beyond the timer maximum waits (it does not fire at once)", async () => {
  const controller = new AbortController();
  let done = false;
  const waiting = sleep(MAX_SLEEP_MS * 2, controller.signal).then(() => {
    done = true;
  });
  await Bun.sleep(30);
  expect(done).toBe(false);
  controller.abort();
  await waiting;
  expect(done).toBe(true);
});
