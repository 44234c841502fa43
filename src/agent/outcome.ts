/**
 * `result.json`: how one agent run ended, written atomically (a temporary file renamed over it) by
 * the agent's supervisor the moment the agent is done, whether or not faultline is there to see it.
 * A restarted faultline reads it to record a run that finished while it was down.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { parseJsonAs } from "../validation/json.ts";

/** File in the workspace that records how the agent ended ({@link AgentResult}). */
export const RESULT_FILE = "result.json";

/** A result file larger than this is not ours (an agent may write anything in its workspace). */
const MAX_RESULT_BYTES = 64 * 1024;

/** What `result.json` holds: how one agent run ended. */
export interface AgentResult {
  incident_id: string;
  cluster: string;
  /** The store's id of this run (0 when the run is not in a store); a stale file never passes for a later run. */
  run_id: number;
  /** The agent's exit status; null when it was ended by a signal or never started. */
  exit_code: number | null;
  /** The signal that ended the agent (e.g. `SIGKILL`), else null. */
  signal: string | null;
  /** faultline ended it because it ran past `timeout_seconds`. */
  timed_out: boolean;
  /** faultline ended it (or never started it) because the run was aborted, e.g. on shutdown. */
  interrupted: boolean;
  duration_ms: number;
  /** RFC 3339. */
  started_at: string;
  /** RFC 3339. */
  finished_at: string;
  /** Why the agent could not run at all (workspace or spawn failure), else null. */
  error: string | null;
}

const NullableString = v.nullable(v.pipe(v.string(), v.maxLength(4096)));

/** {@link AgentResult} as read back from a file the agent could have touched. */
const AgentResultSchema = v.object({
  incident_id: v.string(),
  cluster: v.string(),
  run_id: v.pipe(v.number(), v.integer()),
  exit_code: v.nullable(v.pipe(v.number(), v.integer())),
  signal: NullableString,
  timed_out: v.boolean(),
  interrupted: v.boolean(),
  duration_ms: v.pipe(v.number(), v.minValue(0)),
  started_at: v.string(),
  finished_at: v.string(),
  error: NullableString,
});

/** Writes `result` to the workspace's `result.json` atomically: readers see the old file or the whole new one. */
export function writeResultFile(workspace: string, result: AgentResult): void {
  const target = join(workspace, RESULT_FILE);
  const temporary = `${target}.${process.pid}.tmp`;
  const fd = openSync(temporary, "w", 0o644);
  try {
    writeSync(fd, `${JSON.stringify(result satisfies AgentResult, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, target);
}

/**
 * The result recorded in `workspace` for run `runId` of `incidentId`, or null when there is none, it
 * is unreadable, or it belongs to another run (an earlier attempt in the same workspace).
 */
export function readResultFile(workspace: string, incidentId: string, runId: number): AgentResult | null {
  let text: string;
  try {
    const bytes = readFileSync(join(workspace, RESULT_FILE));
    if (bytes.length > MAX_RESULT_BYTES) return null;
    text = bytes.toString("utf8");
  } catch {
    return null;
  }
  const result = parseJsonAs(AgentResultSchema, text);
  if (!result) return null;
  return result.incident_id === incidentId && result.run_id === runId ? result : null;
}
