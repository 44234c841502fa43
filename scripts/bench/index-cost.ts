/**
 * What a steady rate's incident builds cost the SQLite store, and how much of it an index written at
 * random places takes: every new incident adds an entry to it at a place of its own, so each build of a
 * steady rate's ~50 incidents dirties about one page of it per incident, and every dirtied page is
 * written to the WAL at the commit and again by the checkpoint. Side by side in one run, each on a fresh
 * database made by the store's own migrations and written with the store's own statements
 * (`prepareStatements`): `fault_key_index`, the schema before version 11 (every incident in a dedup index
 * by fault key; the dedup window now spills only what it drops to `dedup_spill`); `today`; `no_cluster`,
 * without `incidents_by_cluster` too (what it costs, not a proposal: `GET /incidents?cluster=` and the
 * restart backfill read it); and `deferred`, that index partial (`WHERE indexed = 1`), new incidents
 * entering it later in big batches ("flips", as an LSM merges), which a builder off the main thread
 * could do without stalling the event path.
 * `store-floor.ts` measures the same inserts in a burst's transactions of 4096, where each index page is
 * written once for many entries; this is the steady rate's case, where it is written for about one.
 *
 *   bun scripts/bench/index-cost.ts [--preload 60000] [--builds 400] [--per-build 50] [--clusters 100]
 *                                   [--flip 2000] [--json]
 *
 * Per variant: CPU µs per incident (all threads: the process's), wall µs per incident in the inserts,
 * the commits, the checkpoints (one every 5 builds: every 250 ms at 20 builds a second, as the store's
 * checkpoint thread) and the flips, and the longest single write (ms): what a build on the event path's
 * thread would hold it for.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { openStoreDatabase } from "../../src/incidents/open.ts";
import { prepareStatements } from "../../src/incidents/rows.ts";
import { setLogLevel } from "../../src/log.ts";
import type { SqlDatabase } from "../../src/runtime/sqlite.ts";
import { type FloorRow, floorRows } from "./store-floor.ts";

/** The schema variants measured, in the order printed. */
export const INDEX_VARIANTS = ["fault_key_index", "today", "no_cluster", "deferred"] as const;
/** One of {@link INDEX_VARIANTS}. */
export type IndexVariant = (typeof INDEX_VARIANTS)[number];

/** What one variant measured. */
export interface IndexCostResult {
  variant: IndexVariant;
  /** CPU µs per incident built (the process: every thread). */
  cpu_us: number;
  /** Wall µs per incident: the statements, the commits, the checkpoints, the flips. */
  insert_us: number;
  commit_us: number;
  checkpoint_us: number;
  flip_us: number;
  /** The longest single write transaction (ms). */
  longest_write_ms: number;
}

/** The run's settings. */
export interface IndexCostOptions {
  preload: number;
  builds: number;
  perBuild: number;
  clusters: number;
  /** `deferred`: incidents entered into the partial indexes per flip. */
  flip: number;
}

const CHECKPOINT_EVERY_BUILDS = 5;

/**
 * Turns the migrated schema into `variant` (after the preload, so the rows already there are indexed).
 *
 * @example
 * ```ts
 * applyIndexVariant(db, "deferred"); // both indexes partial: WHERE indexed = 1
 * ```
 */
export function applyIndexVariant(db: SqlDatabase, variant: IndexVariant): void {
  const ddl = variantDdl(variant);
  if (ddl !== "") db.exec(ddl);
}

function variantDdl(variant: IndexVariant): string {
  switch (variant) {
    case "fault_key_index":
      // Before schema version 11: every incident in a dedup index by fault key.
      return "CREATE INDEX incidents_by_fault_key ON incidents (fault_key);";
    case "today":
      return "";
    case "no_cluster":
      return "DROP INDEX incidents_by_cluster;";
    case "deferred":
      return `DROP INDEX incidents_by_cluster;
        ALTER TABLE incidents ADD COLUMN indexed INTEGER NOT NULL DEFAULT 0;
        UPDATE incidents SET indexed = 1;
        CREATE INDEX incidents_by_cluster ON incidents (cluster, seq) WHERE indexed = 1;`;
  }
}

/** Records `rows` as new incidents with the store's statements (no transaction of its own), counted as the store counts. */
function insertIncidents(statements: ReturnType<typeof prepareStatements>, rows: readonly FloorRow[]): void {
  const counts = new Map<string, number>();
  for (const row of rows) {
    statements.insertIncident.run(row.incident);
    statements.insertEvent.run(row.event);
    counts.set(row.incident.cluster, (counts.get(row.incident.cluster) ?? 0) + 1);
  }
  for (const [cluster, n] of counts) {
    statements.countIncidents.run({ cluster, status: "skipped", skip_reason: "no_agent", n });
  }
}

/** Runs `work` in a write transaction; the wall ms of the statements and of the commit. */
function write(db: SqlDatabase, work: () => void): { work: number; commit: number } {
  const started = performance.now();
  db.exec("BEGIN IMMEDIATE");
  work();
  const worked = performance.now();
  db.exec("COMMIT");
  return { work: worked - started, commit: performance.now() - worked };
}

/** Measures one variant on a fresh database. */
export function measureIndexCost(
  variant: IndexVariant,
  options: IndexCostOptions,
  preload: readonly FloorRow[],
  load: readonly FloorRow[],
): IndexCostResult {
  const dir = mkdtempSync(join(tmpdir(), "faultline-index-cost-"));
  const { db } = openStoreDatabase(dir, 0);
  try {
    const statements = prepareStatements(db);
    for (let i = 0; i < preload.length; i += 4096) {
      write(db, () => insertIncidents(statements, preload.slice(i, i + 4096)));
    }
    applyIndexVariant(db, variant);
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    const flip =
      variant === "deferred"
        ? db.prepare<never, { from: number; to: number }>(
            "UPDATE incidents SET indexed = 1 WHERE seq > $from AND seq <= $to",
          )
        : null;
    const spent = { insert: 0, commit: 0, checkpoint: 0, flip: 0, longest: 0 };
    let flipped = preload.length;
    const cpu = process.cpuUsage();
    for (let b = 0; b < options.builds; b++) {
      const rows = load.slice(b * options.perBuild, (b + 1) * options.perBuild);
      const took = write(db, () => insertIncidents(statements, rows));
      const built = preload.length + (b + 1) * options.perBuild;
      spent.insert += took.work;
      spent.commit += took.commit;
      spent.longest = Math.max(spent.longest, took.work + took.commit);
      if (flip !== null && built - flipped >= options.flip) {
        const from = flipped;
        const flipTook = write(db, () => flip.run({ from, to: from + options.flip }));
        flipped += options.flip;
        spent.flip += flipTook.work + flipTook.commit;
        spent.longest = Math.max(spent.longest, flipTook.work + flipTook.commit);
      }
      if (b % CHECKPOINT_EVERY_BUILDS === CHECKPOINT_EVERY_BUILDS - 1) {
        const started = performance.now();
        db.exec("PRAGMA wal_checkpoint(PASSIVE)");
        spent.checkpoint += performance.now() - started;
      }
    }
    const used = process.cpuUsage(cpu);
    const incidents = options.builds * options.perBuild;
    const perIncident = (ms: number) => Math.round((ms * 1000 * 100) / incidents) / 100;
    return {
      variant,
      cpu_us: Math.round(((used.user + used.system) * 100) / incidents) / 100,
      insert_us: perIncident(spent.insert),
      commit_us: perIncident(spent.commit),
      checkpoint_us: perIncident(spent.checkpoint),
      flip_us: perIncident(spent.flip),
      longest_write_ms: Math.round(spent.longest * 100) / 100,
    };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function parseOptions(argv: string[]): (IndexCostOptions & { json: boolean }) | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      preload: { type: "string", default: "60000" },
      builds: { type: "string", default: "400" },
      "per-build": { type: "string", default: "50" },
      clusters: { type: "string", default: "100" },
      flip: { type: "string", default: "2000" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return null;
  const count = (name: string, text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got "${text}"`);
    return n;
  };
  return {
    preload: count("preload", values.preload),
    builds: count("builds", values.builds),
    perBuild: count("per-build", values["per-build"]),
    clusters: count("clusters", values.clusters),
    flip: count("flip", values.flip),
    json: values.json,
  };
}

if (import.meta.main) {
  setLogLevel("warn");
  const options = parseOptions(process.argv.slice(2));
  if (options === null) {
    console.log(
      "Usage: bun scripts/bench/index-cost.ts [--preload 60000] [--builds 400] [--per-build 50] [--clusters 100] [--flip 2000] [--json]",
    );
  } else {
    const rows = floorRows(options.preload + options.builds * options.perBuild, options.clusters);
    const preload = rows.slice(0, options.preload);
    const load = rows.slice(options.preload);
    const results = INDEX_VARIANTS.map((variant) => measureIndexCost(variant, options, preload, load));
    if (options.json) console.log(JSON.stringify({ options, results }));
    else {
      console.log(
        `${options.builds} builds of ${options.perBuild} new incidents over ${options.clusters} clusters, after ${options.preload}; deferred flips ${options.flip}`,
      );
      console.log("variant        CPU µs/inc  insert  commit  checkpoint  flip  longest write ms");
      for (const r of results) {
        console.log(
          `${r.variant.padEnd(14)} ${String(r.cpu_us).padStart(10)}  ${String(r.insert_us).padStart(6)}  ${String(r.commit_us).padStart(6)}  ${String(r.checkpoint_us).padStart(10)}  ${String(r.flip_us).padStart(4)}  ${String(r.longest_write_ms).padStart(16)}`,
        );
      }
    }
  }
}
