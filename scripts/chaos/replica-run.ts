/**
 * A chaos run in replica mode (`--replicas N`): a throw-away PostgreSQL, the simulator processes, and N
 * faultline replicas on one config with `store.postgres` (each its own state_dir, health port and
 * `ha.replica`, a short `ha.lease_seconds`), while faults flow and the engine's disruptions run, plus
 * replica pod kills and graceful restarts ({@link ReplicaChaos}). It leaves the same run files as a
 * single-process run, with the store as `store.json` (a snapshot of PostgreSQL taken before it stops).
 */
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { agentScript } from "./agent.ts";
import { ChaosEngine } from "./engine.ts";
import { CHAOS_RECONNECT, writeFaultlineConfig } from "./faultline.ts";
import { appendJsonLine, newRunMeta, RUN_FILES, writeMeta } from "./ledger.ts";
import { type ChaosOptions, enabledDisruptions } from "./options.ts";
import { startChaosDatabase } from "./postgres.ts";
import { progress, waitUntil } from "./progress.ts";
import { SeededRandom } from "./random.ts";
import { ReplicaChaos, ReplicaFleet } from "./replicas.ts";
import { ReturnTracker } from "./returns.ts";
import { startSimFleet } from "./sim-fleet.ts";

/** How long the replicas may take to bring every cluster active, each on one replica. */
const ALL_ACTIVE_TIMEOUT_MS = 60_000;
/** How long the settle period waits for the agent queue to drain. */
const QUEUE_DRAIN_TIMEOUT_MS = 60_000;
/** After everything is active again: time for backfills to land before the queue is watched. */
const BACKFILL_GRACE_MS = 2000;
/** How long the final graceful stop of each replica may take. */
const STOP_GRACE_MS = 30_000;

/**
 * Runs the replica chaos into `dir`, with `command` as faultline without its arguments.
 *
 * @example
 * ```ts
 * await runReplicaChaos(parseChaosOptions(["--replicas", "3"]) as ChaosOptions, dir, [bun, "src/main.ts"]);
 * ```
 */
export async function runReplicaChaos(options: ChaosOptions, dir: string, command: string[]): Promise<void> {
  const count = options.replicas ?? 2;
  const rng = new SeededRandom(options.seed);
  const machine = `${navigator.hardwareConcurrency} cores (${cpus()[0]?.model ?? "unknown CPU"}), bun ${Bun.version}`;
  const disruptions = enabledDisruptions(options);
  console.log(
    `chaos: seed ${options.seed}; ${options.clusters} clusters on ${options.sims} simulator processes; ` +
      `${count} replicas on PostgreSQL (lease ${options.leaseSeconds} s); ${options.seconds} s; ` +
      `${options.rate} faults/s; agent ${options.agentSeconds} s per incident; disruptions: ` +
      `${disruptions.join(", ") || "none"}`,
  );
  console.log(
    `machine: ${machine}; faultline ${options.compiled ? "compiled binary" : "from source"}; reconnect ` +
      `${CHAOS_RECONNECT.initial_seconds}-${CHAOS_RECONNECT.max_seconds} s`,
  );
  progress("starting PostgreSQL");
  const db = await startChaosDatabase();
  progress(`starting ${options.sims} simulator processes`);
  const sims = await startSimFleet(options.clusters, options.sims, join(dir, RUN_FILES.simEvents)).catch(
    async (error: unknown) => {
      await db.stop();
      throw error;
    },
  );
  const names = [...sims.byCluster.keys()].sort();
  const agent = join(dir, "agent.sh");
  writeFileSync(agent, agentScript(join(dir, RUN_FILES.agentRuns), options.agentSeconds), { mode: 0o755 });
  const clusters = names.map((name) => ({ name, endpoint: sims.byCluster.get(name)?.endpoint(name) ?? "" }));
  const replicaNames = Array.from({ length: count }, (_, i) => `r${i + 1}`);
  const configs = replicaNames.map((name) => {
    const stateDir = join(dir, `${RUN_FILES.state}-${name}`);
    const config = writeFaultlineConfig(dir, clusters, agent, {
      file: `faultline-${name}.yaml`,
      stateDir,
      extra: {
        store: { postgres: { url: db.url } },
        ha: { replica: name, lease_seconds: options.leaseSeconds },
      },
    });
    return { name, config, stateDir };
  });
  const meta = newRunMeta(options, names, (name) => sims.byCluster.get(name)?.index ?? -1, {
    disruptions,
    machine,
    replicas: { names: replicaNames, lease_seconds: options.leaseSeconds },
  });
  writeMeta(dir, meta);
  const returns = new ReturnTracker((entry) => appendJsonLine(join(dir, RUN_FILES.returns), entry));
  const fleet = new ReplicaFleet(command, configs, dir, (replica, cluster, status, at) => {
    if (status === "active") returns.active(cluster, at, replica);
  });
  const engine = new ChaosEngine({
    rng,
    sims: sims.processes,
    faultline: fleet,
    returns,
    rate: options.rate,
    sessionDrops: options.sessionDrops,
    outages: options.outages,
    simKills: options.simKills,
    faultlineKills: false,
    sentFile: join(dir, RUN_FILES.sent),
    actionsFile: join(dir, RUN_FILES.actions),
  });
  if (options.faultlineKills) {
    const chaos = new ReplicaChaos(fleet, engine, rng, returns, options.leaseSeconds);
    engine.addDisruption(3000, 8000, () => chaos.step());
  }
  const eachOnce = (): boolean => {
    const where = fleet.activeOn();
    return names.every((name) => where.get(name)?.length === 1);
  };
  try {
    progress(`starting ${count} replicas`);
    await engine.startFaultline();
    await waitUntil("every cluster active on one replica", ALL_ACTIVE_TIMEOUT_MS, eachOnce).catch(
      (error: unknown) => {
        const tails = fleet.runners.map((runner) => `${runner.name}:\n${runner.tail()}`).join("\n");
        throw new Error(`${error instanceof Error ? error.message : String(error)}\n${tails}`);
      },
    );
    progress(`chaos for ${options.seconds} s`);
    await engine.run(options.seconds);
    progress("settling: every replica up, waiting for each cluster active once and the agent queue to drain");
    await waitUntil(
      "every cluster active on one replica after the chaos",
      ALL_ACTIVE_TIMEOUT_MS,
      eachOnce,
    ).catch(() => {
      const where = fleet.activeOn();
      meta.inactive_at_end = names.filter((name) => !where.has(name));
      meta.active_twice_at_end = names.filter((name) => (where.get(name)?.length ?? 0) > 1);
    });
    await Bun.sleep(BACKFILL_GRACE_MS);
    await waitUntil(
      "the agent queue to drain",
      QUEUE_DRAIN_TIMEOUT_MS,
      async () => (await db.unfinished()) === 0,
    ).catch(async () => {
      meta.settle_note = `${await db.unfinished()} incidents still queued or running after the settle period`;
    });
  } finally {
    returns.finish();
    const codes = await fleet.stop(STOP_GRACE_MS);
    meta.final_exit_code = codes.every((code) => code === 0) ? 0 : (codes.find((code) => code !== 0) ?? null);
    meta.unexpected_exits = [...fleet.unexpectedExits, ...fleet.failedStops];
    meta.harness_errors.push(...engine.errors);
    try {
      await db.snapshot(dir);
    } catch (error) {
      meta.harness_errors.push(`cannot read the PostgreSQL store: ${String(error)}`);
    }
    await db.stop();
    await Promise.all(sims.processes.map((sim) => sim.stop()));
    writeMeta(dir, meta);
  }
}
