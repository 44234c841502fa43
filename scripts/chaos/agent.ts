/**
 * The recording agent: a small shell script faultline runs for each incident. It appends one line per step
 * to the record file (`start`, then `end` when it finished its work, or `term` when it was told to stop), so
 * the harness knows how often each incident's agent really ran and whether an earlier run had completed.
 */
import { existsSync, readFileSync } from "node:fs";

/** What an agent run recorded. */
export type AgentStep = "start" | "end" | "term";

/** One line of the record file: `<step> <incident id> <pid> <ms>`. */
export interface AgentRecord {
  step: AgentStep;
  incident: string;
  pid: number;
  at_ms: number;
}

/** One execution of the agent: its start and how it ended (null: it never said, e.g. SIGKILLed). */
export interface AgentExecution {
  incident: string;
  pid: number;
  started_ms: number;
  ended: "end" | "term" | null;
  ended_ms: number | null;
}

/**
 * The agent script: records `start`, works `seconds` (interruptibly), records `end`; on SIGTERM records
 * `term` and exits 143. Values reach the record only through its own environment, never a shell command.
 *
 * @example
 * ```ts
 * writeFileSync(join(dir, "agent.sh"), agentScript(join(dir, "agent-runs.log"), 0.5), { mode: 0o755 });
 * ```
 */
export function agentScript(recordFile: string, seconds: number): string {
  return `#!/bin/sh
# faultline chaos harness: records each run of the agent (see scripts/chaos/agent.ts)
RECORD='${recordFile.replaceAll("'", "'\\''")}'
record() { echo "$1 $FAULTLINE_INCIDENT_ID $$ $(date +%s%3N)" >> "$RECORD"; }
trap 'record term; exit 143' TERM INT
record start
sleep ${seconds} &
wait $!
record end
`;
}

/** Parses the record file (lines it cannot read are skipped: a line cut by a kill). */
export function readAgentRecords(file: string): AgentRecord[] {
  if (!existsSync(file)) return [];
  const records: AgentRecord[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const [step, incident, pid, at] = line.trim().split(" ");
    if ((step !== "start" && step !== "end" && step !== "term") || !incident) continue;
    records.push({ step, incident, pid: Number(pid), at_ms: Number(at) });
  }
  return records;
}

/** Groups records into executions (one per `start`, matched by incident and pid), in start order. */
export function agentExecutions(records: readonly AgentRecord[]): AgentExecution[] {
  const executions: AgentExecution[] = [];
  const open = new Map<string, AgentExecution>();
  for (const record of records) {
    const key = `${record.incident} ${record.pid}`;
    if (record.step === "start") {
      const execution: AgentExecution = {
        incident: record.incident,
        pid: record.pid,
        started_ms: record.at_ms,
        ended: null,
        ended_ms: null,
      };
      executions.push(execution);
      open.set(key, execution);
      continue;
    }
    const execution = open.get(key);
    if (!execution) continue;
    execution.ended = record.step;
    execution.ended_ms = record.at_ms;
    open.delete(key);
  }
  return executions;
}
