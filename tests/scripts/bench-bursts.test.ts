/**
 * The benchmark's burst figures (scripts/bench/burst-stats.ts), its `--bursts` option and the report's
 * burst rows and verdict. Pure data: no process, no server.
 */
import { describe, expect, test } from "bun:test";
import {
  type Burst,
  burstLines,
  formatEach,
  medianAndEach,
  medianThreads,
  summariseBursts,
} from "../../scripts/bench/burst-stats.ts";
import { parseOptions } from "../../scripts/bench/options.ts";
import { storeVerdict, table, verdicts } from "../../scripts/bench/report.ts";
import { emptyResult, type RunResult } from "../../scripts/bench/results.ts";

function burst(tag: string, eventsPerS: number, cpuS: number, extra: Partial<Burst> = {}): Burst {
  const injected = 1000;
  return {
    tag,
    injected,
    stored: injected,
    complete: true,
    seconds: injected / eventsPerS,
    events_per_s: eventsPerS,
    built_s: injected / eventsPerS,
    send_s: 0.5,
    cpu_s: cpuS,
    cpu_us_per_event: (cpuS / injected) * 1e6,
    threads: { main: cpuS * 0.8, JITWorker: cpuS * 0.2 },
    new_incidents: injected,
    ...extra,
  };
}

describe("medianAndEach", () => {
  test("an odd count: the middle value; each value kept in its order", () => {
    expect(medianAndEach([14603, 16020, 15880])).toEqual({ median: 15880, each: [14603, 16020, 15880] });
    expect(medianAndEach([3, 1, 2, 5, 4])).toEqual({ median: 3, each: [3, 1, 2, 5, 4] });
  });

  test("an even count: the mean of the two middle values", () => {
    expect(medianAndEach([10, 40, 20, 30]).median).toBe(25);
    expect(medianAndEach([7, 9]).median).toBe(8);
  });

  test("one value is its own median; none gives NaN", () => {
    expect(medianAndEach([42])).toEqual({ median: 42, each: [42] });
    expect(medianAndEach([]).median).toBeNaN();
  });

  test("one outlier does not move the median (the mean would)", () => {
    const { median } = medianAndEach([15000, 2000, 16000]);
    expect(median).toBe(15000);
  });

  test("NaN counts as the highest value", () => {
    expect(medianAndEach([Number.NaN, 1, 2]).median).toBe(2);
  });

  test("the input is not reordered", () => {
    const values = [3, 1, 2];
    medianAndEach(values);
    expect(values).toEqual([3, 1, 2]);
  });
});

test("formatEach joins the figures with ' / ' and shows NaN as a dash", () => {
  expect(formatEach([14603.2, 16020, 15880.4], 0)).toBe("14603 / 16020 / 15880");
  expect(formatEach([1.234, Number.NaN], 2)).toBe("1.23 / —");
});

test("medianThreads: per group, a group missing from a burst counts 0; zero medians left out, largest first", () => {
  const median = medianThreads([
    { main: 1, JITWorker: 0.3, JSCWarmUp: 0.01 },
    { main: 3 },
    { main: 2, JITWorker: 0.1 },
  ]);
  expect(median).toEqual({ main: 2, JITWorker: 0.1 });
  expect(Object.keys(median)).toEqual(["main", "JITWorker"]);
});

describe("summariseBursts", () => {
  test("medians, each burst's figures, totals and the incident count", () => {
    const summary = summariseBursts(
      [burst("f100burst1", 9000, 1.5), burst("f100burst2", 16000, 1.0), burst("f100burst3", 15000, 1.1)],
      "rows",
    );
    expect(summary.bursts).toBe(3);
    expect(summary.per_burst).toBe(1000);
    expect(summary.injected).toBe(3000);
    expect(summary.stored).toBe(3000);
    expect(summary.complete).toBe(true);
    expect(summary.events_per_s).toBe(15000);
    expect(summary.events_per_s_each).toEqual([9000, 16000, 15000]);
    expect(summary.cpu_s).toBe(1.1);
    expect(summary.cpu_s_each).toEqual([1.5, 1.0, 1.1]);
    expect(summary.cpu_us_per_event).toBeCloseTo(1100, 6);
    expect(summary.new_incidents).toBe(3000);
    expect(summary.source).toBe("rows");
  });

  test("one incomplete burst makes the whole incomplete", () => {
    const summary = summariseBursts(
      [burst("a", 1, 1), burst("b", 1, 1, { complete: false, stored: 900 }), burst("c", 1, 1)],
      "rows",
    );
    expect(summary.complete).toBe(false);
    expect(summary.stored).toBe(2900);
  });

  test("the baseline has no incidents: null, not 0", () => {
    expect(
      summariseBursts([burst("b1", 1, 1, { new_incidents: null })], "received").new_incidents,
    ).toBeNull();
  });
});

describe("burstLines", () => {
  test("each burst's throughput, CPU and CPU per event, with the median", () => {
    const lines = burstLines(
      "faultline",
      summariseBursts(
        [burst("1", 14603, 1), burst("2", 16020, 1.2, { built_s: 0.5 }), burst("3", 15880, 0.9)],
        "rows",
      ),
    );
    expect(lines[0]).toBe(
      "faultline burst throughput (events/s), each burst: 14603 / 16020 / 15880; median 15880",
    );
    // The fixture's bursts took 1000/rate s each, the simulator 0.5 s to send.
    expect(lines[1]).toBe(
      "faultline burst: simulator's send (s), each burst: 0.50 / 0.50 / 0.50; its last send → last stored (s): -0.432 / -0.438 / -0.437; median -0.437",
    );
    expect(lines[2]).toBe("faultline CPU burst (s), each burst: 1.00 / 1.20 / 0.90; median 1.00");
    expect(lines[3]).toContain("each burst: 1000.0 / 1200.0 / 900.0; median 1000.0");
    expect(lines[4]).toBe(
      "faultline burst: first send → last stored / every incident built (s), each burst: 0.07 / 0.07, 0.06 / 0.50, 0.06 / 0.06",
    );
    expect(lines[5]).toBe(
      "faultline new incidents over the 3 burst(s): 3000 for 3000 faults sent (every fault new)",
    );
  });

  test("the baseline builds nothing: no built line, no incidents line", () => {
    const lines = burstLines(
      "baseline",
      summariseBursts([burst("1", 1000, 1, { built_s: null, new_incidents: null })], "received"),
    );
    expect(lines).toHaveLength(4);
  });

  test("fewer incidents than faults says that some joined an earlier incident", () => {
    const lines = burstLines("faultline", summariseBursts([burst("1", 1, 1, { new_incidents: 10 })], "rows"));
    expect(lines[5]).toContain("10 for 1000 faults sent (NOT one a fault");
  });
});

describe("--bursts", () => {
  test("defaults to 3, --quick to 1; --bursts sets it", () => {
    expect(parseOptions([])?.bursts).toBe(3);
    expect(parseOptions(["--quick"])?.bursts).toBe(1);
    expect(parseOptions(["--bursts", "5"])?.bursts).toBe(5);
    expect(parseOptions(["--quick", "--bursts", "2"])?.bursts).toBe(2);
  });

  test("refuses zero and fractions", () => {
    expect(() => parseOptions(["--bursts", "0"])).toThrow("--bursts must be a positive number");
    expect(() => parseOptions(["--bursts", "2.5"])).toThrow("--bursts must be a positive integer");
  });
});

describe("the report", () => {
  function measured(system: "faultline" | "baseline", rates: number[], cpu: number[]): RunResult {
    const result = emptyResult(system, 100);
    result.bursts = rates.map((rate, i) =>
      burst(`${system}${i}`, rate, cpu[i] as number, system === "baseline" ? { new_incidents: null } : {}),
    );
    result.burst = summariseBursts(result.bursts, "test");
    result.cpu_burst_s = result.burst.cpu_s;
    return result;
  }

  test("the verdict compares the median bursts, not the first", () => {
    // First bursts alone: 9000 < 14000 (missed); medians: 16000 ≥ 15000 (met).
    const f = measured("faultline", [9000, 16000, 17000], [1.4, 1, 1]);
    const b = measured("baseline", [14000, 15000, 15500], [0.9, 0.8, 0.8]);
    const durable = verdicts([f, b]).find((v) => v.target === "durable throughput ≥ 1.0×");
    expect(durable?.met).toBe(true);
    expect(durable?.detail).toBe(
      "median of 3 burst(s): faultline 16000 events/s, baseline 15000 events/s, ratio 1.07×",
    );
  });

  test("an incomplete faultline burst fails the verdict whatever the median", () => {
    const f = measured("faultline", [20000, 20000, 20000], [1, 1, 1]);
    (f.bursts[1] as Burst).complete = false;
    f.burst = summariseBursts(f.bursts, "test");
    const b = measured("baseline", [15000, 15000, 15000], [1, 1, 1]);
    expect(verdicts([f, b]).find((v) => v.target === "durable throughput ≥ 1.0×")?.met).toBe(false);
  });

  test("the table has the median row, the first burst's row and every burst's figure", () => {
    const f = measured("faultline", [9000, 16000, 17000], [1.4, 1, 1.1]);
    const b = measured("baseline", [14000, 15000, 15500], [0.9, 0.8, 0.7]);
    const text = table(100, [f, b]);
    expect(text).toMatch(/burst throughput, median \(events stored\/s\) +16000 +15000 +1\.07×/);
    expect(text).toMatch(/first burst, cold \(events stored\/s\) +9000 +14000 +0\.64×/);
    expect(text).toMatch(/CPU burst, median \(s\) +1\.10 +0\.80 +1\.38×/);
    expect(text).toMatch(/CPU burst, first burst \(s\) +1\.40 +0\.90/);
    expect(text).toContain(
      "faultline burst throughput (events/s), each burst: 9000 / 16000 / 17000; median 16000",
    );
    expect(text).toContain(
      "baseline burst throughput (events/s), each burst: 14000 / 15000 / 15500; median 15000",
    );
    expect(text).toContain("faultline: burst 3000/3000 (3 × 1000, sent in 0.50 / 0.50 / 0.50 s)");
  });
});

describe("storeVerdict", () => {
  const result = (durablePerS: number) => ({
    events: 100_000,
    clusters: 1000,
    batch: 4096,
    repeat_share: 0,
    seconds: 2.5,
    events_per_s: 40_000,
    cpu_seconds: 2.4,
    events_per_cpu_s: 41_667,
    journal: {
      durable_per_s: durablePerS,
      durable_per_cpu_s: 200_000,
      built_per_cpu_s: 42_000,
      total_per_cpu_s: 35_000,
    },
  });

  test("the durable rate is the journal's appends; the building's and ingest's rates are in the detail", () => {
    const met = storeVerdict(result(180_000));
    expect(met.met).toBe(true);
    expect(met.detail).toContain("journal: 180000 events/s durable wall (1.80× the target)");
    expect(met.detail).toContain(
      "built after (a sustained flood's rate) at 42000 per CPU second (both 35000)",
    );
    expect(met.detail).toContain("ingest in one step 40000 events/s wall, 41667 per CPU second");
    expect(storeVerdict(result(99_999)).met).toBe(false);
    expect(storeVerdict(null).met).toBeNull();
  });
});
