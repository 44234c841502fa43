/** The benchmark's command line: its flags, their defaults and checks (scripts/bench.ts runs them). */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { isRuntimeName, ROOT, RUNTIMES, type RuntimeName } from "../runtime.ts";
import type { SystemName } from "./results.ts";

/** The `--help` text. */
export const USAGE = `Usage: bun scripts/bench.ts [options]   (or: deno run -A scripts/bench.ts …)

  --sizes 10,100,1000   cluster counts to run (default 10,100,1000)
  --quick               shorter phases: one burst of 5000, steady 2 s, settle 1 s
  --burst K             faults in each burst (default 20000)
  --bursts B            bursts per system and size (default 3; --quick 1), each of K faults never sent
                        before, each all stored (received) before the next starts; the verdict uses the
                        median burst, and every burst's figure is printed
  --rate R              steady rate, faults per second (default 1000)
  --seconds S           steady phase length (default 5)
  --alternate R         after each N's full runs, R rounds of one burst each, then R rounds of steady
                        windows, alternated between the two systems, both running (each on N clusters
                        of its own, warmed with the bursts), one each per round seconds apart, so a
                        spell of the machine falls on both (default 5; --quick 1; 0 skips them; the
                        simulator then runs 2 × the largest N)
  --only SYSTEM         run only faultline or only baseline (no ratios, no alternating rounds)
  --runtime bun|deno    run faultline and the baseline under Bun (default) or Deno (\`deno run -A\`); the
                        simulator always runs under Bun, so the load is the same
  --idle-seconds S      idle phase length: every cluster subscribed, pings only (default 30; --quick 10)
  --no-hold             skip the start-up runs against servers holding their stream headers
  --store-events K      events in the store-only run (default 100000; --quick 20000; 0 skips it)
  --workers-max K       faultline's workers.max (default: faultline's own default)
  --no-reexec           start faultline with BUN_CONFIG_MAX_HTTP_REQUESTS already set (no self re-exec)
  --cpu-prof DIR        run faultline under bun --cpu-prof, profiles in DIR (implies --no-reexec)
  --cpu-prof-interval US  the profile's sampling interval in µs (default Bun's, 1000)
  --compiled            benchmark the standalone binary (scripts/build.ts, built into a temporary directory)
                        instead of \`bun src/main.ts\`
  --faultline-main FILE run faultline from FILE instead of src/main.ts (e.g. a patched copy of the tree);
                        with --compiled, the binary is built from FILE's tree (FILE being <tree>/src/main.ts)
  --pin                 pin the simulator to CPU 0 and the measured process to CPU 1 (taskset), so the
                        simulator does not compete for the measured process's core
  --json FILE           also write the results as JSON to FILE
  --log-dir DIR         run faultline at log_level info and append its output to DIR/faultline-N-full.log
                        and DIR/faultline-N-startup.log (the start-up run against servers holding headers)
  --keep                keep the temporary directory (configs, databases)
  -h, --help            this text`;

/** Benchmark settings. */
export interface BenchOptions {
  sizes: number[];
  /** Faults in each burst (K). */
  burst: number;
  /** Bursts per system and size (B). */
  bursts: number;
  rate: number;
  seconds: number;
  /** Rounds of alternating steady windows (0: none). */
  alternate: number;
  settleMs: number;
  systems: SystemName[];
  workersMax: number | null;
  noReexec: boolean;
  cpuProf: string | null;
  /** --cpu-prof-interval: µs between samples, or null for Bun's default. */
  cpuProfIntervalUs: number | null;
  /** Set by --compiled: the faultline binary built into the temporary directory. */
  binary: string | null;
  compiled: boolean;
  /** faultline's CLI entry when run from source (another checkout can be compared). */
  faultlineMain: string;
  pin: boolean;
  /** The runtime faultline and the baseline run under. */
  runtime: RuntimeName;
  /** Idle phase length (s). */
  idleSeconds: number;
  /** Also measure start-up against servers that hold their event streams' headers. */
  hold: boolean;
  /** Events in the store-only run (0: skipped). */
  storeEvents: number;
  json: string | null;
  /** Set by --log-dir: faultline logs at info into files there (see USAGE). */
  logDir: string | null;
  keep: boolean;
}

/** The settings `argv` asks for; null for `--help`. Throws on invalid flags. */
export function parseOptions(argv: string[]): BenchOptions | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: "string" },
      quick: { type: "boolean" },
      burst: { type: "string" },
      bursts: { type: "string" },
      rate: { type: "string" },
      seconds: { type: "string" },
      alternate: { type: "string" },
      only: { type: "string" },
      runtime: { type: "string" },
      "idle-seconds": { type: "string" },
      "no-hold": { type: "boolean" },
      "store-events": { type: "string" },
      "workers-max": { type: "string" },
      "no-reexec": { type: "boolean" },
      "cpu-prof": { type: "string" },
      "cpu-prof-interval": { type: "string" },
      compiled: { type: "boolean" },
      pin: { type: "boolean" },
      "faultline-main": { type: "string" },
      json: { type: "string" },
      "log-dir": { type: "string" },
      keep: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) return null;
  const positive = (value: string | undefined, flag: string, fallback: number): number => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} must be a positive number`);
    return n;
  };
  const positiveInteger = (value: string | undefined, flag: string, fallback: number): number => {
    const n = positive(value, flag, fallback);
    if (!Number.isInteger(n)) throw new Error(`${flag} must be a positive integer`);
    return n;
  };
  const sizes = (values.sizes ?? "10,100,1000").split(",").map((s) => Number(s.trim()));
  if (sizes.some((n) => !Number.isInteger(n) || n < 1))
    throw new Error("--sizes must list positive integers");
  const quick = values.quick ?? false;
  const only = values.only;
  if (only !== undefined && only !== "faultline" && only !== "baseline")
    throw new Error("--only must be faultline or baseline");
  if (values["cpu-prof-interval"] !== undefined && values["cpu-prof"] === undefined)
    throw new Error("--cpu-prof-interval needs --cpu-prof");
  if (values.compiled && values["cpu-prof"] !== undefined)
    throw new Error("--cpu-prof profiles faultline run from source; it cannot be combined with --compiled");
  const runtime = values.runtime ?? "bun";
  if (!isRuntimeName(runtime)) throw new Error(`--runtime must be ${RUNTIMES.join(" or ")}`);
  if (runtime === "deno" && (values.compiled || values["cpu-prof"] !== undefined))
    throw new Error(
      "--compiled and --cpu-prof are Bun's (bun build --compile, bun --cpu-prof): not with --runtime deno",
    );
  return {
    sizes,
    burst: Math.round(positive(values.burst, "--burst", quick ? 5000 : 20_000)),
    bursts: positiveInteger(values.bursts, "--bursts", quick ? 1 : 3),
    rate: positive(values.rate, "--rate", 1000),
    seconds: positive(values.seconds, "--seconds", quick ? 2 : 5),
    alternate: values.alternate === "0" ? 0 : positiveInteger(values.alternate, "--alternate", quick ? 1 : 5),
    settleMs: quick ? 1000 : 2000,
    systems: only ? [only] : ["faultline", "baseline"],
    workersMax:
      values["workers-max"] === undefined
        ? null
        : Math.round(positive(values["workers-max"], "--workers-max", 16)),
    noReexec: (values["no-reexec"] ?? false) || values["cpu-prof"] !== undefined,
    cpuProf: values["cpu-prof"] ? resolve(values["cpu-prof"]) : null,
    cpuProfIntervalUs:
      values["cpu-prof-interval"] === undefined
        ? null
        : positiveInteger(values["cpu-prof-interval"], "--cpu-prof-interval", 1000),
    binary: null,
    pin: values.pin ?? false,
    runtime,
    idleSeconds: positive(values["idle-seconds"], "--idle-seconds", quick ? 10 : 30),
    hold: !(values["no-hold"] ?? false),
    storeEvents:
      values["store-events"] === "0"
        ? 0
        : Math.round(positive(values["store-events"], "--store-events", quick ? 20_000 : 100_000)),
    faultlineMain: resolve(values["faultline-main"] ?? join(ROOT, "src/main.ts")),
    compiled: values.compiled ?? false,
    json: values.json ?? null,
    logDir: values["log-dir"] ? resolve(values["log-dir"]) : null,
    keep: values.keep ?? false,
  };
}
