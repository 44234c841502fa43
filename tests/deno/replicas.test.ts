/**
 * Replicas under Deno: two faultline processes (`deno run -A src/main.ts run`) share six simulated clusters
 * through one real PostgreSQL store (`store.postgres`, `ha`): each cluster is subscribed exactly once across
 * them, `/health/clusters` from either shows the whole fleet with owners, every fault becomes one incident
 * with one agent run, and SIGTERM ends both with exit 0. Skipped where Deno or the PostgreSQL binaries are
 * missing (tests/helpers/deno.ts, tests/helpers/postgres.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { type Simulator, startSimulator } from "../../scripts/sim/index.ts";
import { rendezvousOwner } from "../../src/ha/rendezvous.ts";
import type { ClustersBody } from "../../src/http/app.ts";
import { denoFaultline } from "../helpers/deno.ts";
import { type PostgresServer, postgresAvailable, startPostgres } from "../helpers/postgres.ts";
import { type FaultlineProcess, runFaultline } from "../helpers/process.ts";
import { simConfig } from "../helpers/sim-config.ts";
import { tempDir, writeFile } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

const deno = denoFaultline();
const CLUSTERS = ["r1", "r2", "r3", "r4", "r5", "r6"];
const REPLICAS = ["deno-1", "deno-2"]; // the hashing gives each some of the six
/** Deno compiles faultline (and its worker module) at start: slower than Bun the first time. */
const START_MS = 90_000;

const dir = tempDir("faultline-deno-replicas-");
let sim: Simulator | undefined;
let pg: PostgresServer | undefined;

const runnable = deno.run && postgresAvailable("deno replicas");

beforeAll(async () => {
  if (!runnable) return;
  pg = await startPostgres();
  sim = await startSimulator({ clusters: CLUSTERS.map((name) => ({ name })) });
}, 120_000);
afterAll(async () => {
  await sim?.stop();
  await pg?.stop();
  dir.cleanup();
});

async function fleetView(url: string): Promise<ClustersBody> {
  return (await (await fetch(`${url}/health/clusters`)).json()) as ClustersBody;
}

describe.skipIf(!runnable)("replicas under Deno on PostgreSQL", () => {
  test("two replicas divide six clusters (each subscribed once), show one fleet, triage every fault once, and stop with 0", async () => {
    if (!sim || !pg) throw new Error("not started");
    const simulator = sim;
    const agent = writeFile(dir.path, "agent.sh", "#!/bin/sh\necho triaged > report.md\n", 0o755);
    const runs: FaultlineProcess[] = REPLICAS.map((replica) => {
      const { config } = simConfig(
        dir.path,
        simulator,
        replica,
        CLUSTERS,
        `agent: { command: ["${agent}"], max_concurrent: 2 }
store: { postgres: { url: "\${FAULTLINE_DATABASE_URL}", max_connections: 4 } }
ha: { replica: ${replica}, lease_seconds: 4 }
log_level: info
`,
      );
      return runFaultline(config, { FAULTLINE_DATABASE_URL: pg?.url }, "deno");
    });
    const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
    try {
      const urls = await Promise.all(runs.map((run) => run.healthUrl()));
      const expected = CLUSTERS.map((name) => [name, rendezvousOwner(name, REPLICAS)]);
      const divided = await waitFor(
        "each cluster active on the replica the hashing gives, subscribed once",
        async () => {
          const view = await fleetView(urls[0] ?? "");
          const owners = view.clusters.map((c) => [c.name, c.owner]);
          const active = view.clusters.every((c) => c.status === "active");
          if (JSON.stringify(owners) !== JSON.stringify(expected) || !active) return null;
          const once = CLUSTERS.every((name) => simulator.stats(name).subscriptions === 1);
          return once ? view : null;
        },
        START_MS,
      );
      expect(new Set(divided.clusters.map((c) => c.owner))).toEqual(new Set(REPLICAS)); // both hold some
      const other = await fleetView(urls[1] ?? "");
      expect(other.replica).toBe(REPLICAS[1]);
      expect(other.clusters.map((c) => [c.name, c.owner])).toEqual(
        divided.clusters.map((c) => [c.name, c.owner]),
      );

      for (const name of CLUSTERS) expect(simulator.inject(name, { name: `pod-${name}` })).toBe(1);
      const finished = await waitFor(
        "six incidents triaged",
        async () => {
          const rows = await sql<Array<{ cluster: string; status: string; runs: number }>>`
            SELECT i.cluster, i.status, (SELECT count(*) FROM runs r WHERE r.incident_seq = i.seq)::int AS runs
            FROM incidents i ORDER BY i.cluster`;
          return rows.length === CLUSTERS.length && rows.every((r) => r.status === "succeeded") ? rows : null;
        },
        60_000,
      );
      expect(finished.map((r) => [r.cluster, r.runs])).toEqual(CLUSTERS.map((name) => [name, 1]));
      const owners = await sql<
        Array<{ replica: string }>
      >`SELECT DISTINCT replica FROM runs ORDER BY replica`;
      expect(owners.length).toBeGreaterThan(0);
      for (const run of runs) expect(run.stderr()).not.toContain(pg.password);
    } finally {
      await sql.end({ timeout: 1 });
      const codes = await Promise.all(runs.map((run) => run.stop("SIGTERM")));
      expect(codes).toEqual([0, 0]);
    }
    expect(CLUSTERS.map((name) => simulator.stats(name).subscriptions)).toEqual(CLUSTERS.map(() => 0));
  }, 240_000);
});
