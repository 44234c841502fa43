/** SharedClock: many periodic jobs on one timer, grouped within their slack, never more than it late. */
import { expect, test } from "bun:test";
import { SharedClock, SLICE_MS } from "../../src/worker/shared-clock.ts";
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
