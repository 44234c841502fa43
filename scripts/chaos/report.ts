/** Prints a {@link ChaosReport} as the table and lines the harness shows (and the README quotes). */
import type { ChaosReport, ClusterFigures, Spread } from "./analyze.ts";

/** `p50/p99/max ms (n)`, or `-` without samples. */
export function formatSpread(spread: Spread): string {
  if (spread.samples === 0) return "-";
  const ms = (value: number | null): string => (value === null ? "-" : String(Math.round(value)));
  return `${ms(spread.p50)}/${ms(spread.p99)}/${ms(spread.max)} ms (${spread.samples})`;
}

const COLUMNS: Array<[string, (f: ClusterFigures) => string]> = [
  ["cluster", (f) => f.cluster],
  ["sent", (f) => String(f.sent_subscribed)],
  ["stored", (f) => String(f.stored)],
  ["lost", (f) => String(f.lost)],
  ["unsub", (f) => String(f.unsubscribed)],
  ["backfill", (f) => String(f.backfilled)],
  ["runs>1", (f) => String(f.incidents_multi_run)],
  ["double", (f) => String(f.double_runs)],
  ["return→active p50/p99/max", (f) => formatSpread(f.return_to_active)],
];

/** The per-cluster table with a total row (numbers right-aligned). */
export function clusterTable(report: ChaosReport): string {
  const rows = [...report.by_cluster, report.total].map((f) => COLUMNS.map(([, cell]) => cell(f)));
  const header = COLUMNS.map(([title]) => title);
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? "").length)),
  );
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join("  ");
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return [line(header), rule, ...rows.slice(0, -1).map(line), rule, line(rows.at(-1) ?? [])].join("\n");
}

function counts(record: Record<string, number>): string {
  const entries = Object.entries(record);
  return entries.length === 0 ? "none" : entries.map(([key, n]) => `${key} ${n}`).join(", ");
}

function listed(title: string, refs: ChaosReport["lost"], most = 10): string[] {
  if (refs.length === 0) return [];
  const shown = refs.slice(0, most).map((ref) => `    ${ref.cluster} ${ref.name}: ${ref.detail}`);
  return [
    `  ${title} (${refs.length}):`,
    ...shown,
    ...(refs.length > most ? [`    … ${refs.length - most} more`] : []),
  ];
}

/** Replica mode's lines: kills, restarts, takeover and hand-over times, duplicates (none otherwise). */
function replicaLines(report: ChaosReport): string[] {
  const r = report.replicas;
  if (!r) return [];
  return [
    `replicas: ${r.names.length} (${r.names.join(", ")}), lease ${r.lease_seconds} s; ${r.kills} pod kills ` +
      `(faultline SIGKILLed with its agents, restarted after the lease), ${r.graceful_restarts} graceful restarts`,
    `replica killed → its clusters active on another: ${formatSpread(r.takeover)}; back on the same replica: ` +
      `${formatSpread(r.back_on_same)}; graceful stop → active on another: ${formatSpread(r.handover)}`,
    `across replicas: ${report.duplicated.length} faults stored more than once; ${report.multi_delivered.length} ` +
      `faults delivered to two subscriptions of one cluster at once; ${r.active_twice_at_end.length} clusters ` +
      `active on two replicas at the end`,
  ];
}

/**
 * The whole printed summary.
 *
 * @example
 * ```ts
 * console.log(formatReport(analyzeRun(loadRun(dir, false))));
 * ```
 */
export function formatReport(report: ChaosReport): string {
  const { total: t, agent, return_to_active: r } = report;
  const a = report.actions;
  const lines = [
    clusterTable(report),
    "",
    "sent = delivered to ≥ 1 live subscription while faultline ran; lost = of those, not stored; unsub = sent while no",
    "subscription was live (faultline down or reconnecting, server down); backfill = of those, stored anyway;",
    "runs>1 = incidents whose agent ran more than once; double = faults whose agent ran again after a run had completed.",
    "",
    `disruptions: ${a["drop-sessions"] ?? 0} session drops, ${a.down ?? 0} outages, ${a["kill-sim"] ?? 0} simulator kills, ` +
      `${a["kill-faultline"] ?? 0} faultline kills (${report.faultline.starts} faultline starts)`,
    `return → active: ${formatSpread(r.all)} over all server returns; by kind: ` +
      ["up", "sim-restart", "drop"]
        .map((kind) => `${kind} ${formatSpread(r.by_kind[kind] ?? emptySpread)}`)
        .join("; "),
    `faultline start → cluster active: ${formatSpread(r.by_kind["faultline-start"] ?? emptySpread)}; ` +
      `${r.censored} returns cut short by another disruption; ${r.never_active.length} never active`,
    `faults: ${t.sent_subscribed + t.unsubscribed + t.inject_errors} injected; ${t.sent_subscribed} sent while subscribed, ` +
      `${t.lost} lost; ${t.unsubscribed} sent with no live subscription, ${t.backfilled} of them stored anyway (backfill); ` +
      `${report.while_faultline_down.sent} sent while faultline was down, ${report.while_faultline_down.stored} of them stored` +
      (t.inject_errors > 0 ? `; ${t.inject_errors} inject requests failed (not counted)` : ""),
    `agent: ${agent.executions} runs for ${agent.incidents_run} incidents; ${agent.incidents_multi_run} incidents ran more than ` +
      `once, ${agent.truly_interrupted_reruns} of them after truly interrupted runs only; ${agent.double_runs} double runs`,
    `runs table: incidents with several runs ${counts(agent.run_patterns)}; runs marked interrupted although the ` +
      `agent had completed: ${agent.interrupted_but_completed}` +
      (report.replicas
        ? `; completed, but the outcome died with its pod (replica killed after the agent's end, before the ` +
          `outcome's commit: truly interrupted): ${agent.outcome_lost_with_pod}`
        : ""),
    `incidents by status: ${counts(report.incidents_by_status)}`,
    ...replicaLines(report),
    ...listed("lost", report.lost),
    ...listed("double runs", report.double_runs),
    ...listed("stored under another cluster", report.misattributed),
    ...listed("stored more than once", report.duplicated),
    ...listed("delivered to two subscriptions at once", report.multi_delivered),
    ...report.notes.map((note) => `note: ${note}`),
    ...report.harness_errors.map((error) => `harness error: ${error}`),
  ];
  if (report.self_check)
    lines.push(
      `self-check: deleted the stored incident of ${report.self_check.deleted ?? "(nothing stored)"} and added a second ` +
        `completed run for ${report.self_check.duplicated ?? "(no completed run)"}`,
    );
  lines.push(
    report.verdict.ok
      ? `verdict: PASS (0 lost among faults sent to live subscriptions, 0 stored twice, 0 double runs)`
      : `verdict: FAIL\n${report.verdict.failures.map((f) => `  - ${f}`).join("\n")}`,
  );
  return lines.join("\n");
}

const emptySpread: Spread = { samples: 0, p50: null, p99: null, max: null };
