/**
 * Replicas on PostgreSQL, end to end (issue 15): real faultline processes, the simulator, a real
 * PostgreSQL (tests/helpers/postgres.ts), a real webhook receiver.
 *
 * - "fleet division": 3 replicas × 30 simulated clusters, each cluster subscribed on exactly one
 *   replica (the simulator counts subscriptions), the same owners in `/health/clusters` from every
 *   replica; one SIGKILLed → its clusters active elsewhere within the lease plus a backoff, its
 *   sessions ended by the takers (one subscription each again); a 4th joins → only its share moves.
 * - "shared store": faults flowing while the replica that owns the webhook sink and runs agents is
 *   SIGKILLed are stored once each; its open runs are settled as interrupted by exactly one survivor
 *   and run again elsewhere (no incident has two runs unless one was interrupted); each notification is
 *   delivered once by idempotency key; a 4th replica joins, and a fault seen before and after its
 *   cluster moved joins one incident.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import postgres from "postgres";
import { type Simulator, startSimulator } from "../../scripts/sim/index.ts";
import { keysOwnedBy } from "../../src/ha/rendezvous.ts";
import { type PostgresServer, postgresAvailable, startPostgres } from "../helpers/postgres.ts";
import { type FaultlineProcess, runFaultline } from "../helpers/process.ts";
import { startReceiver } from "../helpers/receiver.ts";
import { simConfig, timelineAgent } from "../helpers/sim-config.ts";
import { tempDir } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

const LEASE_SECONDS = 3;
const CLUSTERS = Array.from({ length: 30 }, (_, i) => `c${String(i).padStart(2, "0")}`);
const available = postgresAvailable("tests/e2e/ha.test.ts");
/** The takeover bound: the lease, the others' next tick (1 s), a connect backoff, and margin for this loaded machine. */
const TAKEOVER_MS = (LEASE_SECONDS + 1 + 0.5) * 1000 + 1500;

/** A cluster in `/health/clusters` with replicas. */
interface FleetCluster {
  name: string;
  status: string;
  owner: string | null;
}

describe.skipIf(!available)("replicas on PostgreSQL", () => {
  const dir = tempDir();
  let pg: PostgresServer;
  let sim: Simulator;
  const replicas = new Map<string, FaultlineProcess>();

  beforeAll(async () => {
    pg = await startPostgres({ settings: { max_connections: "200" } });
    sim = await startSimulator({ clusters: CLUSTERS });
  }, 60_000);
  /** SIGKILLs the replicas still running (a test that failed midway), so the next test starts alone. */
  async function killLeftReplicas(): Promise<void> {
    for (const proc of replicas.values()) {
      proc.proc.kill("SIGKILL");
      await proc.proc.exited;
    }
    replicas.clear();
  }
  afterEach(killLeftReplicas);
  afterAll(async () => {
    await killLeftReplicas();
    await sim?.stop();
    await pg?.stop();
    dir.cleanup();
  });

  function start(
    name: string,
    database: string,
    body = `agent: { command: ["/bin/true"], max_concurrent: 2 }\n`,
  ): FaultlineProcess {
    const url = pg.url.replace(/\/postgres$/, `/${database}`);
    const { config } = simConfig(
      dir.path,
      sim,
      `${database}-${name}`,
      CLUSTERS,
      `store: { postgres: { url: "${url}" } }
ha: { replica: ${name}, lease_seconds: ${LEASE_SECONDS} }
ping: { interval_seconds: 0.5, timeout_seconds: 2 }
${body}`,
    );
    const proc = runFaultline(config);
    replicas.set(name, proc);
    return proc;
  }

  /** A new database `name` and a client on it. */
  async function database(name: string): Promise<postgres.Sql> {
    const admin = postgres(pg.url, { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    return postgres(pg.url.replace(/\/postgres$/, `/${name}`), { max: 2, onnotice: () => {} });
  }

  /**
   * Each cluster's session is recorded in the shared store (cluster_liveness) and is a live one on the
   * simulator: a replica SIGKILLed now is one whose sessions its takers can end. (A replica killed
   * within ~100 ms of subscribing, before its session is written, leaves it on the server: see
   * SESSION_FLUSH_MS in src/cluster/liveness.ts.)
   */
  async function sessionsRecorded(db: postgres.Sql): Promise<boolean> {
    const rows = await db<Array<{ cluster: string; session_id: string | null }>>`
      SELECT cluster, session_id FROM cluster_liveness`;
    const recorded = new Map(rows.map((r) => [r.cluster, r.session_id]));
    return CLUSTERS.every((c) => {
      const session = recorded.get(c);
      return typeof session === "string" && sim.sessionIds(c).includes(session);
    });
  }

  /**
   * Waits until every cluster has `count` subscriptions; on a timeout it first prints, for each cluster
   * with another count, the simulator's counters and the replicas' log lines about it (`logs`: those of
   * replicas already stopped too), so that a failure in CI explains itself.
   */
  async function waitSubscriptionsEach(
    what: string,
    count: number,
    logs: ReadonlyMap<string, FaultlineProcess> = replicas,
  ): Promise<void> {
    try {
      await waitFor(what, () => CLUSTERS.every((c) => sim.stats(c).subscriptions === count), 10_000);
    } catch (error) {
      for (const c of CLUSTERS.filter((name) => sim.stats(name).subscriptions !== count)) {
        console.error(`${what}: ${c} ${JSON.stringify(sim.stats(c))}`);
        for (const [name, proc] of logs)
          for (const line of proc.logs.filter((l) => l.cluster === c).slice(-12))
            console.error(`  ${name}: ${JSON.stringify(line)}`);
      }
      throw error;
    }
  }
  const waitOneSubscriptionEach = (what: string) => waitSubscriptionsEach(what, 1);

  async function fleet(proc: FaultlineProcess): Promise<{ replica: string; clusters: FleetCluster[] }> {
    const response = await fetch(`${await proc.healthUrl()}/health/clusters`);
    return (await response.json()) as { replica: string; clusters: FleetCluster[] };
  }

  /** Per cluster, the live replicas on which it is active in their own registry. */
  async function activeOn(names: readonly string[]): Promise<Map<string, string[]>> {
    const where = new Map<string, string[]>(CLUSTERS.map((c) => [c, []]));
    for (const name of names) {
      const proc = replicas.get(name);
      if (!proc) continue;
      const body = await fleet(proc);
      for (const c of body.clusters) {
        if (c.owner === name && c.status === "active") where.get(c.name)?.push(name);
      }
    }
    return where;
  }

  /** Every cluster active on exactly one of `names`: the one rendezvous hashing over `names` picks. */
  async function divided(names: readonly string[]): Promise<boolean> {
    const where = await activeOn(names);
    return names.every((name) =>
      [...keysOwnedBy(name, CLUSTERS, names)].every(
        (c) => where.get(c)?.length === 1 && where.get(c)?.[0] === name,
      ),
    );
  }

  test("3 replicas divide 30 clusters, each subscribed once; a SIGKILLed one's clusters are active elsewhere within the lease plus a backoff, its sessions ended; a 4th takes only its share", async () => {
    const db = await database("fleet");
    const names = ["r0", "r1", "r2"];
    for (const name of names) start(name, "fleet");
    await waitFor("30 clusters active, each on one replica", () => divided(names), 30_000, 250);
    // The simulator: one subscription per cluster, whatever the hand-overs while the replicas joined.
    await waitOneSubscriptionEach("one subscription each");
    const views = await Promise.all(names.map((n) => fleet(replicas.get(n) as FaultlineProcess)));
    expect(views.map((v) => v.replica)).toEqual(names);
    const owners = views.map((v) => v.clusters.map((c) => `${c.name}=${c.owner}`).join(","));
    expect(new Set(owners).size).toBe(1);

    const before = await activeOn(names);
    const victims = CLUSTERS.filter((c) => before.get(c)?.[0] === "r2");
    expect(victims.length).toBeGreaterThan(0);
    await waitFor("every cluster's session recorded", () => sessionsRecorded(db), 10_000, 100);
    const killed = replicas.get("r2") as FaultlineProcess;
    const killedAt = performance.now();
    killed.proc.kill("SIGKILL");
    await killed.proc.exited;
    replicas.delete("r2");
    const alive = names.slice(0, 2);
    await waitFor("the killed replica's clusters active elsewhere", () => divided(alive), 15_000, 100);
    const takeoverMs = performance.now() - killedAt;
    process.stderr.write(
      `ha e2e: ${victims.length} clusters of a SIGKILLed replica active elsewhere after ${Math.round(takeoverMs)} ms (lease ${LEASE_SECONDS} s)\n`,
    );
    expect(takeoverMs).toBeLessThan(TAKEOVER_MS);
    // The takers ended the dead replica's sessions (resume): its subscriptions are gone from the servers.
    await waitOneSubscriptionEach("one subscription each after the kill");
    const afterKill = await activeOn(alive);
    for (const c of CLUSTERS.filter((c) => !victims.includes(c)))
      expect(afterKill.get(c)).toEqual(before.get(c) ?? []);
    const view = await fleet(replicas.get("r0") as FaultlineProcess);
    expect(view.clusters.filter((c) => c.owner === "r2")).toEqual([]);

    start("r3", "fleet");
    const four = [...alive, "r3"];
    await waitFor(
      "the 4th replica holds its share",
      async () => {
        const where = await activeOn(four);
        return (await divided(four)) && [...where.values()].some((r) => r[0] === "r3");
      },
      20_000,
      250,
    );
    const rebalanced = await activeOn(four);
    const moved = CLUSTERS.filter((c) => rebalanced.get(c)?.[0] !== afterKill.get(c)?.[0]);
    // Only to the 4th (a failure names each cluster that moved elsewhere, with where it was and is).
    const strays = moved.filter((c) => rebalanced.get(c)?.[0] !== "r3");
    expect(strays.map((c) => [c, afterKill.get(c), rebalanced.get(c)])).toEqual([]);
    expect(moved.length).toBeLessThanOrEqual(15);

    // A graceful stop hands over at once (the others' next tick), and exits 0.
    const leaver = replicas.get("r3") as FaultlineProcess;
    const stoppedAt = performance.now();
    expect(await leaver.stop("SIGTERM")).toBe(0);
    replicas.delete("r3");
    await waitFor("the leaver's clusters active elsewhere", () => divided(alive), 10_000, 100);
    process.stderr.write(
      `ha e2e: a gracefully stopped replica's clusters active elsewhere after ${Math.round(performance.now() - stoppedAt)} ms\n`,
    );
    await waitOneSubscriptionEach("one subscription each with the 4th");
    for (const name of alive) expect(await replicas.get(name)?.stop("SIGTERM")).toBe(0);
    const stopped = new Map(replicas);
    replicas.clear();
    await db.end();
    // Every replica left cleanly: no subscription is left on any server.
    await waitSubscriptionsEach("no subscription left", 0, stopped);
  }, 120_000);

  test("shared store: faults flowing while the sink's owner (running agents) is SIGKILLed are stored once each; its runs are settled once and run again; each notification is delivered once; a 4th replica joins and a fault seen across the hand-over joins one incident", async () => {
    const db = await database("shared");
    const receiver = startReceiver();
    const timeline = join(dir.path, "shared-timeline.log");
    const agent = timelineAgent(dir.path, "shared-agent.sh", timeline, 0.4);
    const body = `agent: { command: ["${agent}"], max_concurrent: 3, retry_interrupted: true, max_attempts: 2, timeout_seconds: 60 }
notify:
  - { name: hook, type: webhook, url: "${receiver.url}/hook", on: [opened, triaged, failed], max_per_minute: 100000, retry: { initial_seconds: 0.1, max_seconds: 0.5 } }
`;
    try {
      const names = ["s0", "s1", "s2"];
      for (const name of names) start(name, "shared", body);
      await waitFor("30 clusters divided among the 3", () => divided(names), 30_000, 250);
      await waitOneSubscriptionEach("one subscription each");
      await waitFor("every cluster's session recorded", () => sessionsRecorded(db), 10_000, 100);
      let sent = 0;
      const inject = (round: number) => {
        for (const c of CLUSTERS) if (sim.inject(c, { name: `f-${round}-${c}` }) > 0) sent++;
      };
      for (let round = 0; round < 3; round++) inject(round);

      // The victim: the webhook sink's owner, once it runs agents.
      const owner = await waitFor(
        "the sink's owner running agents",
        async () => {
          const [row] = await db<Array<{ replica: string | null; open: number }>>`
            SELECT o.replica, (SELECT count(*)::int FROM runs r WHERE r.replica = o.replica AND r.finished_ms IS NULL) AS open
            FROM sink_owners o WHERE o.sink = 'hook'`;
          return row?.replica && row.open > 0 ? row.replica : null;
        },
        20_000,
        20,
      );
      const killed = replicas.get(owner) as FaultlineProcess;
      killed.proc.kill("SIGKILL");
      const killedAt = Date.now();
      await killed.proc.exited;
      replicas.delete(owner);
      const openAtKill = await db<Array<{ id: number; incident_seq: number }>>`
        SELECT id, incident_seq FROM runs WHERE replica = ${owner} AND finished_ms IS NULL`;
      expect(openAtKill.length).toBeGreaterThan(0);
      const alive = names.filter((n) => n !== owner);
      for (let round = 3; round < 8; round++) {
        inject(round);
        await Bun.sleep(500);
      }
      await waitFor("divided among the survivors", () => divided(alive), 15_000, 100);
      expect(Date.now() - killedAt).toBeLessThan(TAKEOVER_MS + 2500); // + the 2.5 s of injecting
      // The old sessions of the killed replica were ended by their takers (resume): one subscription each.
      await waitOneSubscriptionEach("one subscription each after the kill");

      // The dead replica's open runs: settled (interrupted) by exactly one survivor, then run again.
      await waitFor(
        "the dead replica's runs settled",
        async () => {
          const [row] = await db<Array<{ open: number }>>`
            SELECT count(*)::int AS open FROM runs WHERE replica = ${owner} AND finished_ms IS NULL`;
          return row?.open === 0;
        },
        15_000,
        100,
      );
      const settlers = alive.filter((n) =>
        replicas
          .get(n)
          ?.logs.some(
            (l) => l.msg === "settled the open runs of an expired replica" && l.dead_replica === owner,
          ),
      );
      expect(settlers).toHaveLength(1);
      const settledRuns = await db<Array<{ status: string }>>`
        SELECT status FROM runs WHERE id = ANY(${openAtKill.map((r) => r.id)}::int8[])`;
      expect(settledRuns.every((r) => r.status === "interrupted")).toBe(true);

      // A 4th replica joins: the clusters hashing gives it move; a fault seen before and after joins one incident.
      const four = [...alive, "s3"];
      const moving = [...keysOwnedBy("s3", CLUSTERS, four)];
      expect(moving.length).toBeGreaterThan(0);
      // Each delivered to at most one live subscription. On a loaded machine a session may be reconnecting
      // just then (seen in CI, and once in 4 runs beside two busy loops): a fault injected meanwhile reaches
      // none, and the reconnected session's backfill lists it (the simulator records every fault), so it is
      // stored all the same: the waits below count what was stored, not what was pushed. A listed fault has
      // the fault_id a pushed one has, so a listed h- fault joins its incident as a pushed one does (before
      // they did not agree, and a listed repeat opened a second incident: seen once in CI).
      await waitOneSubscriptionEach("one subscription each before the hand-over");
      for (const c of moving) expect(sim.inject(c, { name: `h-${c}` })).toBeLessThanOrEqual(1);
      await waitFor(
        "the faults before the hand-over stored",
        async () => {
          const [row] = await db<Array<{ n: number }>>`
            SELECT count(*)::int AS n FROM incidents WHERE resource LIKE '%"h-%'`;
          return row?.n === moving.length;
        },
        10_000,
        100,
      );
      start("s3", "shared", body);
      await waitFor(
        "the 4th replica holds its share",
        async () => {
          const where = await activeOn(four);
          return (await divided(four)) && moving.every((c) => where.get(c)?.[0] === "s3");
        },
        20_000,
        250,
      );
      await waitOneSubscriptionEach("one subscription each with the 4th");
      for (const c of moving) expect(sim.inject(c, { name: `h-${c}` })).toBeLessThanOrEqual(1); // as above
      for (let round = 8; round < 10; round++) inject(round);

      const settlingFrom = Date.now();
      await waitFor(
        "every fault sent to a live subscription stored, every agent done, every notification sent",
        async () => {
          const [row] = await db<Array<{ faults: number; busy: number; pending: number; repeats: number }>>`
            SELECT (SELECT count(DISTINCT resource::jsonb->>'name')::int FROM incidents WHERE resource LIKE '%"f-%') AS faults,
                   (SELECT count(*)::int FROM incidents WHERE status IN ('queued', 'running')) AS busy,
                   (SELECT count(*)::int FROM notifications WHERE status <> 'sent') AS pending,
                   (SELECT count(*)::int FROM events e JOIN incidents i ON i.seq = e.incident_seq
                     WHERE i.resource LIKE '%"h-%') AS repeats`;
          const done =
            (row?.faults ?? 0) >= sent &&
            row?.busy === 0 &&
            row?.pending === 0 &&
            row?.repeats === 2 * moving.length;
          if (!done) throw new Error(`${JSON.stringify(row)} (sent ${sent}, moved ${moving.length})`);
          return done;
        },
        90_000,
        250,
      );
      // Stored once: one incident per fault, one event per f- fault; the h- faults two events in one incident.
      const perFault = await db<Array<{ name: string; n: number }>>`
        SELECT resource::jsonb->>'name' AS name, count(*)::int AS n FROM incidents GROUP BY 1 HAVING count(*) > 1`;
      expect([...perFault]).toEqual([]);
      const events = await db<Array<{ name: string; n: number }>>`
        SELECT i.resource::jsonb->>'name' AS name, count(*)::int AS n FROM events e JOIN incidents i ON i.seq = e.incident_seq
        WHERE i.resource LIKE '%"f-%' GROUP BY 1 HAVING count(*) > 1`;
      expect([...events]).toEqual([]);
      // No incident ran twice unless its first run was interrupted (the dead replica's, run again elsewhere).
      const doubled = await db<Array<{ seq: number }>>`
        SELECT incident_seq AS seq FROM runs GROUP BY incident_seq
        HAVING count(*) > 1 AND count(*) FILTER (WHERE status = 'interrupted') <> count(*) - 1`;
      expect([...doubled]).toEqual([]);
      const rerun = await db<Array<{ n: number; replicas: string[] }>>`
        SELECT count(*)::int AS n, array_agg(DISTINCT replica) AS replicas FROM runs
        WHERE incident_seq = ANY(${openAtKill.map((r) => r.incident_seq)}::int8[]) AND replica <> ${owner}`;
      expect(rerun[0]?.n).toBe(openAtKill.length);
      expect(rerun[0]?.replicas.includes(owner)).toBe(false);

      // Each notification delivered once (by idempotency key); a repeat only of one in flight when its owner died.
      const keys = await db<Array<{ key: string }>>`
        SELECT idempotency_key AS key FROM notifications WHERE sink = 'hook'`;
      const received = new Map<string, number[]>();
      for (const r of receiver.at("/hook")) {
        const key = r.headers["idempotency-key"] ?? "";
        received.set(key, [...(received.get(key) ?? []), r.at]);
      }
      expect(new Set(received.keys())).toEqual(new Set(keys.map((k) => k.key)));
      const repeated = [...received.entries()].filter(([, at]) => at.length > 1);
      for (const [key, at] of repeated) {
        expect({ key, copies: at.length }).toEqual({ key, copies: 2 });
        expect(killedAt - (at[0] ?? 0)).toBeLessThan(2000);
      }
      process.stderr.write(
        `ha e2e: all stored, run and sent ${Date.now() - settlingFrom} ms after the last fault; ${sent} faults, ${keys.length} notifications (${repeated.length} resent after the owner's SIGKILL), ${openAtKill.length} runs of the killed replica settled by ${settlers[0]} and run again\n`,
      );
      for (const name of four) expect(await replicas.get(name)?.stop("SIGTERM")).toBe(0);
      replicas.clear();
    } finally {
      await db.end();
      await receiver.stop();
    }
  }, 180_000);
});
