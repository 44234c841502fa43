/**
 * The coordination layer against a real PostgreSQL (tests/helpers/postgres.ts): heartbeats and expiry,
 * settling a dead replica exactly once, the owner rows' conditional take under concurrency, and
 * coordinators in one process dividing 30 clusters exactly once through a leave, a kill (self-fencing)
 * and a join. Skipped, saying why, where the PostgreSQL binaries are missing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Registry } from "../../src/cluster/registry.ts";
import type { ClusterConfig } from "../../src/config/types.ts";
import { Coordinator, type CoordinatorOptions } from "../../src/ha/coordinator.ts";
import { type HaSql, migrateHa, openHaDatabase } from "../../src/ha/database.ts";
import { FleetStatusWriter, readFleet } from "../../src/ha/fleet-status.ts";
import { Heartbeat, settleExpired } from "../../src/ha/heartbeat.ts";
import { OwnerRows } from "../../src/ha/owner-rows.ts";
import type { OwnedHost, ReleaseReason } from "../../src/ha/ownership.ts";
import { rendezvousOwner } from "../../src/ha/rendezvous.ts";
import { type PostgresServer, postgresAvailable, startPostgres } from "../helpers/postgres.ts";
import { startTcpProxy } from "../helpers/tcp-proxy.ts";
import { waitFor } from "../helpers/wait.ts";

const available = postgresAvailable("tests/ha/coordination.test.ts");
let pg: PostgresServer;
let admin: HaSql;
const clients: HaSql[] = [];
let databases = 0;

/** A fresh, migrated database on the shared server; its URL. */
async function freshDatabase(): Promise<string> {
  const name = `ha_${++databases}`;
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const url = pg.url.replace(/\/postgres$/, `/${name}`);
  await migrateHa(client(url));
  return url;
}

function client(url: string): HaSql {
  const sql = openHaDatabase(url);
  clients.push(sql);
  return sql;
}

/** Records what a coordinator's host holds, and checks no cluster is ever held by two at once. */
class Hosts {
  readonly holders = new Map<string, Set<string>>();
  overlaps = 0;
  host(replica: string): OwnedHost & { held: Set<string> } {
    const held = new Set<string>();
    return {
      held,
      take: (keys) => {
        for (const key of keys) {
          const holders = this.holders.get(key) ?? new Set();
          if (holders.size > 0) this.overlaps++;
          holders.add(replica);
          this.holders.set(key, holders);
          held.add(key);
        }
      },
      release: (keys: readonly string[], _reason: ReleaseReason) => {
        for (const key of keys) {
          this.holders.get(key)?.delete(replica);
          held.delete(key);
        }
      },
    };
  }
  /** Who holds each key now (keys held by none or by two are reported as such). */
  owners(): Map<string, string[]> {
    return new Map([...this.holders].map(([k, v]) => [k, [...v]]));
  }
}

const noSinks: OwnedHost = { take: () => {}, release: () => {} };
const CLUSTERS = Array.from({ length: 30 }, (_, i) => `cluster-${i}`);

function coordinator(
  sql: HaSql,
  replica: string,
  host: OwnedHost,
  leaseSeconds = 3,
  more: Partial<CoordinatorOptions> = {},
): Coordinator {
  return new Coordinator({
    sql,
    replica,
    leaseSeconds,
    url: null,
    version: "test",
    clusters: () => CLUSTERS,
    sinks: () => [],
    clusterHost: host,
    sinkHost: noSinks,
    tickMs: 200,
    ...more,
  });
}

/** Marks `cluster` active now in `registry`, as its connection's status report would. */
function activeNow(registry: Registry, cluster: string): void {
  registry.applyStatus({
    type: "status",
    cluster,
    status: "active",
    error: null,
    retry_in_ms: null,
    at: new Date().toISOString(),
  });
}

describe.skipIf(!available)("HA coordination on PostgreSQL", () => {
  beforeAll(async () => {
    pg = await startPostgres({ settings: { max_connections: "200" } });
    admin = openHaDatabase(pg.url);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end({ timeout: 1 })));
    await admin?.end({ timeout: 1 });
    await pg?.stop();
  });

  test("migrations apply once, even when replicas start together", async () => {
    const url = pg.url.replace(/\/postgres$/, "/ha_migrate");
    await admin.unsafe("CREATE DATABASE ha_migrate");
    const versions = await Promise.all([1, 2, 3].map(() => migrateHa(client(url))));
    expect(versions).toEqual([1, 1, 1]);
    const sql = client(url);
    expect([...(await sql`SELECT version FROM ha_schema_migrations`)]).toEqual([{ version: 1 }]);
  });

  test("heartbeats: live within the lease by the database's clock; expired, left and settled replicas are not", async () => {
    const sql = client(await freshDatabase());
    const a = new Heartbeat(sql, { replica: "a", leaseSeconds: 3, url: "http://a:8080", version: "1" });
    const b = new Heartbeat(sql, { replica: "b", leaseSeconds: 3, url: null, version: "1" });
    expect(a.fenced()).toBe(true);
    await a.beat();
    await b.beat();
    expect(a.fenced()).toBe(false);
    expect(await a.live()).toEqual(["a", "b"]);
    // b stops heartbeating: 3 s later it is no longer live.
    await sql`UPDATE replicas SET heartbeat_at = now() - interval '3.1 seconds' WHERE name = 'b'`;
    expect(await a.live()).toEqual(["a"]);
    await b.beat();
    expect(await a.live()).toEqual(["a", "b"]);
    // Leaving (a graceful stop, as the coordinator does it): hold the runs, then mark the row gone.
    const done = await b.hold();
    await b.markGone();
    expect(await a.live()).toEqual(["a"]);
    // Leaving, b still finishes its agent runs: nobody settles them meanwhile.
    expect(await settleExpired(sql, 3, async () => {})).toBeNull();
    await done();
    // Two replicas settle at once: exactly one settles b, and b's row is gone.
    const settled: string[] = [];
    const settle = async (dead: string) => {
      settled.push(dead);
      await Bun.sleep(100);
    };
    const results = await Promise.all([
      settleExpired(sql, 3, settle),
      settleExpired(client(pg.url.replace(/\/postgres$/, `/ha_${databases}`)), 3, settle),
    ]);
    expect(settled).toEqual(["b"]);
    expect(results.filter((r) => r !== null)).toEqual(["b"]);
    expect((await sql`SELECT name FROM replicas`).map((r) => r.name)).toEqual(["a"]);
  });

  test("a settle that fails leaves the dead replica for the next attempt", async () => {
    const sql = client(await freshDatabase());
    const b = new Heartbeat(sql, { replica: "b", leaseSeconds: 3, url: null, version: "1" });
    await b.beat();
    const done = await b.hold();
    await b.markGone();
    await done();
    await expect(settleExpired(sql, 3, async () => Promise.reject(new Error("store down")))).rejects.toThrow(
      "store down",
    );
    expect(await settleExpired(sql, 3, async () => {})).toBe("b");
  });

  test("fencing: no heartbeat for lease - 1 s (from when the last good one was sent)", async () => {
    const sql = client(await freshDatabase());
    let now = 1000;
    const beat = new Heartbeat(sql, {
      replica: "a",
      leaseSeconds: 5,
      url: null,
      version: "1",
      now: () => now,
    });
    await beat.beat();
    now += 4000;
    expect(beat.fenced()).toBe(false);
    now += 1;
    expect(beat.fenced()).toBe(true);
    expect(beat.untilDueMs()).toBe(0);
  });

  test("the conditional take never gives one key to two replicas, whatever the concurrency", async () => {
    const url = await freshDatabase();
    const names = ["r0", "r1", "r2", "r3", "r4", "r5"];
    for (const name of names) {
      await new Heartbeat(client(url), { replica: name, leaseSeconds: 30, url: null, version: "1" }).beat();
    }
    const keys = Array.from({ length: 60 }, (_, i) => `k${i}`);
    for (let round = 0; round < 3; round++) {
      const rows = names.map((name) => new OwnerRows(client(url), "clusters", name, 30));
      // Each replica asks for a shuffled half-overlapping subset at once.
      const taken = await Promise.all(
        rows.map((r, i) => r.take(keys.filter((_, k) => (k + i + round) % 3 !== 0).reverse())),
      );
      const all = taken.flatMap((s) => [...s]);
      expect(new Set(all).size).toBe(all.length);
      const sql = client(url);
      const owners = await sql<
        Array<{ cluster: string; replica: string }>
      >`SELECT cluster, replica FROM cluster_owners WHERE replica IS NOT NULL`;
      expect(owners.length).toBe(all.length);
      for (const { cluster, replica } of owners)
        expect(taken[names.indexOf(replica)]?.has(cluster)).toBe(true);
      // A live holder keeps its keys; a holder that is not live loses them to the next taker.
      await Promise.all(rows.map((r, i) => r.release([...(taken[i] ?? [])])));
    }
    const r0 = new OwnerRows(client(url), "clusters", "r0", 30);
    const r1 = new OwnerRows(client(url), "clusters", "r1", 30);
    expect([...(await r0.take(["x"]))]).toEqual(["x"]);
    expect([...(await r1.take(["x"]))]).toEqual([]);
    await client(url)`UPDATE replicas SET heartbeat_at = now() - interval '1 minute' WHERE name = 'r0'`;
    expect([...(await r1.take(["x"]))]).toEqual(["x"]);
    expect(await r0.mine()).toEqual(new Set());
    expect((await r1.owners()).get("x")).toBe("r1");
  });

  test("3 coordinators divide 30 clusters exactly once; a leaver's clusters move at once; a killed one fences itself and its clusters move within lease + 1 s; a 4th takes only ~1/4", async () => {
    const url = await freshDatabase();
    const hosts = new Hosts();
    const names = ["faultline-0", "faultline-1", "faultline-2"];
    const killable = openHaDatabase(url);
    const hostOf = new Map(names.map((n) => [n, hosts.host(n)]));
    const coordinators = names.map((n) =>
      coordinator(n === "faultline-2" ? killable : client(url), n, hostOf.get(n) as OwnedHost),
    );
    await Promise.all(coordinators.map((c) => c.start()));
    const everyOnce = () => CLUSTERS.every((c) => hosts.owners().get(c)?.length === 1);
    // Started together, the first may take everything until it sees the others: then it hands over.
    const settledOn = (live: string[]) => () =>
      everyOnce() && CLUSTERS.every((c) => hosts.owners().get(c)?.[0] === rendezvousOwner(c, live));
    await waitFor("30 clusters held once, as hashing says", settledOn(names), 10_000);
    await waitFor(
      "every replica sees 3 live",
      () => coordinators.every((c) => c.state.live.length === 3),
      3000,
    );

    // faultline-2 is "killed": its database connections go away, nothing is released.
    const victims = [...(hostOf.get("faultline-2")?.held ?? [])];
    expect(victims.length).toBeGreaterThan(0);
    const killedAt = performance.now();
    await killable.end({ timeout: 0 });
    await waitFor("the killed replica fences itself", () => coordinators[2]?.state.fenced === true, 5000);
    expect(hostOf.get("faultline-2")?.held.size).toBe(0);
    const two = names.slice(0, 2);
    await waitFor("its clusters held elsewhere", settledOn(two), 6000);
    const takeover = performance.now() - killedAt;
    expect(takeover).toBeLessThan(4000); // lease 3 s + 1 s
    await coordinators[2]?.stop();

    // A 4th joins: only the clusters it wins move, all to it.
    const before = new Map([...hosts.owners()].map(([k, v]) => [k, v[0]]));
    const fourth = coordinator(client(url), "faultline-3", hosts.host("faultline-3"));
    await fourth.start();
    const withFourth = [...two, "faultline-3"];
    await waitFor("rebalanced", settledOn(withFourth), 10_000);
    const moved = CLUSTERS.filter((c) => hosts.owners().get(c)?.[0] !== before.get(c));
    expect(moved.every((c) => hosts.owners().get(c)?.[0] === "faultline-3")).toBe(true);
    expect(moved.length).toBeLessThanOrEqual(15);
    expect(moved.length).toBe(
      CLUSTERS.filter((c) => rendezvousOwner(c, withFourth) === "faultline-3").length,
    );

    // A graceful stop: its clusters move at the others' next tick, not after the lease.
    const stoppedAt = performance.now();
    await fourth.stop();
    await waitFor("the leaver's clusters held elsewhere", everyOnce, 3000);
    expect(performance.now() - stoppedAt).toBeLessThan(2500);
    await Promise.all(coordinators.slice(0, 2).map((c) => c.stop()));
    expect(hosts.overlaps).toBe(0);
    expect(coordinators[0]?.state.handovers.taken).toBeGreaterThan(0);
  }, 60_000);

  test("a graceful stop whose handover outlasts the lease: heartbeats go on, and no replica settles the leaver's runs before it finishes", async () => {
    const url = await freshDatabase();
    const hosts = new Hosts();
    const slowRelease = 4500; // > lease (3 s): a release waiting for its intake to be stored, under load
    const leaverHost = hosts.host("leaver");
    const leaver = coordinator(client(url), "leaver", {
      take: (keys) => leaverHost.take(keys),
      release: async (keys, reason) => {
        await leaverHost.release(keys, reason);
        if (reason === "stopping") await Bun.sleep(slowRelease);
      },
    });
    const settled: string[] = [];
    const other = coordinator(client(url), "other", hosts.host("other"), 3, {
      settle: async (dead) => {
        settled.push(dead);
      },
    });
    await leaver.start();
    await other.start();
    await waitFor("both hold clusters", () => leaverHost.held.size > 0 && other.clusters.held.size > 0, 5000);
    const started = performance.now();
    await leaver.stop();
    expect(performance.now() - started).toBeGreaterThan(slowRelease);
    // While it handed over (longer than its lease), nobody settled its runs.
    expect(settled).toEqual([]);
    await waitFor(
      "the leaver's clusters held by the other",
      () => other.clusters.held.size === CLUSTERS.length,
      3000,
    );
    await Bun.sleep(600); // several ticks of the other: the leaver's row is passed by while it holds its runs
    expect(settled).toEqual([]);
    await leaver.finish();
    await waitFor("the leaver settled once it finished", () => settled.includes("leaver"), 3000);
    expect(settled).toEqual(["leaver"]);
    await other.stop();
    await other.finish();
    expect(hosts.overlaps).toBe(0);
  }, 30_000);

  test("fleet status: owners write their clusters' states; any replica reads the fleet with live owners, an expired owner as null", async () => {
    const url = await freshDatabase();
    const sql = client(url);
    const configs = ["a", "b", "off"].map(
      (name) => ({ name, enabled: name !== "off", labels: { n: name } }) as unknown as ClusterConfig,
    );
    const [a, b] = configs as [ClusterConfig, ClusterConfig];
    for (const replica of ["r1", "r2"]) {
      await new Heartbeat(sql, { replica, leaseSeconds: 3, url: null, version: "1" }).beat();
    }
    await new OwnerRows(sql, "clusters", "r1", 3).take(["a"]);
    await new OwnerRows(sql, "clusters", "r2", 3).take(["b"]);
    const r1 = new Registry([a]);
    activeNow(r1, "a");
    r1.recordEvent("a", "2026-01-01T00:00:00.000Z");
    const r2 = new Registry([b]);
    const writer = new FleetStatusWriter(sql, "r1", () => r1.list());
    await writer.flush();
    await writer.flush(); // nothing changed: nothing written
    const fromR2 = await readFleet(sql, 3, "r2", configs, r2.list());
    expect(fromR2.map((c) => [c.name, c.owner, c.status, c.event_count])).toEqual([
      ["a", "r1", "active", 1],
      ["b", "r2", "disconnected", 0],
      ["off", null, "disabled", 0],
    ]);
    expect(fromR2[0]?.labels).toEqual({ n: "a" });
    await sql`UPDATE replicas SET heartbeat_at = now() - interval '1 minute' WHERE name = 'r1'`;
    const expired = await readFleet(sql, 3, "r2", configs, r2.list());
    expect(expired[0]).toMatchObject({ name: "a", owner: null, status: "active" });

    // r2 takes "a": until r2 writes its own state, the row is r1's, from before the take. No view, not
    // even r2's own (its registry does not have "a" yet), shows r1's "active" under r2.
    await new OwnerRows(sql, "clusters", "r2", 3).take(["a"]);
    const [taken] = await sql<Array<{ since: Date }>>`SELECT since FROM cluster_owners WHERE cluster = 'a'`;
    await new Heartbeat(sql, { replica: "r3", leaseSeconds: 3, url: null, version: "1" }).beat();
    for (const view of [
      await readFleet(sql, 3, "r2", configs, r2.list()),
      await readFleet(sql, 3, "r3", configs, []),
    ]) {
      expect(view[0]).toMatchObject({ name: "a", owner: "r2", status: "connecting", event_count: 0 });
      expect(view[0]?.since).toBe(taken?.since.toISOString());
      expect(view[0]?.labels).toEqual({ n: "a" });
    }
    // Once r2 writes its state, every view shows it.
    const r2Taken = new Registry([a, b]);
    activeNow(r2Taken, "a");
    await new FleetStatusWriter(sql, "r2", () => r2Taken.list()).flush();
    const reported = await readFleet(sql, 3, "r3", configs, []);
    expect(reported.map((c) => [c.name, c.owner, c.status])).toEqual([
      ["a", "r2", "active"],
      ["b", "r2", "disconnected"],
      ["off", null, "disabled"],
    ]);
  });

  test("a slow database (every answer 700 ms late) does not fence a replica: heartbeats go out every lease/3 from their sending, not from their answers", async () => {
    const url = await freshDatabase();
    const proxy = await startTcpProxy(pg.port);
    try {
      const slowSql = openHaDatabase(url.replace(`:${pg.port}/`, `:${proxy.port}/`));
      clients.push(slowSql);
      // Ticks far apart: only heartbeats use the connection, so each one waits only for its own answer.
      const slow = coordinator(slowSql, "slow", noSinks, 3, { clusters: () => [], tickMs: 60_000 });
      await slow.start();
      proxy.delay(700);
      let fenced = false;
      const watching = setInterval(() => {
        fenced ||= slow.state.fenced;
      }, 20);
      await Bun.sleep(6000);
      clearInterval(watching);
      proxy.delay(0);
      expect(fenced).toBe(false);
      expect(
        await new Heartbeat(client(url), { replica: "x", leaseSeconds: 3, url: null, version: "1" }).live(),
      ).toEqual(["slow"]);
      await slow.stop();
      await slow.finish();
    } finally {
      await proxy.stop();
    }
  }, 30_000);

  test("fencing through a cut network: the cut replica drops everything before its lease ends, the others take over, and it takes its share back once heartbeats succeed", async () => {
    const url = await freshDatabase();
    const proxy = await startTcpProxy(pg.port);
    try {
      const hosts = new Hosts();
      const viaProxy = openHaDatabase(url.replace(`:${pg.port}/`, `:${proxy.port}/`));
      clients.push(viaProxy);
      const cutHost = hosts.host("cut");
      const cut = coordinator(viaProxy, "cut", cutHost);
      const other = coordinator(client(url), "other", hosts.host("other"));
      await Promise.all([cut.start(), other.start()]);
      const everyOnce = () => CLUSTERS.every((c) => hosts.owners().get(c)?.length === 1);
      await waitFor("divided", () => everyOnce() && cutHost.held.size > 0, 10_000);
      proxy.cut(true);
      const cutAt = performance.now();
      await waitFor("fenced", () => cut.state.fenced, 5000);
      expect(performance.now() - cutAt).toBeLessThan(3000);
      expect(cutHost.held.size).toBe(0);
      await waitFor(
        "all 30 on the other",
        () => everyOnce() && hosts.owners().get(CLUSTERS[0] ?? "")?.[0] === "other",
        6000,
      );
      proxy.cut(false);
      await waitFor(
        "back: its share again",
        () => !cut.state.fenced && cutHost.held.size > 0 && everyOnce(),
        20_000,
      );
      await Promise.all([cut.stop(), other.stop()]);
      expect(hosts.overlaps).toBe(0);
    } finally {
      await proxy.stop();
    }
  }, 60_000);
});
