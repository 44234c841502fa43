/**
 * The incident stores measured side by side (issue 15, docs/ha-design.md): durable ingest on the SQLite
 * store (`state_dir`) and on the PostgreSQL store (a throw-away local server, tests/helpers/postgres.ts),
 * the same events in the same batches; two PostgreSQL replicas ingesting the same faults at once (one
 * incident per fault, exact counts); and the claim rate, 1 SQLite process against 1 and 3 concurrent
 * PostgreSQL claimers, each incident claimed exactly once.
 *
 *   bun scripts/bench-pg.ts [--events N] [--faults N] [--no-fsync]
 *
 * PostgreSQL keeps its durable defaults (fsync, synchronous commit) unless `--no-fsync`. Prints figures;
 * they come from whatever machine runs it, so read them as ranges.
 */
import { parseArgs } from "node:util";
import postgres from "postgres";
import type { FaultEvent } from "../src/events/fault.ts";
import type { IngestItem } from "../src/incidents/model.ts";
import { PostgresStore } from "../src/incidents/pg/store.ts";
import { SqliteStore } from "../src/incidents/store.ts";
import type { IncidentStore } from "../src/incidents/store-api.ts";
import { startPostgres } from "../tests/helpers/postgres.ts";
import { tempDir } from "../tests/helpers/tmp.ts";
import { claimAll } from "../tests/incidents/contract/fixtures.ts";

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "51200" },
    faults: { type: "string", default: "5000" },
    "no-fsync": { type: "boolean", default: false },
  },
});
const EVENTS = Number(values.events);
const FAULTS = Number(values.faults);
const BATCH = 512; // the sink's batch size
const CLUSTERS = 1000;
const OPTIONS = { maxQueue: 10_000_000, dedupWindowSeconds: 3600 };

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

async function ingestAll(store: IncidentStore, items: readonly IngestItem[]): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < items.length; i += BATCH) await store.ingest(items.slice(i, i + BATCH));
  return performance.now() - t;
}

async function claimFigures(label: string, stores: IncidentStore[]): Promise<void> {
  const t = performance.now();
  const got = await Promise.all(stores.map((store) => claimAll(store)));
  const ms = performance.now() - t;
  const all = got.flat();
  console.log(
    `${label} claim ${all.length} queued incidents, ${stores.length} claimer(s) ${JSON.stringify(got.map((g) => g.length))}: ${rate(all.length, ms)}; each claimed once: ${new Set(all).size === all.length}`,
  );
}

async function sqliteFigures(items: readonly IngestItem[]): Promise<void> {
  const dir = tempDir("faultline-bench-sqlite-");
  try {
    const store = SqliteStore.open(dir.path, OPTIONS);
    const ms = await ingestAll(store, items);
    console.log(`sqlite   ingest ${items.length} events: ${rate(items.length, ms)} (batches of ${BATCH})`);
    await claimFigures("sqlite  ", [store]);
    store.close();
  } finally {
    dir.cleanup();
  }
}

async function postgresFigures(items: readonly IngestItem[]): Promise<void> {
  const durable = !values["no-fsync"];
  const pg = await startPostgres({ durable });
  const admin = postgres(pg.url, { max: 1, onnotice: () => {} });
  let databases = 0;
  let lastUrl = "";
  /** A fresh database; `n` stores on it (replicas). */
  const replicas = async (n: number): Promise<PostgresStore[]> => {
    const name = `bench_${++databases}`;
    await admin.unsafe(`CREATE DATABASE ${name}`);
    const url = pg.url.replace(/\/postgres$/, `/${name}`);
    lastUrl = url;
    const stores: PostgresStore[] = [];
    for (let i = 0; i < n; i++) stores.push(await PostgresStore.open({ ...OPTIONS, url, replica: `r${i}` }));
    return stores;
  };
  const mode = durable ? "fsync on, synchronous_commit on" : "fsync off";
  try {
    const [one] = await replicas(1);
    if (one === undefined) throw new Error("no store");
    const ms = await ingestAll(one, items);
    console.log(`postgres ingest ${items.length} events: ${rate(items.length, ms)} (${mode}, 1 writer)`);
    await claimFigures("postgres", [one]);
    await one.close();

    const three = await replicas(3);
    await ingestAll(three[0] as PostgresStore, items);
    await claimFigures("postgres", three);

    // Two replicas ingest the same faults at the same moment (a hand-over): one incident per fault.
    const two = await replicas(2);
    const overlap = items.slice(0, Math.min(items.length, 4 * FAULTS));
    const t = performance.now();
    await Promise.all(two.map((store) => ingestAll(store, overlap)));
    const concurrentMs = performance.now() - t;
    const check = postgres(lastUrl, { max: 1, onnotice: () => {} });
    const [totals] = await check<{ incidents: number; faults: number; events: number; counted: number }[]>`
      SELECT (SELECT count(*) FROM incidents)::int AS incidents,
             (SELECT count(DISTINCT (cluster, fault_id)) FROM incidents)::int AS faults,
             (SELECT count(*) FROM events)::int AS events,
             (SELECT sum(count) FROM incidents)::int AS counted`;
    await check.end({ timeout: 5 });
    console.log(
      `postgres 2 replicas ingest the same ${overlap.length} events at once: ${rate(2 * overlap.length, concurrentMs)}; ` +
        `incidents ${totals?.incidents} for ${totals?.faults} faults, events ${totals?.events}, counted ${totals?.counted}`,
    );
    for (const store of [...three, ...two]) await store.close();
  } finally {
    await admin.end({ timeout: 5 });
    await pg.stop();
  }
}

const start = Date.parse("2026-11-25T03:00:00Z");
const items: IngestItem[] = Array.from({ length: EVENTS }, (_, i) => ({
  event: eventAt(i, start),
  decision: { action: "triage" },
}));
console.log(`${EVENTS} events over ${FAULTS} faults of ${CLUSTERS} clusters, batches of ${BATCH}`);
await sqliteFigures(items);
await postgresFigures(items);
