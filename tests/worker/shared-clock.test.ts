/** SharedClock: many periodic jobs on one timer, grouped within their slack, never more than it late. */
import { expect, test } from "bun:test";
import { phaseFraction, SharedClock, SLICE_MS } from "../../src/worker/shared-clock.ts";
import { waitFor } from "../helpers/wait.ts";

test("jobs due within the slack of one another run in the same wake-up, none later than its slack", async () => {
  const clock = new SharedClock();
  const runs: Array<{ job: string; at: number }> = [];
  const started = performance.now();
  const stopA = clock.every(100, () => runs.push({ job: "a", at: performance.now() }));
  await Bun.sleep(5); // b is due 5 ms after a: within a's 10 ms slack
  const stopB = clock.every(100, () => runs.push({ job: "b", at: performance.now() }));
  await Bun.sleep(450);
  stopA();
  stopB();
  expect(clock.size).toBe(0);
  const a = runs.filter((run) => run.job === "a");
  const b = runs.filter((run) => run.job === "b");
  expect(a.length).toBeGreaterThanOrEqual(3);
  expect(b.length).toBe(a.length);
  // Each of a's runs shares its wake-up with one of b's: the same moment, b not before it is due.
  for (let i = 0; i < a.length; i++) {
    expect(Math.abs((b[i]?.at ?? 0) - (a[i]?.at ?? 0))).toBeLessThan(1);
    expect((a[i]?.at ?? 0) - started).toBeGreaterThanOrEqual((i + 1) * 100 + 5 - 0.5);
  }
  const count = runs.length;
  await Bun.sleep(250);
  expect(runs.length).toBe(count); // stopped: no more runs
});

test("the average period is the interval: a late run does not push the next one back", async () => {
  const clock = new SharedClock();
  const runs: { due: number; ranAt: number }[] = [];
  const stop = clock.every(20, (due) => {
    runs.push({ due, ranAt: performance.now() });
  });
  await Bun.sleep(1010);
  stop();
  // 50 runs due in the second. A thread stalled past a whole interval runs the job once and starts a
  // new schedule (by design); a run merely late keeps the next one on the old schedule. That is checked
  // run by run, so a loaded machine's stalls change which pairs are checked, never the verdict.
  expect(runs.length).toBeLessThanOrEqual(50);
  expect(runs.length).toBeGreaterThanOrEqual(10);
  let onSchedule = 0;
  for (let i = 0; i + 1 < runs.length; i++) {
    const run = runs[i] as { due: number; ranAt: number };
    const next = runs[i + 1] as { due: number; ranAt: number };
    if (run.ranAt < run.due + 20) {
      expect(next.due).toBe(run.due + 20);
      onSchedule++;
    } else expect(next.due).toBeGreaterThan(run.due + 20);
  }
  expect(onSchedule).toBeGreaterThan(0);
});

test("many jobs due at once run in slices of at most SLICE_MS: what waits for the event loop runs between them", async () => {
  const clock = new SharedClock();
  let ran = 0;
  let ranWhenTheLoopTurned = -1;
  const stops: Array<() => void> = [];
  for (let i = 0; i < 10; i++) {
    stops.push(
      clock.every(50, () => {
        if (ran === 0) setImmediate(() => (ranWhenTheLoopTurned = ran));
        const until = performance.now() + 1; // each job holds the thread for 1 ms
        while (performance.now() < until) {}
        ran++;
      }),
    );
  }
  try {
    await waitFor("the ten jobs' first runs", () => ran >= 10, 5000);
    expect(SLICE_MS).toBeLessThan(10);
    // The loop turned after a slice (2 ms: two or three jobs), not after all ten (10 ms in one turn).
    expect(ranWhenTheLoopTurned).toBeGreaterThan(0);
    expect(ranWhenTheLoopTurned).toBeLessThanOrEqual(Math.ceil(SLICE_MS) + 1);
  } finally {
    for (const stop of stops) stop();
  }
});

test("phaseFraction: the same for a key every time, in [0, 1), spread evenly over many keys", () => {
  expect(phaseFraction("prod-east")).toBe(phaseFraction("prod-east"));
  expect(phaseFraction("prod-east")).not.toBe(phaseFraction("prod-west"));
  const tenths = new Array<number>(10).fill(0);
  for (let i = 0; i < 1000; i++) {
    const fraction = phaseFraction(`cluster-${i}`);
    expect(fraction).toBeGreaterThanOrEqual(0);
    expect(fraction).toBeLessThan(1);
    tenths[Math.floor(fraction * 10)] = (tenths[Math.floor(fraction * 10)] ?? 0) + 1;
  }
  // 1000 clusters named as the bench names them: each tenth of the interval gets 100 ± 35 of their pings.
  for (const count of tenths) expect(count).toBeGreaterThan(65);
  for (const count of tenths) expect(count).toBeLessThan(135);
});

test("a job with a phase runs on its grid of the wall clock; one of the same phase started later, or at a multiple of the interval, shares its wake-ups; another phase does not", async () => {
  const clock = new SharedClock();
  const wall = (dueMs: number) => performance.timeOrigin + dueMs;
  const runs: Record<string, Array<{ due: number; at: number }>> = { a: [], late: [], slow: [], other: [] };
  const record = (name: string) => (due: number) => runs[name]?.push({ due, at: performance.now() });
  const stops = [clock.every(200, record("a"), { phaseMs: 50 })];
  await Bun.sleep(70); // started elsewhere in the interval: still at the same moments
  stops.push(clock.every(200, record("late"), { phaseMs: 50 }));
  stops.push(clock.every(400, record("slow"), { phaseMs: 50 }));
  stops.push(clock.every(200, record("other"), { phaseMs: 150 }));
  await Bun.sleep(1300);
  for (const stop of stops) stop();
  const { a = [], late = [], slow = [], other = [] } = runs;
  expect(a.length).toBeGreaterThanOrEqual(4);
  expect(slow.length).toBeGreaterThanOrEqual(2);
  for (const run of [...a, ...late, ...slow]) {
    // Due on the grid (50 past a multiple of 200 ms, Unix time) and never run before it.
    const offset = (((wall(run.due) - 50) % 200) + 200) % 200;
    expect(Math.min(offset, 200 - offset)).toBeLessThan(0.01);
    expect(run.at).toBeGreaterThanOrEqual(run.due);
  }
  const ranWithA = (run: { due: number }) => a.some((mine) => Math.abs(mine.due - run.due) < 0.01);
  expect(late.length).toBeGreaterThanOrEqual(a.length - 1);
  for (const run of late) expect(ranWithA(run)).toBe(true);
  for (const run of slow) expect(ranWithA(run)).toBe(true);
  // Half an interval away, the other phase runs between a's runs, never with one.
  expect(other.length).toBeGreaterThanOrEqual(4);
  for (const run of other) expect(ranWithA(run)).toBe(false);
  for (const run of other) {
    const offset = (((wall(run.due) - 150) % 200) + 200) % 200;
    expect(Math.min(offset, 200 - offset)).toBeLessThan(0.01);
  }
});

test("a job with a phase whose thread stalled for intervals runs once, then keeps its phase", async () => {
  const clock = new SharedClock();
  const dues: number[] = [];
  const stop = clock.every(50, (due) => dues.push(due), { phaseMs: 20 });
  await waitFor("a first run", () => dues.length >= 1, 2000);
  const stalledUntil = performance.now() + 180; // more than three intervals
  while (performance.now() < stalledUntil) {}
  await waitFor("two runs after the stall", () => dues.length >= 3, 2000);
  stop();
  for (const due of dues) {
    const offset = (((performance.timeOrigin + due - 20) % 50) + 50) % 50;
    expect(Math.min(offset, 50 - offset)).toBeLessThan(0.01);
  }
  // The stall was paid with one run, not one per missed interval.
  const gaps = dues.slice(1).map((due, i) => due - (dues[i] as number));
  expect(gaps.some((gap) => gap >= 150)).toBe(true);
});
