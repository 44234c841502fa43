import { expect, test } from "bun:test";
import { GC_TIMER_VARIABLE } from "../../src/runtime/http-capacity.ts";
import { QuietCollector } from "../../src/runtime/quiet-collector.ts";
import { waitFor } from "../helpers/wait.ts";

test("a thread collects once it has been quiet after work; nothing runs while nothing happens; at most one per interval", async () => {
  let collections = 0;
  let now = 0; // the verdicts follow this clock; the timers are real
  const collector = new QuietCollector({
    collect: () => collections++,
    quietMs: 40,
    minIntervalMs: 300,
    now: () => now,
  });
  await Bun.sleep(100);
  expect(collections).toBe(0); // no work: no collection, no timer
  collector.activity();
  await Bun.sleep(100); // the timer fired, but the clock says no quiet yet
  expect(collections).toBe(0);
  now = 50; // quiet for 50 ms of the 40 asked
  await waitFor("the first collection", () => collections === 1);
  now = 60;
  collector.activity();
  now = 110; // quiet again, but only 60 ms after the last collection
  await Bun.sleep(150);
  expect(collections).toBe(1);
  now = 400;
  await waitFor("the second collection, once the interval passed", () => collections === 2, 5000);
  await Bun.sleep(100);
  expect(collections).toBe(2); // nothing more without work
  collector.stop();
});

test("while Bun's own GC timer runs (no re-exec), the collector does nothing", async () => {
  const saved = process.env[GC_TIMER_VARIABLE];
  delete process.env[GC_TIMER_VARIABLE];
  const collector = new QuietCollector({ quietMs: 10, minIntervalMs: 0 });
  if (saved !== undefined) process.env[GC_TIMER_VARIABLE] = saved;
  collector.activity();
  await Bun.sleep(50);
  expect(collector.collections).toBe(0);
});

test("with the GC timer off, a real collection gives a dropped heap back", async () => {
  const saved = process.env[GC_TIMER_VARIABLE];
  process.env[GC_TIMER_VARIABLE] = "1";
  const collector = new QuietCollector({ quietMs: 20, minIntervalMs: 0 });
  if (saved === undefined) delete process.env[GC_TIMER_VARIABLE];
  else process.env[GC_TIMER_VARIABLE] = saved;
  let garbage: number[][] | null = Array.from({ length: 200 }, () => new Array(50_000).fill(1.5));
  const held = process.memoryUsage().heapUsed;
  garbage = null;
  expect(garbage).toBeNull();
  collector.activity();
  // Its timer fires 20 ms on, or later on a loaded machine: wait for the collection rather than a fixed time.
  await waitFor("the collection", () => collector.collections > 0, 5000);
  expect(collector.collections).toBe(1);
  // The 80 MB of arrays read as ~50 MB of heapUsed; the collection gives back 51 MB of it alone and ~34 MB
  // after the other runtime tests in one process (a 40 MB bound failed there), none without a collection.
  expect(process.memoryUsage().heapUsed).toBeLessThan(held - 25 * 1024 * 1024);
});
