/** The chaos harness's command line: its options, their defaults and the `--help` text. */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { randomSeed } from "./random.ts";

/** The `--help` text. */
export const USAGE = `Usage: bun scripts/chaos.ts [options]
       bun scripts/chaos.ts --replicas N [options]
       bun scripts/chaos.ts --analyze DIR [--self-check] [--json FILE]

Runs N simulated clusters on several simulator processes and faultline as its own process (with an agent
that records every run), for S seconds, while faults flow and it randomly (seeded) drops sessions, takes
servers down and up, SIGKILLs and restarts simulator processes, and SIGKILLs and restarts faultline. After a
settle period it reads the store and the agent's record and prints, by cluster: faults sent while subscribed,
stored, lost; agent runs per incident; time from a server's return to active. Exit 1 when a fault sent to a
live subscription was lost, a fault's agent ran again after a run had completed, or another check failed;
exit 2 when the harness itself could not run.

  --clusters N            simulated clusters (default 20)
  --sims K                simulator processes the clusters are spread over (default: one per 5 clusters, at
                          least 2), so that killing one takes down a subset
  --seconds S             how long the chaos lasts (default 60); a settle period follows
  --seed N                seed of every random choice (default: random; printed)
  --rate R                faults per second over all clusters (default 8); each has a unique resource name
  --agent-seconds T       how long the recording agent works on each incident (default 0.5)
  --no-faultline-kills    do not SIGKILL faultline (the other disruptions still run); with --replicas: do
                          not kill or restart replicas
  --no-sim-kills          do not SIGKILL simulator processes
  --no-outages            do not take servers down and up
  --no-session-drops      do not drop sessions
  --replicas N            replica mode: a throw-away PostgreSQL (Debian's server binaries) and N faultline
                          replicas on one config with store.postgres, each with its own state_dir, health
                          port and ha.replica; instead of faultline kills it SIGKILLs a replica (restarted
                          after the lease) or restarts one gracefully; the figures come from PostgreSQL and
                          add: time from a replica's death to its clusters active elsewhere, faults stored
                          twice, faults delivered to more than one subscription at once
  --lease-seconds S       ha.lease_seconds of the replicas (default 5; at least 3)
  --compiled              run the standalone binary (built into the run directory) instead of src/main.ts
  --dir DIR               write the run's files (config, store, ledgers, logs) to DIR and keep them
                          (default: a temporary directory, removed at the end unless the run failed)
  --analyze DIR           do not run: print the figures of the run kept in DIR
  --self-check            before counting, delete one stored fault (a copy of the store, in memory) and add
                          a second completed run of another fault's agent: the figures must show 1 lost and
                          1 double run, and the exit code 1 (proves the counting can fail)
  --json FILE             also write the figures as JSON to FILE
  --keep-failed DIR       when the verdict fails, copy the run's files (each replica's log, the agent's
                          record, the store, the workspaces' results) into a new directory under DIR and
                          print where (for callers whose run directory does not outlive them, e.g. a test)
  -h, --help              this text`;

/** What a chaos run does. */
export interface ChaosOptions {
  clusters: number;
  sims: number;
  seconds: number;
  seed: number;
  rate: number;
  agentSeconds: number;
  faultlineKills: boolean;
  simKills: boolean;
  outages: boolean;
  sessionDrops: boolean;
  compiled: boolean;
  /** Replica mode: how many faultline replicas share the clusters through PostgreSQL (null: one process, SQLite). */
  replicas: number | null;
  /** `ha.lease_seconds` of the replicas. */
  leaseSeconds: number;
  /** The run directory when kept (`--dir`), else null (a temporary one). */
  dir: string | null;
  /** Set by `--analyze`: only count the run kept there. */
  analyze: string | null;
  selfCheck: boolean;
  json: string | null;
  /** `--keep-failed`: where a failed run's files are copied (null: not copied). */
  keepFailed: string | null;
}

function positive(value: string | undefined, flag: string, fallback: number, integer = false): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
    throw new Error(`${flag} must be a positive ${integer ? "integer" : "number"}`);
  return n;
}

function leaseSeconds(value: string | undefined): number {
  const lease = positive(value, "--lease-seconds", 5, true);
  if (lease < 3) throw new Error("--lease-seconds must be at least 3 (ha.lease_seconds)");
  return lease;
}

/**
 * Parses the command line; null for `--help`. Throws with the flag's name on a bad value.
 *
 * @example
 * ```ts
 * const options = parseChaosOptions(["--seconds", "20", "--clusters", "12"]);
 * ```
 */
export function parseChaosOptions(argv: string[]): ChaosOptions | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      clusters: { type: "string" },
      sims: { type: "string" },
      seconds: { type: "string" },
      seed: { type: "string" },
      rate: { type: "string" },
      "agent-seconds": { type: "string" },
      "no-faultline-kills": { type: "boolean" },
      "no-sim-kills": { type: "boolean" },
      "no-outages": { type: "boolean" },
      "no-session-drops": { type: "boolean" },
      compiled: { type: "boolean" },
      replicas: { type: "string" },
      "lease-seconds": { type: "string" },
      dir: { type: "string" },
      analyze: { type: "string" },
      "self-check": { type: "boolean" },
      json: { type: "string" },
      "keep-failed": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) return null;
  const clusters = positive(values.clusters, "--clusters", 20, true);
  const sims = positive(values.sims, "--sims", Math.max(2, Math.ceil(clusters / 5)), true);
  if (sims > clusters) throw new Error("--sims must not exceed --clusters");
  let seed = randomSeed();
  if (values.seed !== undefined) {
    seed = Number(values.seed);
    if (!Number.isInteger(seed) || seed < 0) throw new Error("--seed must be a non-negative integer");
  }
  return {
    clusters,
    sims,
    seconds: positive(values.seconds, "--seconds", 60),
    seed,
    rate: positive(values.rate, "--rate", 8),
    agentSeconds: positive(values["agent-seconds"], "--agent-seconds", 0.5),
    faultlineKills: !values["no-faultline-kills"],
    simKills: !values["no-sim-kills"],
    outages: !values["no-outages"],
    sessionDrops: !values["no-session-drops"],
    compiled: values.compiled ?? false,
    replicas: values.replicas === undefined ? null : positive(values.replicas, "--replicas", 2, true),
    leaseSeconds: leaseSeconds(values["lease-seconds"]),
    dir: values.dir === undefined ? null : resolve(values.dir),
    analyze: values.analyze === undefined ? null : resolve(values.analyze),
    selfCheck: values["self-check"] ?? false,
    json: values.json === undefined ? null : resolve(values.json),
    keepFailed: values["keep-failed"] === undefined ? null : resolve(values["keep-failed"]),
  };
}

/** The disruptions a run performs, by name, as printed and written to the run's files. */
export function enabledDisruptions(options: ChaosOptions): string[] {
  const kinds: Array<[boolean, string]> = [
    [options.sessionDrops, "session drops"],
    [options.outages, "server outages"],
    [options.simKills, "simulator kills"],
    [options.faultlineKills && options.replicas === null, "faultline kills"],
    [options.faultlineKills && options.replicas !== null, "replica kills and graceful restarts"],
  ];
  return kinds.filter(([on]) => on).map(([, name]) => name);
}
