/**
 * What each finished agent run left for people (`report.md`, `summary.json`; see `src/agent/output.ts`),
 * in the `run_outputs` table: one row per run, written with the run's outcome, read with its incident.
 */

import { OUTPUT_STATUSES, type RunOutput, type TriageSummary } from "../agent/output.ts";
import type { SqlDatabase } from "../runtime/sqlite.ts";
import { oneOf } from "./rows.ts";

type RunOutputRow = {
  run_id: number;
  report: string | null;
  report_status: string;
  report_bytes: number | null;
  report_truncated: number;
  report_error: string | null;
  summary: string | null;
  summary_status: string;
  summary_error: string | null;
};

/** The statements of `run_outputs`, compiled once when the store opens. */
export function prepareRunOutputStatements(db: SqlDatabase) {
  return {
    insert: db.prepare<never, RunOutputRow>(
      `INSERT OR REPLACE INTO run_outputs (run_id, report, report_status, report_bytes, report_truncated,
         report_error, summary, summary_status, summary_error)
       VALUES ($run_id, $report, $report_status, $report_bytes, $report_truncated, $report_error, $summary,
         $summary_status, $summary_error)`,
    ),
    ofIncident: db.prepare<RunOutputRow, { seq: number }>(
      `SELECT o.* FROM run_outputs AS o JOIN runs AS r ON r.id = o.run_id WHERE r.incident_seq = $seq`,
    ),
  };
}

/** The statements {@link prepareRunOutputStatements} compiles. */
export type RunOutputStatements = ReturnType<typeof prepareRunOutputStatements>;

/** A run's output as the row that stores it. */
export function toRunOutputRow(runId: number, output: RunOutput): RunOutputRow {
  return {
    run_id: runId,
    report: output.report,
    report_status: output.report_status,
    report_bytes: output.report_bytes,
    report_truncated: output.report_truncated ? 1 : 0,
    report_error: output.report_error,
    summary: output.summary === null ? null : JSON.stringify(output.summary),
    summary_status: output.summary_status,
    summary_error: output.summary_error,
  };
}

/** The outputs of an incident's runs, by run id. */
export function runOutputsOf(statements: RunOutputStatements, incidentSeq: number): Map<number, RunOutput> {
  const outputs = new Map<number, RunOutput>();
  for (const row of statements.ofIncident.all({ seq: incidentSeq })) {
    outputs.set(row.run_id, {
      report: row.report,
      report_status: oneOf(OUTPUT_STATUSES, row.report_status, "report status"),
      report_bytes: row.report_bytes,
      report_truncated: row.report_truncated === 1,
      report_error: row.report_error,
      // Stored by the store itself from a validated summary.
      summary: row.summary === null ? null : (JSON.parse(row.summary) as TriageSummary),
      summary_status: oneOf(OUTPUT_STATUSES, row.summary_status, "summary status"),
      summary_error: row.summary_error,
    });
  }
  return outputs;
}
