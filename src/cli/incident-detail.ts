/**
 * One incident as text for people, as `faultline incidents show ID` prints it: its facts, its runs,
 * the latest run's summary and report, and its notifications. Everything from clusters and agents
 * is untrusted: terminal control characters are replaced (newlines and tabs kept in the report).
 */
import type { RunOutput } from "../agent/output.ts";
import { describeResource } from "../events/fault.ts";
import type { AgentRun, IncidentDetail } from "../incidents/model.ts";

/**
 * The detail as text, sections separated by blank lines; no trailing newline.
 *
 * @example
 * ```ts
 * io.stdout(`${formatIncidentDetail(store.get(id))}\n`);
 * ```
 */
export function formatIncidentDetail(detail: IncidentDetail): string {
  const { incident, runs, notifications } = detail;
  const status = incident.skip_reason ? `${incident.status} (${incident.skip_reason})` : incident.status;
  const sections = [
    [
      `Incident ${incident.id}`,
      ...pairs([
        ["cluster", incident.cluster],
        ["status", status],
        ["fault", `${incident.fault_type} (${incident.severity}), ${incident.count} event(s)`],
        ["resource", describeResource(incident.resource)],
        ["first seen", incident.first_seen],
        ["last seen", incident.last_seen],
        ["workspace", incident.workspace ?? "-"],
      ]),
    ].join("\n"),
    runsSection(runs),
  ];
  const latest = runs.findLast((run) => run.output !== null);
  if (latest?.output)
    sections.push(summarySection(latest, latest.output), reportSection(latest, latest.output));
  if (notifications.length > 0) {
    const lines = notifications.map((n) =>
      [
        n.sink,
        n.trigger,
        n.status,
        `${n.attempts} attempt(s)`,
        n.next_attempt_at ? `next ${n.next_attempt_at}` : "",
        n.last_error ?? "",
      ]
        .filter((cell) => cell !== "")
        .join("  "),
    );
    sections.push(["Notifications", ...indent(lines)].join("\n"));
  }
  return sections.map(printable).join("\n\n");
}

function runsSection(runs: AgentRun[]): string {
  if (runs.length === 0) return "Runs\n  none yet";
  const lines = runs.map((run) => {
    const end = run.exit_code !== null ? `exit ${run.exit_code}` : (run.signal ?? "");
    const took = run.duration_ms === null ? "" : `${(run.duration_ms / 1000).toFixed(1)} s`;
    return [`#${run.attempt}`, run.status, end, took, run.started_at, run.error ?? ""]
      .filter((cell) => cell !== "")
      .join("  ");
  });
  return ["Runs", ...indent(lines)].join("\n");
}

function summarySection(run: AgentRun, output: RunOutput): string {
  const title = `Summary (run #${run.attempt})`;
  const { summary } = output;
  if (summary === null) return `${title}\n  none: ${output.summary_error ?? output.summary_status}`;
  const lines = [summary.summary];
  if (summary.root_cause) {
    lines.push("", `Root cause${summary.confidence ? ` (confidence: ${summary.confidence})` : ""}:`);
    lines.push(summary.root_cause);
  } else if (summary.confidence) lines.push(`Confidence: ${summary.confidence}`);
  if (summary.actions && summary.actions.length > 0) {
    lines.push("", "Actions:", ...summary.actions.map((action) => `- ${action}`));
  }
  return [title, ...indent(lines.join("\n").split("\n"))].join("\n");
}

function reportSection(run: AgentRun, output: RunOutput): string {
  if (output.report === null) {
    return `Report (run #${run.attempt})\n  none${output.report_error ? `: ${output.report_error}` : ""}`;
  }
  const size = `${output.report_bytes ?? 0} bytes${output.report_truncated ? ", truncated" : ""}`;
  return `Report (run #${run.attempt}, report.md, ${size})\n${output.report.trimEnd()}`;
}

function pairs(entries: Array<[string, string]>): string[] {
  const width = Math.max(...entries.map(([key]) => key.length));
  return entries.map(([key, value]) => `  ${key.padEnd(width)}  ${value}`);
}

function indent(lines: string[]): string[] {
  return lines.map((line) => (line === "" ? "" : `  ${line}`));
}

/** Control characters (ESC, C1, …) replaced, newlines and tabs kept: values come from clusters and agents. */
function printable(text: string): string {
  return text.replace(/[^\P{Cc}\n\t]/gu, "?");
}
