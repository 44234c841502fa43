/**
 * The benchmark end to end (real simulator, faultline and baseline processes, small sizes): its burst
 * phase runs B bursts whose faults are all new (faultline opens one incident per fault; the baseline
 * receives every one), and the JSON carries every burst's figures and the medians.
 */
import { afterEach, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Burst, BurstSummary } from "../../scripts/bench/burst-stats.ts";
import { ROOT, scriptCommand } from "../../scripts/runtime.ts";
import { runToEnd } from "../helpers/process.ts";
import { tempDir } from "../helpers/tmp.ts";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

interface JsonResult {
  system: string;
  error: string | null;
  burst: BurstSummary | null;
  bursts: Burst[];
  cpu_burst_s: number | null;
  cpu_steady_alternating_s: number[];
  burst_alternating_eps: number[];
  burst_alternating_send_s: number[];
  notes: string[];
}

test("bench --bursts 2: two bursts of new faults per system, each burst's figures and the medians", async () => {
  const dir = tempDir("faultline-bench-run-");
  cleanups.push(dir.cleanup);
  const json = join(dir.path, "bench.json");
  const bench = await runToEnd(
    [
      ...scriptCommand("bun", join(ROOT, "scripts", "bench.ts")),
      ...["--sizes", "3", "--quick", "--bursts", "2", "--burst", "150"],
      ...["--rate", "100", "--seconds", "1", "--idle-seconds", "1", "--no-hold", "--store-events", "0"],
      ...["--alternate", "2"],
      ...["--json", json],
    ],
    ROOT,
  );
  expect(bench.stderr).not.toContain("failed");
  expect(bench.stderr).toContain("warming the simulator");
  expect(bench.code).toBe(0);
  const { results } = JSON.parse(readFileSync(json, "utf8")) as { results: JsonResult[] };
  const bySystem = new Map(results.map((r) => [r.system, r]));
  for (const system of ["faultline", "baseline"]) {
    const result = bySystem.get(system);
    expect(result?.error).toBeNull();
    const summary = result?.burst as BurstSummary;
    expect(summary.bursts).toBe(2);
    expect(summary.injected).toBe(300);
    expect(summary.stored).toBe(300);
    expect(summary.complete).toBe(true);
    expect(result?.bursts.map((b) => b.stored)).toEqual([150, 150]);
    // Each burst has its own tag, so its faults' names (and fault ids) are new.
    expect(new Set(result?.bursts.map((b) => b.tag)).size).toBe(2);
    expect(summary.events_per_s_each).toEqual(result?.bursts.map((b) => b.events_per_s) ?? []);
    const [first, second] = summary.events_per_s_each as [number, number];
    expect(summary.events_per_s).toBeCloseTo((first + second) / 2, 6);
    expect(result?.cpu_burst_s).toBe(summary.cpu_s);
    expect(summary.cpu_us_per_event_each).toHaveLength(2);
    expect(bench.stdout).toContain(`${system} burst throughput (events/s), each burst: `);
    expect(bench.stdout).toContain(`${system}: burst 300/300 (2 × 150, sent in `);
  }
  // faultline: every fault opened an incident of its own (a repeat would have joined an earlier one).
  expect(bySystem.get("faultline")?.bursts.map((b) => b.new_incidents)).toEqual([150, 150]);
  expect(bySystem.get("faultline")?.burst?.new_incidents).toBe(300);
  expect(bench.stdout).toContain(
    "faultline new incidents over the 2 burst(s): 300 for 300 faults sent (every fault new)",
  );
  expect(bySystem.get("baseline")?.burst?.new_incidents).toBeNull();
  expect(bench.stdout).toMatch(/burst throughput, median \(events stored\/s\) +\d+ +\d+ +\d+\.\d\d×/);
  expect(bench.stdout).toMatch(/durable throughput ≥ 1\.0× +(met|MISSED) +median of 2 burst\(s\): /);

  // Two rounds of alternating steady windows, both systems running, each on clusters of its own: each
  // system's CPU in each (100 faults in each, every one built by faultline and received by the baseline:
  // no note says otherwise).
  for (const system of ["faultline", "baseline"]) {
    const result = bySystem.get(system);
    expect(result?.cpu_steady_alternating_s).toHaveLength(2);
    for (const cpu of result?.cpu_steady_alternating_s ?? []) expect(cpu).toBeGreaterThan(0);
    expect(result?.notes.filter((note) => note.includes("alternating"))).toEqual([]);
  }
  expect(bench.stdout).toMatch(
    /CPU steady, alternating windows \(s\), faultline\/baseline in each round: \d+\.\d\d\/\d+\.\d\d \d+\.\d\d×, \d+\.\d\d\/\d+\.\d\d \d+\.\d\d×/,
  );
  expect(bench.stdout).toMatch(
    /CPU steady, alternating ≤ 1\.5× +(met|MISSED) +median of 2 round\(s\)' ratios \d+\.\d\d× \(each: /,
  );
  // Then two rounds of one burst each (150 faults, all stored by faultline, all received by the baseline:
  // a burst not complete would be 0 for faultline and noted), and their paired verdict.
  for (const system of ["faultline", "baseline"]) {
    const result = bySystem.get(system);
    expect(result?.burst_alternating_eps).toHaveLength(2);
    expect(result?.burst_alternating_send_s).toHaveLength(2);
    for (const rate of result?.burst_alternating_eps ?? []) expect(rate).toBeGreaterThan(0);
  }
  expect(bench.stdout).toMatch(
    /burst, alternating rounds \(events\/s\), faultline\/baseline in each round: \d+\/\d+ \d+\.\d\d×, \d+\/\d+ \d+\.\d\d×/,
  );
  expect(bench.stdout).toMatch(
    /the simulator's send \(s\), faultline\/baseline in each round: \d+\.\d\d\/\d+\.\d\d, \d+\.\d\d\/\d+\.\d\d\n/,
  );
  expect(bench.stdout).toMatch(
    /durable throughput, alternating ≥ 1\.0× +(met|MISSED) +median of 2 round\(s\)' ratios \d+\.\d\d× \(each: /,
  );
}, 120_000);
