/**
 * Chaos harness: N simulated clusters on several simulator processes, faultline as its own process with an
 * agent that records every run, faults flowing all the time, while seeded random disruptions drop sessions,
 * take servers down and up, SIGKILL and restart simulator processes, and SIGKILL and restart faultline.
 * After a settle period it counts, by cluster, what was sent to live subscriptions against what the store
 * holds, agent runs per incident, and time from a server's return to active.
 *
 *   bun scripts/chaos.ts --seconds 90 --clusters 20 --seed 7
 *   bun scripts/chaos.ts --seconds 20 --clusters 12 --no-faultline-kills --dir /tmp/run --json figures.json
 *   bun scripts/chaos.ts --analyze /tmp/run --self-check     # must report 1 lost, 1 double run, exit 1
 *
 * Modules (scripts/chaos/): options, random (seeded), sim-fleet (simulator processes), faultline (its config
 * and process), agent (the recording agent), engine (faults and disruptions), returns (return → active),
 * ledger (the run's files), load + analyze (counting), report (printing).
 */

import { Database } from "bun:sqlite";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DB_FILE } from "../src/incidents/open.ts";
import { runScriptMain } from "./bench/proc.ts";
import { agentScript } from "./chaos/agent.ts";
import { analyzeRun, type ChaosReport } from "./chaos/analyze.ts";
import { ChaosEngine } from "./chaos/engine.ts";
import { CHAOS_RECONNECT, FaultlineRunner, writeFaultlineConfig } from "./chaos/faultline.ts";
import { keepRunFiles } from "./chaos/keep.ts";
import { appendJsonLine, newRunMeta, RUN_FILES, writeMeta } from "./chaos/ledger.ts";
import { loadRun } from "./chaos/load.ts";
import { type ChaosOptions, enabledDisruptions, parseChaosOptions, USAGE } from "./chaos/options.ts";
import { progress, waitUntil } from "./chaos/progress.ts";
import { SeededRandom } from "./chaos/random.ts";
import { runReplicaChaos } from "./chaos/replica-run.ts";
import { formatReport } from "./chaos/report.ts";
import { ReturnTracker } from "./chaos/returns.ts";
import { startSimFleet } from "./chaos/sim-fleet.ts";

const ROOT = resolve(import.meta.dir, "..");

/** How long faultline may take to bring every cluster active (start-up, settle). */
const ALL_ACTIVE_TIMEOUT_MS = 30_000;
/** How long the settle period waits for the agent queue to drain. */
const QUEUE_DRAIN_TIMEOUT_MS = 60_000;
/** After everything is active again: time for outage backfills to land before the queue is watched. */
const BACKFILL_GRACE_MS = 2000;

/** Incidents still queued or running in the store (read-only, beside the running faultline). */
function unfinishedIncidents(stateDir: string): number {
  const db = new Database(join(stateDir, DB_FILE), { readonly: true });
  try {
    const row = db
      .query<{ n: number }, []>("SELECT count(*) AS n FROM incidents WHERE status IN ('queued', 'running')")
      .get();
    return row?.n ?? 0;
  } finally {
    db.close();
  }
}

/** The faultline command: from source, or the standalone binary built into the run directory. */
function faultlineCommand(options: ChaosOptions, dir: string): string[] {
  if (!options.compiled) return FaultlineRunner.fromSource();
  const binary = join(dir, "bin", "faultline");
  progress(`building ${binary}`);
  const build = Bun.spawnSync([process.execPath, join(ROOT, "scripts/build.ts"), "--outfile", binary], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
  });
  if (build.exitCode !== 0) throw new Error(`build failed: ${build.stderr.toString()}`);
  return [binary];
}

/** Runs the chaos into `dir`; leaves the run's files there for {@link loadRun}. */
async function runChaos(options: ChaosOptions, dir: string): Promise<void> {
  const rng = new SeededRandom(options.seed);
  const machine = `${navigator.hardwareConcurrency} cores (${cpus()[0]?.model ?? "unknown CPU"}), bun ${Bun.version}`;
  const disruptions = enabledDisruptions(options);
  console.log(
    `chaos: seed ${options.seed}; ${options.clusters} clusters on ${options.sims} simulator processes; ` +
      `${options.seconds} s; ${options.rate} faults/s; agent ${options.agentSeconds} s per incident; ` +
      `disruptions: ${disruptions.join(", ") || "none"}`,
  );
  console.log(
    `machine: ${machine}; faultline ${options.compiled ? "compiled binary" : "from source"}; reconnect ` +
      `${CHAOS_RECONNECT.initial_seconds}-${CHAOS_RECONNECT.max_seconds} s`,
  );
  progress(`starting ${options.sims} simulator processes`);
  const fleet = await startSimFleet(options.clusters, options.sims, join(dir, RUN_FILES.simEvents));
  const names = [...fleet.byCluster.keys()].sort();
  const agent = join(dir, "agent.sh");
  writeFileSync(agent, agentScript(join(dir, RUN_FILES.agentRuns), options.agentSeconds), { mode: 0o755 });
  const config = writeFaultlineConfig(
    dir,
    names.map((name) => ({ name, endpoint: fleet.byCluster.get(name)?.endpoint(name) ?? "" })),
    agent,
  );
  const meta = newRunMeta(options, names, (name) => fleet.byCluster.get(name)?.index ?? -1, {
    disruptions,
    machine,
  });
  writeMeta(dir, meta);
  const returns = new ReturnTracker((entry) => appendJsonLine(join(dir, RUN_FILES.returns), entry));
  const faultline = new FaultlineRunner(
    faultlineCommand(options, dir),
    config,
    dir,
    (cluster, status, at) => {
      if (status === "active") returns.active(cluster, at);
    },
  );
  const engine = new ChaosEngine({
    rng,
    sims: fleet.processes,
    faultline,
    returns,
    rate: options.rate,
    sessionDrops: options.sessionDrops,
    outages: options.outages,
    simKills: options.simKills,
    faultlineKills: options.faultlineKills,
    sentFile: join(dir, RUN_FILES.sent),
    actionsFile: join(dir, RUN_FILES.actions),
  });
  const allActive = (): boolean => faultline.activeClusters().length === names.length;
  try {
    progress("starting faultline");
    await engine.startFaultline();
    await waitUntil("every cluster active", ALL_ACTIVE_TIMEOUT_MS, allActive).catch((error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n${faultline.tail()}`);
    });
    progress(`chaos for ${options.seconds} s`);
    await engine.run(options.seconds);
    progress("settling: everything up, waiting for every cluster to be active and the agent queue to drain");
    await waitUntil("every cluster active after the chaos", ALL_ACTIVE_TIMEOUT_MS, allActive).catch(() => {
      const active = new Set(faultline.activeClusters());
      meta.inactive_at_end = names.filter((name) => !active.has(name));
    });
    await Bun.sleep(BACKFILL_GRACE_MS);
    const stateDir = join(dir, RUN_FILES.state);
    await waitUntil(
      "the agent queue to drain",
      QUEUE_DRAIN_TIMEOUT_MS,
      () => unfinishedIncidents(stateDir) === 0,
    ).catch(() => {
      meta.settle_note = `${unfinishedIncidents(stateDir)} incidents still queued or running after the settle period`;
    });
  } finally {
    returns.finish();
    meta.final_exit_code = await faultline.stop(30_000);
    meta.unexpected_exits = [...faultline.unexpectedExits];
    meta.harness_errors.push(...engine.errors);
    await Promise.all(fleet.processes.map((sim) => sim.stop()));
    writeMeta(dir, meta);
  }
}

async function main(argv: string[]): Promise<number> {
  const options = parseChaosOptions(argv);
  if (!options) {
    console.log(USAGE);
    return 0;
  }
  let dir = options.analyze;
  const temporary = dir === null && options.dir === null;
  if (dir === null) {
    dir = options.dir ?? mkdtempSync(join(tmpdir(), "faultline-chaos-"));
    mkdirSync(dir, { recursive: true });
    if (options.replicas === null) await runChaos(options, dir);
    else await runReplicaChaos(options, dir, faultlineCommand(options, dir));
  }
  const report: ChaosReport = analyzeRun(loadRun(dir, options.selfCheck));
  console.log(`\n${formatReport(report)}`);
  if (options.json) {
    writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`figures written to ${options.json}`);
  }
  if (
    options.keepFailed &&
    options.analyze === null &&
    (!report.verdict.ok || report.harness_errors.length > 0)
  ) {
    const kept = keepRunFiles(dir, options.keepFailed);
    console.log(`failed run kept in ${kept.dir}; faultline logs:\n  ${kept.logs.join("\n  ")}`);
  }
  if (temporary && (report.verdict.ok || options.selfCheck)) rmSync(dir, { recursive: true, force: true });
  else if (options.analyze === null) console.log(`run files kept in ${dir}`);
  if (report.harness_errors.length > 0) return 2;
  return report.verdict.ok ? 0 : 1;
}

if (import.meta.main) runScriptMain("chaos", main);
