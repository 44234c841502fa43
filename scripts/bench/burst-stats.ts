/**
 * The benchmark's burst figures: one burst's measurement, and the summary of several (each burst's figure
 * and their median, the row the verdict uses). Pure data: no process, no clock.
 */

/** One burst of K faults never sent before, measured until every one was stored (or received). */
export interface Burst {
  /** The simulator tag of its faults (their names are `bench-<tag>-<seq>`, so every burst's are new). */
  tag: string;
  injected: number;
  /** Events stored (faultline: committed rows) or received (baseline). */
  stored: number;
  complete: boolean;
  /** First send → last event stored (s). */
  seconds: number;
  events_per_s: number;
  /**
   * faultline only: first send → the last event's incident built (s). Equal to {@link seconds} when the
   * burst was recorded as incidents at once; later when it went to the intake journal first. Null for
   * the baseline, which builds nothing.
   */
  built_s: number | null;
  /** How long the simulator took to send it (s). */
  send_s: number;
  /**
   * CPU of the measured process (all threads) from just before the first send until all stored (s);
   * for faultline, until every incident was built too.
   */
  cpu_s: number;
  /** {@link cpu_s} per event stored, in µs. */
  cpu_us_per_event: number;
  /** CPU seconds by thread group in this burst. */
  threads: Record<string, number>;
  /** faultline only: incidents it opened in this burst (K when every fault was new); null for the baseline. */
  new_incidents: number | null;
}

/** A list of figures and their median. */
export interface MedianAndEach {
  median: number;
  each: number[];
}

/**
 * `values` in their order and their median (the mean of the two middle values for an even count; NaN for
 * none). NaN values sort last, so they count as the highest.
 *
 * @example
 * medianAndEach([14603, 16020, 15880]); // { median: 15880, each: [14603, 16020, 15880] }
 */
export function medianAndEach(values: readonly number[]): MedianAndEach {
  const each = [...values];
  if (each.length === 0) return { median: Number.NaN, each };
  const sorted = [...each].sort((a, b) => (Number.isNaN(a) ? 1 : Number.isNaN(b) ? -1 : a - b));
  const middle = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[middle] as number)
      : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return { median, each };
}

/**
 * Each figure with `digits` decimals, separated by " / " (the report's "each burst" lines).
 *
 * @example
 * formatEach([14603.2, 16020, 15880.4], 0); // "14603 / 16020 / 15880"
 */
export function formatEach(values: readonly number[], digits: number): string {
  return values.map((v) => (Number.isNaN(v) ? "—" : v.toFixed(digits))).join(" / ");
}

/**
 * Per thread group, the median of its CPU seconds over `readings` (a group missing from one reading counts
 * 0), largest first, groups whose median is 0 left out (as in threadCpuDelta).
 */
export function medianThreads(readings: ReadonlyArray<Record<string, number>>): Record<string, number> {
  const names = new Set(readings.flatMap((reading) => Object.keys(reading)));
  const entries = [...names]
    .map((name): [string, number] => [name, medianAndEach(readings.map((r) => r[name] ?? 0)).median])
    .filter(([, seconds]) => seconds > 0)
    .sort((a, b) => b[1] - a[1]);
  return Object.fromEntries(entries);
}

/** Several bursts summed up: the medians (what the report's rows and the verdict use) and every burst's figure. */
export interface BurstSummary {
  /** Bursts run. */
  bursts: number;
  /** Faults in each burst (K). */
  per_burst: number;
  /** Over all bursts: faults injected (B×K) and events stored. */
  injected: number;
  stored: number;
  /** Every burst stored all its faults. */
  complete: boolean;
  /** Median burst throughput (events/s), and each burst's. */
  events_per_s: number;
  events_per_s_each: number[];
  /** Median first send → last stored (s), and each burst's. */
  seconds: number;
  seconds_each: number[];
  /** Median CPU of a burst (s), and each burst's. */
  cpu_s: number;
  cpu_s_each: number[];
  /** Median CPU per event (µs), and each burst's. */
  cpu_us_per_event: number;
  cpu_us_per_event_each: number[];
  /** Each burst's send time (s). */
  send_s_each: number[];
  /** faultline only: each burst's first send → every incident built (s); null for the baseline. */
  built_s_each: number[] | null;
  /** faultline only: incidents opened over all bursts (B×K when every fault was new); null for the baseline. */
  new_incidents: number | null;
  /** How stored events were counted. */
  source: string;
}

/** The summary of `bursts` (at least one), whose events were counted as `source` says. */
export function summariseBursts(bursts: readonly Burst[], source: string): BurstSummary {
  const pick = (f: (b: Burst) => number): MedianAndEach => medianAndEach(bursts.map(f));
  const rate = pick((b) => b.events_per_s);
  const seconds = pick((b) => b.seconds);
  const cpu = pick((b) => b.cpu_s);
  const perEvent = pick((b) => b.cpu_us_per_event);
  const incidents = bursts.map((b) => b.new_incidents);
  return {
    bursts: bursts.length,
    per_burst: bursts[0]?.injected ?? 0,
    injected: bursts.reduce((sum, b) => sum + b.injected, 0),
    stored: bursts.reduce((sum, b) => sum + b.stored, 0),
    complete: bursts.length > 0 && bursts.every((b) => b.complete),
    events_per_s: rate.median,
    events_per_s_each: rate.each,
    seconds: seconds.median,
    seconds_each: seconds.each,
    cpu_s: cpu.median,
    cpu_s_each: cpu.each,
    cpu_us_per_event: perEvent.median,
    cpu_us_per_event_each: perEvent.each,
    send_s_each: bursts.map((b) => b.send_s),
    built_s_each: bursts.some((b) => b.built_s === null) ? null : bursts.map((b) => b.built_s ?? Number.NaN),
    new_incidents: incidents.some((n) => n === null)
      ? null
      : incidents.reduce<number>((sum, n) => sum + (n ?? 0), 0),
    source,
  };
}

/**
 * The report's lines for one system's bursts: each burst's throughput, CPU and CPU per event, and what
 * proves every fault was new (faultline: one new incident per fault).
 */
export function burstLines(system: string, summary: BurstSummary): string[] {
  // What the system itself adds to a burst: the simulator sends as fast as it can (its own pace moves
  // a burst's time most), and this is how long after its last send the last event was stored.
  const lag = medianAndEach(
    summary.seconds_each.map((seconds, i) => seconds - (summary.send_s_each[i] ?? Number.NaN)),
  );
  const lines = [
    `${system} burst throughput (events/s), each burst: ${formatEach(summary.events_per_s_each, 0)}; median ${summary.events_per_s.toFixed(0)}`,
    `${system} burst: simulator's send (s), each burst: ${formatEach(summary.send_s_each, 2)}; its last send → last stored (s): ${formatEach(lag.each, 3)}; median ${lag.median.toFixed(3)}`,
    `${system} CPU burst (s), each burst: ${formatEach(summary.cpu_s_each, 2)}; median ${summary.cpu_s.toFixed(2)}`,
    `${system} CPU per burst event (µs), each burst: ${formatEach(summary.cpu_us_per_event_each, 1)}; median ${summary.cpu_us_per_event.toFixed(1)}`,
  ];
  if (summary.built_s_each !== null)
    lines.push(
      `${system} burst: first send → last stored / every incident built (s), each burst: ${summary.seconds_each
        .map((stored, i) => `${stored.toFixed(2)} / ${(summary.built_s_each?.[i] ?? Number.NaN).toFixed(2)}`)
        .join(", ")}`,
    );
  if (summary.new_incidents !== null)
    lines.push(
      `${system} new incidents over the ${summary.bursts} burst(s): ${summary.new_incidents} for ${summary.injected} faults sent${summary.new_incidents === summary.injected ? " (every fault new)" : " (NOT one a fault: some joined an earlier incident)"}`,
    );
  return lines;
}
