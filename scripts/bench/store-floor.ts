/**
 * What SQLite itself costs per new incident, without the store's JavaScript: raw inserts on the store's
 * real schema (opened and migrated by `openStoreDatabase`, so the same pragmas), the same rows the
 * store-bench ingests (distinct faults over N clusters, each a new incident and its event), in batches
 * of 4096, one IMMEDIATE transaction each. Each variant takes a fresh database; they run interleaved,
 * `--rounds` times, so a loaded machine moves them alike. Prints one JSON line per variant: µs of
 * process CPU per event, the lowest and the median of the rounds.
 *
 *   bun scripts/bench/store-floor.ts [--events 100000] [--clusters 1000] [--rounds 3]
 *
 * Variants: `store` (the store's two inserts), then the same with one secondary index dropped each, with
 * none at all (the floor of the two rows), and `log` (one append of the event's JSON to a table with no
 * index: what an event log committed first would cost per event).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { eventJson } from "../../src/events/event-json.ts";
import { faultKey } from "../../src/incidents/fault-key.ts";
import { sequencedIncidentId } from "../../src/incidents/id.ts";
import { openStoreDatabase } from "../../src/incidents/open.ts";
import {
  newIncidentInsert,
  newIncidentRow,
  prepareStatements,
  type SqliteIncidentInsert,
} from "../../src/incidents/rows.ts";
import { setLogLevel } from "../../src/log.ts";
import type { SqlDatabase } from "../../src/runtime/sqlite.ts";
import { benchEvents } from "./store-bench.ts";

/** One new incident's two inserts, as the store binds them. */
export interface FloorRow {
  incident: SqliteIncidentInsert;
  event: { incident_seq: number; received_ms: number; event: string };
}

/** The secondary indexes of the hot tables, each dropped by one variant. */
const INDEXES = [
  "incidents_by_cluster",
  "incidents_by_status",
  "incidents_finished_by_age",
  "events_by_incident",
];

/** A variant: SQL run on the fresh database first, and whether only the event log is written. */
interface Variant {
  name: string;
  setup: string;
  log?: boolean;
}

const VARIANTS: Variant[] = [
  { name: "store", setup: "" },
  ...INDEXES.map((index) => ({ name: `without ${index}`, setup: `DROP INDEX ${index};` })),
  { name: "no secondary index", setup: INDEXES.map((index) => `DROP INDEX ${index};`).join("") },
  {
    name: "log",
    setup:
      "CREATE TABLE event_log (id INTEGER PRIMARY KEY, received_ms INTEGER NOT NULL, event TEXT NOT NULL);",
    log: true,
  },
];

/** `events` distinct faults over `clusters` (the store-bench's), each as its new incident's two inserts, `seq` 1 on. */
export function floorRows(events: number, clusters: number): FloorRow[] {
  return benchEvents(events, clusters, 0).map((item, i) => {
    const seq = i + 1;
    const received = Date.parse(item.event.received_at);
    const id = sequencedIncidentId(item.event.cluster, received, seq);
    const row = newIncidentRow(item.event, seq, id, received, received, {
      status: "skipped",
      skip_reason: "no_agent",
    });
    return {
      incident: newIncidentInsert(row, faultKey(row.cluster, row.fault_id)),
      event: { incident_seq: seq, received_ms: received, event: eventJson(item.event) },
    };
  });
}

/** µs of process CPU per event for one variant on a fresh database. */
function runVariant(variant: Variant, rows: readonly FloorRow[]): number {
  const dir = mkdtempSync(join(tmpdir(), "faultline-store-floor-"));
  const { db } = openStoreDatabase(dir, 0);
  try {
    if (variant.setup !== "") db.exec(variant.setup);
    const write = writer(db, variant);
    const cpu = process.cpuUsage();
    for (let i = 0; i < rows.length; i += 4096) {
      const batch = rows.slice(i, i + 4096);
      db.immediate(() => {
        for (const row of batch) write(row);
      });
    }
    const used = process.cpuUsage(cpu);
    return (used.user + used.system) / rows.length;
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function writer(db: SqlDatabase, variant: Variant): (row: FloorRow) => void {
  if (variant.log) {
    const append = db.prepare<never, FloorRow["event"]>(
      "INSERT INTO event_log (received_ms, event) VALUES ($received_ms, $event)",
    );
    return (row) => void append.run(row.event);
  }
  const statements = prepareStatements(db);
  const insertEvent = db.prepare<never, FloorRow["event"]>(
    "INSERT INTO events (incident_seq, received_ms, event) VALUES ($incident_seq, $received_ms, $event)",
  );
  return (row) => {
    statements.insertIncident.run(row.incident);
    insertEvent.run(row.event);
  };
}

function main(argv: string[]): void {
  setLogLevel("warn");
  const { values } = parseArgs({
    args: argv,
    options: { events: { type: "string" }, clusters: { type: "string" }, rounds: { type: "string" } },
    strict: true,
  });
  const rows = floorRows(Number(values.events ?? "100000"), Number(values.clusters ?? "1000"));
  const rounds = Number(values.rounds ?? "3");
  const results = new Map<string, number[]>(VARIANTS.map((variant) => [variant.name, []]));
  runVariant(VARIANTS[0] as Variant, rows.slice(0, 10_000)); // warm-up
  for (let round = 0; round < rounds; round++) {
    for (const variant of VARIANTS) results.get(variant.name)?.push(runVariant(variant, rows));
  }
  for (const [name, us] of results) {
    const sorted = [...us].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
    console.log(
      JSON.stringify({ variant: name, us_min: round2(sorted[0] ?? Number.NaN), us_median: round2(median) }),
    );
  }
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

if (import.meta.main) main(process.argv.slice(2));
