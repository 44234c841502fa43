/**
 * The ingest's fencing token against a real PostgreSQL (tests/helpers/postgres.ts): a replica stores a
 * cluster's events only while the cluster's owner row names it, and holds that row until it commits, so
 * a fenced replica's batch in flight and the taker's backfill never both store one fault.
 *
 * The race, made deterministic: replica a's batch is held inside its transaction (a head row of its fault
 * is locked by the test), a's lease expires, b takes the cluster over, reads what is stored (`seen`,
 * through the real `resumeStates`) and backfills what the server lists minus what is stored, then a's
 * held batch goes on, and a's next batch arrives late. Without the fence, b's takeover does not wait, its
 * backfill lists a's fault again, and a's late batch is stored too: two event rows for one fault.
 * Skipped, saying why, where the PostgreSQL binaries are missing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { resumeStates } from "../../src/cluster/liveness.ts";
import { describeResource, type FaultEvent } from "../../src/events/fault.ts";
import { type HaSql, migrateHa, openHaDatabase } from "../../src/ha/database.ts";
import { Heartbeat } from "../../src/ha/heartbeat.ts";
import { OwnerRows } from "../../src/ha/owner-rows.ts";
import { type OwnedHost, Ownership } from "../../src/ha/ownership.ts";
import { type IngestItem, NotOwnerError } from "../../src/incidents/model.ts";
import { lockOwnedClusters } from "../../src/incidents/pg/fence.ts";
import { PostgresStore } from "../../src/incidents/pg/store.ts";
import { setLogSink } from "../../src/log.ts";
import { Channel } from "../../src/pipeline/channel.ts";
import { runSink } from "../../src/pipeline/sink.ts";
import type { ClusterResume } from "../../src/worker/protocol.ts";
import { clusterConfig } from "../helpers/cluster.ts";
import { makeFault } from "../helpers/fault.ts";
import { type PostgresServer, postgresAvailable, startPostgres } from "../helpers/postgres.ts";
import { sinkContext } from "../helpers/sink.ts";
import { waitFor } from "../helpers/wait.ts";

const available = postgresAvailable("tests/ha/ingest-fence.test.ts");
const LEASE_SECONDS = 3;
let pg: PostgresServer;
let admin: HaSql;
const closers: Array<() => Promise<unknown>> = [];
let databases = 0;

/** A fresh database with the coordination tables; its URL. */
async function freshDatabase(): Promise<string> {
  const name = `fence_${++databases}`;
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const url = pg.url.replace(/\/postgres$/, `/${name}`);
  await migrateHa(ha(url));
  return url;
}

function ha(url: string): HaSql {
  const sql = openHaDatabase(url);
  closers.push(() => sql.end({ timeout: 1 }));
  return sql;
}

/** One replica: its coordination client, heartbeat, owner rows, and its store (fenced, as `faultline run` opens it). */
async function replica(url: string, name: string) {
  const sql = ha(url);
  const heartbeat = new Heartbeat(sql, {
    replica: name,
    leaseSeconds: LEASE_SECONDS,
    url: null,
    version: "t",
  });
  await heartbeat.beat();
  const store = await PostgresStore.open({ url, replica: name, ownedClustersOnly: true });
  closers.push(() => store.close());
  return { name, heartbeat, rows: new OwnerRows(sql, "clusters", name, LEASE_SECONDS), store };
}

/** A fault on `cluster`, its own object (`pod`), `agoMs` before now (sent and received then). */
function fault(cluster: string, pod: string, agoMs: number): FaultEvent {
  return makeFault({
    cluster,
    fault_id: `${cluster}-${pod}`,
    resource: { name: pod },
    at: new Date(Date.now() - agoMs),
  });
}

const triage = (events: FaultEvent[]): IngestItem[] =>
  events.map((event) => ({ event, decision: { action: "triage" } }));

/**
 * What a taker's backfill reports of `listed`: the faults of objects not stored up to their time, by the
 * rule the push feed applies to the resume's `seen` (src/worker/push-feed.ts: `#backfillSince`).
 */
function backfilled(listed: readonly FaultEvent[], resume: ClusterResume | undefined): FaultEvent[] {
  const seen = new Map(resume?.seen ?? []);
  return listed.filter((e) => (seen.get(describeResource(e.resource)) ?? -1) < Date.parse(e.timestamp));
}

/** Event rows per fault id in the database at `url`. */
async function eventRows(url: string): Promise<Record<string, number>> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql<{ fault_id: string; n: number }[]>`
      SELECT i.fault_id, count(*)::int AS n FROM events e JOIN incidents i ON i.seq = e.incident_seq
      GROUP BY i.fault_id ORDER BY i.fault_id`;
    return Object.fromEntries(rows.map((r) => [r.fault_id, r.n]));
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** Sessions of database `name` waiting for a lock now. */
async function lockWaiters(name: string): Promise<number> {
  const [row] = await admin<{ n: number }[]>`
    SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = ${name} AND wait_event_type = 'Lock'`;
  return row?.n ?? 0;
}

/**
 * Holds the head row of `event`'s fault (an uncommitted insert) until the returned function is called
 * (then rolled back): an ingest of that fault waits inside its transaction, past its fence check.
 */
async function holdHead(url: string, event: FaultEvent): Promise<() => Promise<void>> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  let release = (): void => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let inserted = (): void => {};
  const holding = new Promise<void>((resolve) => {
    inserted = resolve;
  });
  const done = sql
    .begin(async (tx) => {
      await tx`INSERT INTO fault_heads (cluster, fault_id, incident_seq, last_seen_ms)
               VALUES (${event.cluster}, ${event.fault_id}, NULL, 0)`;
      inserted();
      await released;
      throw new Error("rolled back on purpose");
    })
    .catch(() => {});
  await holding;
  return async () => {
    release();
    await done;
    await sql.end({ timeout: 1 });
  };
}

describe.skipIf(!available)("a replica's ingest is fenced by its owner rows", () => {
  beforeAll(async () => {
    pg = await startPostgres();
    admin = openHaDatabase(pg.url);
  }, 60_000);
  afterAll(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
    await admin?.end({ timeout: 1 });
    await pg?.stop();
  });

  test("a takeover waits for the fenced owner's batch in flight; the taker's backfill and the owner's late batch store nothing twice", async () => {
    const url = await freshDatabase();
    const database = new URL(url).pathname.slice(1);
    const a = await replica(url, "a");
    const b = await replica(url, "b");
    expect([...(await a.rows.take(["east"]))]).toEqual(["east"]);
    await a.store.maintenance.recordLiveness([
      { cluster: "east", last_alive_ms: Date.now() - 1000, session_id: "session-a" },
    ]);
    // What east's server lists: a received e1 (its batch is in flight) and e3 (arrives late); e2 it missed.
    const e1 = fault("east", "p1", 3000);
    const e2 = fault("east", "p2", 2500);
    const e3 = fault("east", "p3", 2000);

    const release = await holdHead(url, e1);
    const inFlight = a.store.ingest(triage([e1]));
    await waitFor("a's batch held in its transaction", async () => (await lockWaiters(database)) === 1);
    // a is fenced and its lease runs out; b takes east over (its conditional update: a is not live) and,
    // as a replica's cluster host does once the takeover is committed, reads where east was left.
    await a.heartbeat.markGone();
    const takeover = b.rows.take(["east"]).then(async (taken) => {
      const resume = (await resumeStates(b.store.maintenance, taken)).get("east");
      return { taken, resume };
    });
    const first = await Promise.race([
      takeover.then(() => "taken" as const),
      waitFor("the takeover waiting", async () => (await lockWaiters(database)) === 2, 3000)
        .then(() => "waiting" as const)
        .catch(() => "neither" as const),
    ]);
    await release();
    const results = await inFlight;
    expect(results.map((r) => r.incident.fault_id)).toEqual(["east-p1"]);
    const { taken, resume } = await takeover;
    expect([...taken]).toEqual(["east"]);
    // The taker's backfill: what the server lists, minus what it found stored.
    await b.store.ingest(triage(backfilled([e1, e2, e3], resume)));
    // a's next batch (e3 was still in its channel) is refused: east is b's now.
    const late = await a.store.ingest(triage([e3])).catch((error: unknown) => error);

    expect(await eventRows(url)).toEqual({ "east-p1": 1, "east-p2": 1, "east-p3": 1 });
    expect(first).toBe("waiting"); // the takeover waited for a's commit
    expect(late).toBeInstanceOf(NotOwnerError);
    expect((late as NotOwnerError).clusters).toEqual(["east"]);
  }, 30_000);

  test("a batch mixing held and lost clusters: the store refuses it whole; the sink drops the lost cluster's events (not_owner) and stores the rest", async () => {
    const url = await freshDatabase();
    const a = await replica(url, "a");
    const b = await replica(url, "b");
    await a.rows.take(["east", "north"]);
    await a.heartbeat.markGone();
    expect([...(await b.rows.take(["east"]))]).toEqual(["east"]); // a keeps north (b does not want it)
    const mixed = [fault("east", "p4", 500), fault("north", "p5", 400), fault("east", "p6", 300)];
    const refused = await a.store.ingest(triage(mixed)).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(NotOwnerError);
    expect(await eventRows(url)).toEqual({}); // nothing of the batch

    const lines: string[] = [];
    const previous = setLogSink((line) => lines.push(line));
    const channel = new Channel<FaultEvent>(100);
    const stopping = new AbortController();
    const stored: string[] = [];
    const context = sinkContext(channel, a.store, {
      stopping: stopping.signal,
      clusters: new Map(["east", "north"].map((name) => [name, clusterConfig(name)])),
      stored: (results) => stored.push(...results.map((r) => r.incident.fault_id)),
    });
    const sink = runSink(context);
    try {
      for (const event of mixed) channel.push(event);
      await waitFor("the sink's batch", () => stored.length > 0);
    } finally {
      channel.close();
      await sink;
      setLogSink(previous);
    }
    expect(stored).toEqual(["north-p5"]);
    expect(context.drops.counts.not_owner).toBe(2);
    expect(await eventRows(url)).toEqual({ "north-p5": 1 });
    const drop = lines.map((line) => JSON.parse(line)).find((entry) => entry.reason === "not_owner");
    expect(drop).toMatchObject({ stage: "sink", reason: "not_owner", cluster: "east", events: 2 });
  }, 30_000);

  test("an owner stalled mid-batch holds its rows no longer than its bound: the server ends its session, the takeover goes on", async () => {
    const url = await freshDatabase();
    const a = await replica(url, "a");
    const b = await replica(url, "b");
    await a.rows.take(["east"]);
    await a.heartbeat.markGone();
    const stalled = postgres(url, { max: 1, onnotice: () => {} });
    closers.push(() => stalled.end({ timeout: 1 }));
    let locked = (): void => {};
    const holding = new Promise<void>((resolve) => {
      locked = resolve;
    });
    // a's ingest, its client stalled for 1.5 s after the fence check (the event loop held, or cut off).
    const batch = stalled
      .begin(async (tx) => {
        await lockOwnedClusters(tx, ["east"], { replica: "a", idleInTransactionMs: 300 });
        locked();
        await Bun.sleep(1500);
        await tx`SELECT 1`;
      })
      .then(
        () => "committed",
        (error: unknown) => String(error),
      );
    await holding;
    const started = Date.now();
    expect([...(await b.rows.take(["east"]))]).toEqual(["east"]);
    const waitedMs = Date.now() - started;
    expect(await batch).toMatch(/CONNECTION_CLOSED|idle-in-transaction/); // ended by the server, not committed
    expect(waitedMs).toBeGreaterThanOrEqual(200);
    expect(waitedMs).toBeLessThan(1400); // not until the stalled client came back
  }, 30_000);

  test("a cluster dropped here (fenced) and taken again: its events still on their way are stored before the take, so the resume finds them", async () => {
    const url = await freshDatabase();
    const a = await replica(url, "a");
    const e = fault("east", "p9", 500);
    let late: Promise<unknown> = Promise.resolve();
    const order: string[] = [];
    const host: OwnedHost = {
      // What the replica's cluster host does: wait for the sink to be past what it received (here: one
      // batch of east received before the fence, stored only now).
      beforeTake: async (keys) => {
        order.push(`before:${keys.join(",")}:${[...(await a.rows.mine())].join(",")}`);
        await late;
      },
      take: async (keys) => {
        const resume = (await resumeStates(a.store.maintenance, new Set(keys))).get("east");
        order.push(`take:${keys.join(",")}:seen ${resume?.seen.length ?? 0}`);
      },
      release: (keys, reason) => {
        order.push(`release:${keys.join(",")}:${reason}`);
      },
    };
    const clusters = new Ownership("clusters", a.rows, host, "a");
    await clusters.reconcile(["east"], ["a"]);
    await a.store.maintenance.recordLiveness([
      { cluster: "east", last_alive_ms: Date.now(), session_id: "s" },
    ]);
    await clusters.drop("fenced");
    late = Bun.sleep(300).then(() => a.store.ingest(triage([e])));
    await clusters.reconcile(["east"], ["a"]);
    expect(order).toEqual([
      "before:east:",
      "take:east:seen 0",
      "release:east:fenced",
      "before:east:east", // still a's row: its late batch is stored, then taken again
      "take:east:seen 1",
    ]);
    expect(await eventRows(url)).toEqual({ "east-p9": 1 });
  }, 30_000);

  test("a replica releasing clusters waits for its own ingest in flight (rows locked in one order: no deadlock)", async () => {
    const url = await freshDatabase();
    const database = new URL(url).pathname.slice(1);
    const a = await replica(url, "a");
    await a.rows.take(["east", "west"]);
    const e = fault("west", "p7", 200);
    const release = await holdHead(url, e);
    const inFlight = a.store.ingest(triage([fault("east", "p8", 300), e]));
    await waitFor("a's batch held in its transaction", async () => (await lockWaiters(database)) === 1);
    let freed = false;
    const releasing = a.rows.release(["west", "east"]).then(() => {
      freed = true;
    });
    await waitFor("the release waiting", async () => (await lockWaiters(database)) === 2);
    expect(freed).toBe(false);
    await release();
    await inFlight;
    await releasing;
    expect(await eventRows(url)).toEqual({ "east-p8": 1, "west-p7": 1 });
    expect((await a.rows.mine()).size).toBe(0);
  }, 30_000);
});
