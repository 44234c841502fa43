/**
 * Retention at scale: fills a store with N events (default 1,000,000: 10 per incident, half of the
 * incidents finished and 40 days old, the rest 5 days old, plus old queued ones that must stay), then
 * measures what an operator cares about: the database size, converting an existing database to
 * incremental vacuum (the one-time VACUUM), the prune itself, and the size afterwards.
 *
 *   bun scripts/bench-retention.ts [--events N] [--json FILE]
 */
import { mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { FaultEvent } from "../src/events/fault.ts";
import type { IngestItem } from "../src/incidents/model.ts";
import { DB_FILE } from "../src/incidents/open.ts";
import { Retention } from "../src/incidents/retention.ts";
import { migrate } from "../src/incidents/schema.ts";
import { SqliteStore } from "../src/incidents/store.ts";
import { setLogLevel } from "../src/log.ts";
import { openSqlite } from "../src/runtime/sqlite.ts";

const PER_INCIDENT = 10;
const DAY = 86_400_000;
const NOW = Date.parse("2026-11-25T12:00:00.000Z");

/**
 * Creates `<stateDir>/faultline.db` as faultline wrote it before retention existed: the current schema,
 * WAL, and no incremental auto-vacuum (what retention converts once).
 */
export function createLegacyDatabase(stateDir: string): void {
  mkdirSync(stateDir, { recursive: true });
  const legacy = openSqlite(join(stateDir, DB_FILE));
  legacy.exec("PRAGMA journal_mode = WAL");
  migrate(legacy);
  legacy.close();
}

/** A realistic fault: about the size of a nested CrashLoop with its event as `raw`. */
function fault(incident: number, repeat: number, at: number): FaultEvent {
  const name = `api-${incident.toString(36)}-7f9c${repeat}`;
  const when = new Date(at).toISOString();
  return {
    cluster: `cluster-${incident % 20}`,
    labels: { region: "eu-west-1", team: "payments" },
    fault_id: `fault-${incident}`,
    fault_type: "CrashLoop",
    severity: "warning",
    resource: { apiVersion: "v1", kind: "Pod", name, namespace: "shop", uid: null },
    context: `Back-off restarting failed container app in pod ${name}_shop(3f1c0d4e-${incident})`,
    timestamp: when,
    received_at: when,
    raw: {
      InvolvedObject: { Kind: "Pod", Name: name, apiVersion: "v1" },
      Message: `Back-off restarting failed container app in pod ${name}`,
      Namespace: "shop",
      Reason: "BackOff",
      Timestamp: when,
      Type: "Warning",
    },
  };
}

/** Bytes of the database and its WAL. */
function sizeOf(stateDir: string): number {
  const size = (file: string) => {
    try {
      return statSync(join(stateDir, file)).size;
    } catch {
      return 0;
    }
  };
  return size(DB_FILE) + size(`${DB_FILE}-wal`);
}

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

async function main(dir: string, EVENTS: number, jsonFile: string | undefined): Promise<void> {
  const stateDir = join(dir, "state");
  createLegacyDatabase(stateDir);
  let clock = NOW;
  const store = SqliteStore.open(stateDir, { now: () => new Date(clock), maxQueue: 1_000_000 });
  const incidents = Math.ceil(EVENTS / PER_INCIDENT);
  const fillStart = performance.now();
  let written = 0;
  // Old incidents first (the store's clock 40 days back, so their last change is old too), then recent ones.
  for (const old of [true, false]) {
    let batch: IngestItem[] = [];
    for (let i = old ? 0 : 1; i < incidents; i += 2) {
      const queued = old && i % 100 === 0; // old but still waiting for an agent: must stay
      const base = NOW - (old ? 40 : 5) * DAY + i * 10;
      const decision = queued
        ? { action: "triage" as const }
        : { action: "skip" as const, reason: "no_agent" as const };
      for (let r = 0; r < PER_INCIDENT && written < EVENTS; r++, written++) {
        batch.push({ event: fault(i, r, base + r), decision });
      }
      if (batch.length >= 512 || i + 2 >= incidents) {
        clock = base;
        store.ingest(batch);
        batch = [];
      }
    }
  }
  store.maintenance.file.checkpoint();
  const fillSeconds = (performance.now() - fillStart) / 1000;
  const before = sizeOf(stateDir);

  const convertStart = performance.now();
  store.maintenance.file.enableIncrementalVacuum();
  const convertSeconds = (performance.now() - convertStart) / 1000;
  const converted = sizeOf(stateDir);

  const retention = new Retention({ store, stateDir, days: () => 30, now: () => new Date(NOW) });
  const report = await retention.run();
  const after = sizeOf(stateDir);
  const left = store.list({ limit: 1000 }).length;
  const queuedLeft = store.queueDepth();
  store.close();

  const result = {
    events: EVENTS,
    incidents,
    fill_seconds: Math.round(fillSeconds * 10) / 10,
    size_mb_before: mb(before),
    vacuum_conversion_seconds: Math.round(convertSeconds * 100) / 100,
    size_mb_after_conversion: mb(converted),
    prune: report,
    prune_seconds: (report?.duration_ms ?? 0) / 1000,
    size_mb_after_prune: mb(after),
    queued_kept: queuedLeft,
    incidents_listed_after: left,
  };
  console.log(
    [
      `events: ${EVENTS.toLocaleString("en")} in ${incidents.toLocaleString("en")} incidents (filled in ${result.fill_seconds} s)`,
      `database size: ${result.size_mb_before} MB`,
      `one-time conversion to incremental vacuum (VACUUM): ${result.vacuum_conversion_seconds} s → ${result.size_mb_after_conversion} MB`,
      `prune of ${report?.events.toLocaleString("en")} events / ${report?.incidents.toLocaleString("en")} incidents older than 30 days: ${result.prune_seconds} s (reclaimed ${mb(report?.reclaimed_bytes ?? 0)} MB)`,
      `database size after: ${result.size_mb_after_prune} MB; queued incidents kept: ${queuedLeft}`,
    ].join("\n"),
  );
  if (jsonFile) writeFileSync(jsonFile, `${JSON.stringify(result, null, 2)}\n`);
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { events: { type: "string", default: "1000000" }, json: { type: "string" } },
  });
  setLogLevel("warn");
  const dir = join(tmpdir(), `faultline-bench-retention-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  try {
    await main(dir, Number(values.events), values.json);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
