/**
 * Groundwork measurements for issue 15 (docs/ha-design.md): the SQLite store's ingest and claim rates
 * against a prototype of the PostgreSQL schema on a throw-away local server (tests/helpers/postgres.ts),
 * and a check that two "replicas" ingesting the same faults at once make one incident per fault (the
 * `fault_heads` unique key and upsert the design proposes).
 *
 *   bun scripts/bench-pg.ts [--events N] [--faults N] [--durable]
 *
 * `--durable` keeps PostgreSQL's fsync and synchronous commit on (the default turns both off, like the
 * harness's tests). The prototype's SQL is the design's, not faultline's: it lives here until the
 * PostgreSQL store exists.
 */
import { createHash } from "node:crypto";
import { parseArgs } from "node:util";
import postgres from "postgres";
import type { FaultEvent } from "../src/events/fault.ts";
import { SqliteStore } from "../src/incidents/store.ts";
import { startPostgres } from "../tests/helpers/postgres.ts";
import { tempDir } from "../tests/helpers/tmp.ts";

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "51200" },
    faults: { type: "string", default: "5000" },
    durable: { type: "boolean", default: false },
  },
});
const EVENTS = Number(values.events);
const FAULTS = Number(values.faults);
const BATCH = 512; // the sink's batch size
const CLUSTERS = 1000;
const WINDOW_MS = 3_600_000;

/** The i-th event: fault `i % FAULTS` of cluster `fault % CLUSTERS`, one ms after the previous. */
function eventAt(i: number, start: number): FaultEvent {
  const fault = i % FAULTS;
  const at = new Date(start + i).toISOString();
  return {
    cluster: `c${fault % CLUSTERS}`,
    labels: {},
    fault_id: `f${fault}`,
    fault_type: "CrashLoop",
    severity: "critical",
    context: "back-off restarting failed container",
    timestamp: at,
    received_at: at,
    raw: {},
    resource: { apiVersion: "v1", kind: "Pod", name: `p${fault}`, namespace: "shop", uid: null },
  };
}

function rate(count: number, ms: number): string {
  return `${Math.round((count / ms) * 1000).toLocaleString("en")}/s`;
}

async function sqliteFigures(events: FaultEvent[]): Promise<void> {
  const dir = tempDir("faultline-bench-sqlite-");
  try {
    const store = SqliteStore.open(dir.path, { maxQueue: 1_000_000 });
    let t = performance.now();
    for (let i = 0; i < events.length; i += BATCH) {
      store.ingest(events.slice(i, i + BATCH).map((event) => ({ event, decision: { action: "triage" } })));
    }
    const ingestMs = performance.now() - t;
    t = performance.now();
    let claimed = 0;
    for (let next = store.nextQueued(); next !== null; next = store.nextQueued()) {
      store.markRunning(next.id, `/tmp/ws/${next.id}`);
      claimed++;
    }
    const claimMs = performance.now() - t;
    store.close();
    console.log(
      `sqlite   ingest ${events.length} events: ${rate(events.length, ingestMs)} (batches of ${BATCH})`,
    );
    console.log(`sqlite   claim ${claimed} queued incidents, 1 process: ${rate(claimed, claimMs)}`);
  } finally {
    dir.cleanup();
  }
}

const SCHEMA = `
CREATE SEQUENCE incident_seq;
CREATE TABLE incidents (
  seq bigint PRIMARY KEY, cluster text NOT NULL, fault_id text NOT NULL, severity text NOT NULL,
  status text NOT NULL, count integer NOT NULL, first_seen_ms bigint NOT NULL, last_seen_ms bigint NOT NULL,
  claimed_by text);
CREATE INDEX incidents_queued ON incidents (seq) WHERE status = 'queued';
CREATE TABLE fault_heads (
  cluster text NOT NULL, fault_id text NOT NULL, incident_seq bigint NOT NULL, last_seen_ms bigint NOT NULL,
  PRIMARY KEY (cluster, fault_id));
CREATE TABLE events (id bigserial PRIMARY KEY, incident_seq bigint NOT NULL, received_ms bigint NOT NULL,
  event jsonb NOT NULL);
CREATE INDEX events_by_incident ON events (incident_seq, id);`;

/**
 * One event, one statement: the (cluster, fault_id) head row decides, under its row lock, whether the
 * event joins the fault's incident (seen within the window) or starts one with a new sequence number.
 * The incident row is itself written by an upsert on its key: a plain UPDATE in the same statement
 * reads the statement's snapshot, which misses an incident another replica committed while this
 * statement waited for the head's lock (measured: one count lost in 40,000).
 */
function ingestOne(sql: postgres.TransactionSql, event: FaultEvent, received: number) {
  return sql`
    WITH candidate AS (SELECT nextval('incident_seq') AS seq),
    head AS (
      INSERT INTO fault_heads (cluster, fault_id, incident_seq, last_seen_ms)
      SELECT ${event.cluster}, ${event.fault_id}, seq, ${received} FROM candidate
      ON CONFLICT (cluster, fault_id) DO UPDATE SET
        incident_seq = CASE WHEN fault_heads.last_seen_ms >= ${received - WINDOW_MS}
                            THEN fault_heads.incident_seq ELSE excluded.incident_seq END,
        last_seen_ms = GREATEST(fault_heads.last_seen_ms, excluded.last_seen_ms)
      RETURNING incident_seq),
    incident AS (
      INSERT INTO incidents (seq, cluster, fault_id, severity, status, count, first_seen_ms, last_seen_ms)
      SELECT incident_seq, ${event.cluster}, ${event.fault_id}, ${event.severity}, 'queued', 1, ${received}, ${received}
      FROM head
      ON CONFLICT (seq) DO UPDATE SET
        count = incidents.count + 1, last_seen_ms = GREATEST(incidents.last_seen_ms, excluded.last_seen_ms))
    INSERT INTO events (incident_seq, received_ms, event)
    SELECT incident_seq, ${received}, ${sql.json(event as unknown as postgres.JSONValue)} FROM head`;
}

async function ingestAll(sql: postgres.Sql, events: readonly FaultEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += BATCH) {
    const batch = events.slice(i, i + BATCH);
    await sql.begin((tx) => batch.map((event) => ingestOne(tx, event, Date.parse(event.received_at))));
  }
}

/** Claims one queued incident (oldest first) for `replica`; false when none is left. */
async function claimOne(sql: postgres.Sql, replica: string): Promise<boolean> {
  const rows = await sql`
    UPDATE incidents SET status = 'running', claimed_by = ${replica}
    WHERE seq = (SELECT seq FROM incidents WHERE status = 'queued' ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING seq`;
  return rows.length > 0;
}

async function postgresFigures(events: FaultEvent[]): Promise<void> {
  const pg = await startPostgres({ durable: values.durable });
  const replicas = [0, 1, 2].map(() => postgres(pg.url, { max: 4, onnotice: () => {} }));
  const [sql, second] = replicas as [postgres.Sql, postgres.Sql, postgres.Sql];
  const reset = async () => {
    await sql.unsafe(
      `DROP TABLE IF EXISTS incidents, fault_heads, events; DROP SEQUENCE IF EXISTS incident_seq;`,
    );
    await sql.unsafe(SCHEMA);
  };
  const mode = values.durable ? "fsync on, synchronous_commit on" : "fsync off, synchronous_commit off";
  try {
    await reset();
    let t = performance.now();
    await ingestAll(sql, events);
    const ingestMs = performance.now() - t;
    console.log(
      `postgres ingest ${events.length} events: ${rate(events.length, ingestMs)} (${mode}, 1 writer)`,
    );
    for (const claimers of [1, 3]) {
      await sql`UPDATE incidents SET status = 'queued', claimed_by = NULL`;
      t = performance.now();
      const counts = await Promise.all(
        replicas.slice(0, claimers).map(async (client, index) => {
          let n = 0;
          while (await claimOne(client, `r${index}`)) n++;
          return n;
        }),
      );
      const total = counts.reduce((a, b) => a + b, 0);
      const [check] = await sql<
        { n: number }[]
      >`SELECT count(*)::int AS n FROM incidents WHERE status = 'running'`;
      console.log(
        `postgres claim ${total} queued incidents, ${claimers} replica(s) ${JSON.stringify(counts)}: ${rate(total, performance.now() - t)}; running rows ${check?.n} (each claimed once: ${check?.n === total})`,
      );
    }
    // Two replicas ingest the same faults at the same moment (a hand-over): one incident per fault.
    await reset();
    const overlap = events.slice(0, Math.min(events.length, 4 * FAULTS));
    t = performance.now();
    await Promise.all([ingestAll(sql, overlap), ingestAll(second, overlap)]);
    const concurrentMs = performance.now() - t;
    const [dedup] = await sql<{ incidents: number; faults: number; events: number; counted: number }[]>`
      SELECT (SELECT count(*)::int FROM incidents) AS incidents,
             (SELECT count(*)::int FROM fault_heads) AS faults,
             (SELECT count(*)::int FROM events) AS events,
             (SELECT sum(count)::int FROM incidents) AS counted`;
    console.log(
      `postgres 2 replicas ingest the same ${overlap.length} events at once: ${rate(2 * overlap.length, concurrentMs)}; ` +
        `incidents ${dedup?.incidents} for ${dedup?.faults} faults, events ${dedup?.events}, counted ${dedup?.counted}`,
    );
  } finally {
    await Promise.all(replicas.map((client) => client.end({ timeout: 5 })));
    await pg.stop();
  }
}

/** Rendezvous (highest random weight) owner of `cluster` among `replicas`. */
function rendezvousOwner(cluster: string, replicas: readonly string[]): string {
  let best = "";
  let bestWeight = -1n;
  for (const replica of replicas) {
    const weight = createHash("sha256").update(`${replica}\0${cluster}`).digest().readBigUInt64BE(0);
    if (weight > bestWeight) [best, bestWeight] = [replica, weight];
  }
  return best;
}

/** How many of 1000 clusters change owner when the replica set changes: rendezvous hashing against modulo. */
function ownershipFigures(): void {
  const clusters = Array.from({ length: CLUSTERS }, (_, i) => `cluster-${i}`);
  const modulo = (cluster: string, replicas: readonly string[]) =>
    replicas[createHash("sha256").update(cluster).digest().readUInt32BE(0) % replicas.length] ?? "";
  const moved = (owner: typeof modulo, before: string[], after: string[]) =>
    clusters.filter((c) => owner(c, before) !== owner(c, after)).length;
  const three = ["faultline-0", "faultline-1", "faultline-2"];
  const shares = new Map<string, number>();
  for (const c of clusters)
    shares.set(rendezvousOwner(c, three), (shares.get(rendezvousOwner(c, three)) ?? 0) + 1);
  console.log(
    `ownership 3 replicas x ${CLUSTERS} clusters, rendezvous shares: ${[...shares.values()].join(" / ")}`,
  );
  for (const [what, before, after] of [
    ["a 4th joins", three, [...three, "faultline-3"]],
    ["one of 3 leaves", three, three.slice(0, 2)],
  ] as const) {
    console.log(
      `ownership ${what}: rendezvous moves ${moved(rendezvousOwner, [...before], [...after])}, modulo moves ${moved(modulo, [...before], [...after])}`,
    );
  }
}

const start = Date.parse("2026-11-25T03:00:00Z");
const events = Array.from({ length: EVENTS }, (_, i) => eventAt(i, start));
ownershipFigures();
console.log(`${EVENTS} events over ${FAULTS} faults of ${CLUSTERS} clusters`);
await sqliteFigures(events);
await postgresFigures(events);
