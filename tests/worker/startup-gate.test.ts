/** The start-up gate on its own: how long a slot is held, and how many attempts may be in flight. */
import { expect, test } from "bun:test";
import { SLOWER_THAN_TYPICAL, StartupGate, type StartupSlot } from "../../src/worker/startup-gate.ts";

const MIN_HOLD_MS = 100;

/** Whether `promise` settles within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const timeout = new Promise<false>((resolve) => setTimeout(() => resolve(false), ms));
  return Promise.race([promise.then(() => true), timeout]);
}

/** Takes a slot and answers after `ms`. */
async function attempt(gate: StartupGate, ms: number): Promise<StartupSlot> {
  const slot = await gate.acquire();
  await Bun.sleep(ms);
  slot.answered();
  return slot;
}

test("a slot is held until initialize answers, and answering frees it at once", async () => {
  const gate = new StartupGate(1, MIN_HOLD_MS);
  const first = await gate.acquire();
  const second = gate.acquire();
  expect(await settlesWithin(second, MIN_HOLD_MS / 2)).toBe(false);
  first.answered();
  expect(await settlesWithin(second, 20)).toBe(true);
  (await second).done();
});

test("with nothing known yet, a slow attempt gives its slot back after the minimum hold", async () => {
  const gate = new StartupGate(1, MIN_HOLD_MS);
  const slow = await gate.acquire();
  const started = performance.now();
  const next = await gate.acquire();
  expect(performance.now() - started).toBeGreaterThanOrEqual(MIN_HOLD_MS - 10);
  next.done();
  slow.done();
});

test("while every initialize is slow, a slot is held as long as a typical one takes", async () => {
  const gate = new StartupGate(1, MIN_HOLD_MS);
  // Three answers of 150 ms each (all slower than the minimum hold): that is typical now.
  for (let i = 0; i < 3; i++) await attempt(gate, 150);
  expect(gate.holdMs()).toBeGreaterThanOrEqual(SLOWER_THAN_TYPICAL * 140);
  const slot = await gate.acquire();
  const next = gate.acquire();
  // A fixed minimum hold would have let the next one in after 100 ms.
  expect(await settlesWithin(next, 200)).toBe(false);
  slot.answered();
  (await next).done();
});

test("a server slower than its peers gives its slot back after the typical time, the others go on", async () => {
  const gate = new StartupGate(1, MIN_HOLD_MS);
  for (let i = 0; i < 3; i++) await attempt(gate, 5); // peers answer fast
  const hanging = await gate.acquire();
  const started = performance.now();
  await attempt(gate, 5);
  const waited = performance.now() - started;
  expect(waited).toBeGreaterThanOrEqual(MIN_HOLD_MS - 10);
  expect(waited).toBeLessThan(MIN_HOLD_MS * 3);
  hanging.done();
});

test("slots given back early are bounded: never more than twice the limit waiting for initialize", async () => {
  const gate = new StartupGate(2, MIN_HOLD_MS);
  // Four hanging attempts: two hold the slots, two gave theirs back early (the overflow is full).
  const hanging = [await gate.acquire(), await gate.acquire(), await gate.acquire(), await gate.acquire()];
  const fifth = gate.acquire();
  expect(await settlesWithin(fifth, MIN_HOLD_MS * 3)).toBe(false);
  // One of them fails: its place frees, and the fifth gets a slot within the next minimum hold.
  hanging[0]?.done();
  expect(await settlesWithin(fifth, MIN_HOLD_MS * 3)).toBe(true);
  (await fifth).done();
  for (const slot of hanging) slot.done();
});

test("while peers answer fast, any number of hanging servers give their slots back (they hold no one up)", async () => {
  const gate = new StartupGate(2, MIN_HOLD_MS);
  for (let i = 0; i < 3; i++) await attempt(gate, 5); // peers answer fast
  // Six hanging attempts, three times the limit: each gives its slot back after the minimum hold.
  const started = performance.now();
  const hanging: StartupSlot[] = [];
  for (let i = 0; i < 6; i++) hanging.push(await gate.acquire());
  await attempt(gate, 5);
  expect(performance.now() - started).toBeLessThan(MIN_HOLD_MS * 6);
  for (const slot of hanging) slot.done();
});

test("done after answered, and done twice, change nothing", async () => {
  const gate = new StartupGate(1, MIN_HOLD_MS);
  const slot = await gate.acquire();
  slot.answered();
  slot.done();
  slot.done();
  const next = await gate.acquire();
  const third = gate.acquire();
  expect(await settlesWithin(third, MIN_HOLD_MS / 2)).toBe(false);
  next.done();
  (await third).done();
});
