/**
 * Reads a chaos run back from its directory: the ledgers, the agent's record and faultline's store
 * (SQLite, read-only; replica mode: the PostgreSQL snapshot `store.json`). With `selfCheck`, one stored
 * fault is deleted from what was read,
 * and a second completed run of another fault's agent is added to the record (the files stay untouched):
 * counting that data must report one lost fault and one double run.
 */
import { Database } from "bun:sqlite";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DB_FILE } from "../../src/incidents/open.ts";
import { type AgentRecord, agentExecutions, readAgentRecords } from "./agent.ts";
import {
  type ActionRecord,
  type ReturnRecord,
  RUN_FILES,
  type RunMeta,
  readJsonLines,
  readMeta,
  type SentFault,
} from "./ledger.ts";

/** An incident as the harness reads it from the store. */
export interface StoredIncident {
  seq: number;
  id: string;
  cluster: string;
  /** The fault's resource name (from the incident's `resource`). */
  name: string;
  status: string;
}

/** An agent run as the store recorded it. */
export interface StoredRun {
  incident_seq: number;
  status: string;
  /** When the run was claimed, or (once its outcome is recorded) when its agent started (epoch ms). */
  started_ms?: number;
  /** When its outcome was recorded, or when it was settled as interrupted; null while open. */
  finished_ms?: number | null;
  /** The replica that ran it (replica mode; older snapshots and SQLite: absent or null). */
  replica?: string | null;
}

/** Everything a chaos run left, loaded. */
export interface LoadedRun {
  meta: RunMeta;
  sent: SentFault[];
  returns: ReturnRecord[];
  actions: ActionRecord[];
  agentRecords: AgentRecord[];
  incidents: StoredIncident[];
  runs: StoredRun[];
  /** Incidents holding more than one event row. */
  multiEventIncidents: StoreSnapshot["multi_event_incidents"];
  /** With `selfCheck`: what was tampered with. */
  selfCheck: { deleted: string | null; duplicated: string | null } | null;
}

/** What the analysis reads of faultline's store (replica mode: `store.json`, a snapshot of PostgreSQL). */
export interface StoreSnapshot {
  incidents: StoredIncident[];
  runs: StoredRun[];
  /** Incidents holding more than one event row (each fault is sent once: a second row is a duplicate). */
  multi_event_incidents: Array<{ incident_seq: number; events: number }>;
}

/** Reads the SQLite store of a single-process run (read-only). */
function readSqliteStore(file: string): StoreSnapshot {
  const db = new Database(file, { readonly: true });
  try {
    return {
      incidents: db
        .query<StoredIncident, []>(
          "SELECT seq, id, cluster, json_extract(resource, '$.name') AS name, status FROM incidents ORDER BY seq",
        )
        .all(),
      runs: db
        .query<StoredRun, []>(
          "SELECT incident_seq, status, started_ms, finished_ms, NULL AS replica FROM runs ORDER BY id",
        )
        .all(),
      multi_event_incidents: db
        .query<StoreSnapshot["multi_event_incidents"][number], []>(
          "SELECT incident_seq, count(*) AS events FROM events GROUP BY incident_seq HAVING count(*) > 1",
        )
        .all(),
    };
  } finally {
    db.close();
  }
}

/** Removes, from `store`, the incident of the first fault sent to a live subscription that was stored. */
function deleteOneStoredFault(store: StoreSnapshot, sent: readonly SentFault[]): string | null {
  for (const fault of sent) {
    if (!fault.faultline_up || !fault.delivered) continue;
    const incident = store.incidents.find((i) => i.cluster === fault.cluster && i.name === fault.name);
    if (!incident) continue;
    store.incidents = store.incidents.filter((i) => i !== incident);
    store.runs = store.runs.filter((r) => r.incident_seq !== incident.seq);
    store.multi_event_incidents = store.multi_event_incidents.filter((m) => m.incident_seq !== incident.seq);
    return fault.name;
  }
  return null;
}

/** Appends a second completed execution of the first stored incident whose agent completed; returns its fault. */
function duplicateOneCompletedRun(
  records: AgentRecord[],
  incidents: readonly StoredIncident[],
): string | null {
  const known = new Map(incidents.map((incident) => [incident.id, incident]));
  const completed = agentExecutions(records).find((e) => e.ended === "end" && known.has(e.incident));
  if (!completed) return null;
  const last = records.reduce((max, record) => Math.max(max, record.at_ms), 0);
  records.push(
    { step: "start", incident: completed.incident, pid: 0, at_ms: last + 1 },
    { step: "end", incident: completed.incident, pid: 0, at_ms: last + 2 },
  );
  return known.get(completed.incident)?.name ?? null;
}

/**
 * Loads the run kept in `dir`.
 *
 * @example
 * ```ts
 * const report = analyzeRun(loadRun("/tmp/chaos-run", false));
 * ```
 */
export function loadRun(dir: string, selfCheck: boolean): LoadedRun {
  const meta = readMeta(dir);
  const sent = readJsonLines<SentFault>(join(dir, RUN_FILES.sent)).sort((a, b) => a.seq - b.seq);
  const agentRecords = readAgentRecords(join(dir, RUN_FILES.agentRuns));
  const store: StoreSnapshot = meta.replicas
    ? (JSON.parse(readFileSync(join(dir, RUN_FILES.store), "utf8")) as StoreSnapshot)
    : readSqliteStore(join(dir, RUN_FILES.state, DB_FILE));
  let tampered: LoadedRun["selfCheck"] = null;
  if (selfCheck) {
    tampered = { deleted: deleteOneStoredFault(store, sent), duplicated: null };
    tampered.duplicated = duplicateOneCompletedRun(agentRecords, store.incidents);
  }
  return {
    meta,
    sent,
    returns: readJsonLines<ReturnRecord>(join(dir, RUN_FILES.returns)),
    actions: readJsonLines<ActionRecord>(join(dir, RUN_FILES.actions)),
    agentRecords,
    incidents: store.incidents,
    runs: store.runs,
    multiEventIncidents: store.multi_event_incidents,
    selfCheck: tampered,
  };
}
