/**
 * Reads a chaos run back from its directory: the ledgers, the agent's record and faultline's store
 * (read-only). With `selfCheck`, the store is copied into memory and one stored fault deleted from the copy,
 * and a second completed run of another fault's agent is added to the record (the files stay untouched):
 * counting that data must report one lost fault and one double run.
 */
import { Database } from "bun:sqlite";
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
  /** With `selfCheck`: what was tampered with. */
  selfCheck: { deleted: string | null; duplicated: string | null } | null;
}

/** An in-memory, writable copy of `db` (a WAL database's image is marked rollback-journal first). */
function memoryCopy(db: Database): Database {
  const image = db.serialize();
  image[18] = 1; // file format write version: legacy (WAL images cannot be deserialized as they are)
  image[19] = 1; // read version
  return Database.deserialize(image);
}

/** Deletes, in `db`, the incident of the first fault sent to a live subscription that was stored. */
function deleteOneStoredFault(db: Database, sent: readonly SentFault[]): string | null {
  const find = db.query<{ seq: number }, [string, string]>(
    "SELECT seq FROM incidents WHERE cluster = ? AND json_extract(resource, '$.name') = ? LIMIT 1",
  );
  for (const fault of sent) {
    if (!fault.faultline_up || !fault.delivered) continue;
    const row = find.get(fault.cluster, fault.name);
    if (!row) continue;
    db.transaction(() => {
      db.run("DELETE FROM events WHERE incident_seq = ?", [row.seq]);
      db.run("DELETE FROM runs WHERE incident_seq = ?", [row.seq]);
      db.run("DELETE FROM incidents WHERE seq = ?", [row.seq]);
    })();
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
  const file = join(dir, RUN_FILES.state, DB_FILE);
  const stored = new Database(file, { readonly: true });
  let db = stored;
  let tampered: LoadedRun["selfCheck"] = null;
  try {
    if (selfCheck) {
      db = memoryCopy(stored);
      tampered = { deleted: deleteOneStoredFault(db, sent), duplicated: null };
    }
    const incidents = db
      .query<StoredIncident, []>(
        "SELECT seq, id, cluster, json_extract(resource, '$.name') AS name, status FROM incidents ORDER BY seq",
      )
      .all();
    const runs = db.query<StoredRun, []>("SELECT incident_seq, status FROM runs ORDER BY id").all();
    if (tampered) tampered.duplicated = duplicateOneCompletedRun(agentRecords, incidents);
    return {
      meta,
      sent,
      returns: readJsonLines<ReturnRecord>(join(dir, RUN_FILES.returns)),
      actions: readJsonLines<ActionRecord>(join(dir, RUN_FILES.actions)),
      agentRecords,
      incidents,
      runs,
      selfCheck: tampered,
    };
  } finally {
    if (db !== stored) db.close();
    stored.close();
  }
}
