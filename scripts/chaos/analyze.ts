/**
 * Counts a loaded chaos run: per cluster, faults sent while subscribed, stored, lost; faults sent with no
 * live subscription and how many were stored anyway (backfill); agent runs per incident and faults whose
 * agent ran again after a run had completed; time from a server's return to active; and the verdict.
 */
import { type AgentExecution, agentExecutions } from "./agent.ts";
import type { ReturnKind } from "./ledger.ts";
import type { LoadedRun, StoredIncident } from "./load.ts";
import { outcomesLostWithPod } from "./pod-loss.ts";

/** What replica mode adds. */
export interface ReplicaFigures {
  names: string[];
  lease_seconds: number;
  /** Replica pods killed (faultline SIGKILLed with its agents), restarted after the lease. */
  kills: number;
  /** Replicas stopped with SIGTERM and started again. */
  graceful_restarts: number;
  /** A killed replica's cluster → active on another replica. */
  takeover: Spread;
  /** A killed replica's cluster → active again on the same replica (it came back before the move). */
  back_on_same: Spread;
  /** A gracefully stopped replica's cluster → active on another replica. */
  handover: Spread;
  /** Clusters active on more than one replica when the settle period ended. */
  active_twice_at_end: string[];
}

/** p50/p99/max of a set of durations (ms); null figures when there are none. */
export interface Spread {
  samples: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
}

/** The figures of one cluster (or the total). */
export interface ClusterFigures {
  cluster: string;
  /** Faults delivered to ≥ 1 live subscription while faultline's process was up. */
  sent_subscribed: number;
  /** … of which stored as an incident of that cluster. */
  stored: number;
  /** … of which not stored. */
  lost: number;
  /** Faults sent while no subscription was live (faultline down, reconnecting, server down). */
  unsubscribed: number;
  /** … of which stored anyway (backfill). */
  backfilled: number;
  /** Inject requests that failed (the fault may or may not exist): not counted above. */
  inject_errors: number;
  /** Incidents whose agent ran more than once (by the agent's record). */
  incidents_multi_run: number;
  /** Faults whose agent ran again after a run had completed (not truly interrupted). */
  double_runs: number;
  /** Server back (up, simulator restarted, sessions dropped) → faultline logs the cluster active. */
  return_to_active: Spread;
}

/** A fault the report names (lost, or run twice). */
export interface FaultRef {
  cluster: string;
  name: string;
  detail: string;
}

/** Everything a chaos run is judged by. */
export interface ChaosReport {
  seed: number;
  seconds: number;
  disruptions: string[];
  actions: Record<string, number>;
  by_cluster: ClusterFigures[];
  total: ClusterFigures;
  lost: FaultRef[];
  double_runs: FaultRef[];
  /** Stored under another cluster than the one it was sent to. */
  misattributed: FaultRef[];
  /** Stored as more than one incident, or with more than one event row (each fault is sent once). */
  duplicated: FaultRef[];
  /** Faults the simulator delivered to more than one live subscription (two subscriptions of one cluster at once). */
  multi_delivered: FaultRef[];
  /** Replica mode only (null otherwise). */
  replicas: ReplicaFigures | null;
  /** Faults sent while faultline's process was down (part of `unsubscribed`), and how many were stored anyway. */
  while_faultline_down: { sent: number; stored: number };
  return_to_active: {
    by_kind: Record<string, Spread>;
    all: Spread;
    /** Cut short by another disruption or a faultline kill before active. */
    censored: number;
    /** Servers that were back but whose cluster never became active by the end. */
    never_active: string[];
  };
  agent: {
    executions: number;
    incidents_run: number;
    incidents_multi_run: number;
    /**
     * Of those, incidents whose earlier runs were all truly interrupted: killed before they completed,
     * or completed with an outcome that died with their pod ({@link ChaosReport.agent.outcome_lost_with_pod}).
     */
    truly_interrupted_reruns: number;
    /**
     * Replica mode: runs whose agent had completed when its replica was killed, before the outcome's
     * commit (proved from the data: scripts/chaos/pod-loss.ts); settled interrupted and run again.
     */
    outcome_lost_with_pod: number;
    double_runs: number;
    /** Status sequences in the runs table of incidents with more than one run row. */
    run_patterns: Record<string, number>;
    /** Run rows marked `interrupted` whose agent had in fact completed (outcomes lost with their pod aside). */
    interrupted_but_completed: number;
    /** Executions of incidents the store does not know (none, except after a self-check deletion). */
    unknown_incident_executions: number;
  };
  incidents_by_status: Record<string, number>;
  faultline: {
    starts: number;
    unexpected_exits: string[];
    final_exit_code: number | null;
    /** Clusters not active when the settle period ended. */
    inactive_at_end: string[];
  };
  harness_errors: string[];
  self_check: LoadedRun["selfCheck"];
  notes: string[];
  verdict: { ok: boolean; failures: string[] };
}

/** Nearest-rank percentile of ascending `sorted`. */
function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? null;
}

/** The {@link Spread} of `values`. */
export function spreadOf(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    samples: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? null,
  };
}

function emptyFigures(cluster: string): ClusterFigures {
  return {
    cluster,
    sent_subscribed: 0,
    stored: 0,
    lost: 0,
    unsubscribed: 0,
    backfilled: 0,
    inject_errors: 0,
    incidents_multi_run: 0,
    double_runs: 0,
    return_to_active: spreadOf([]),
  };
}

const SERVER_RETURNS: readonly ReturnKind[] = ["up", "sim-restart", "drop"];

/** Counts what was sent against what was stored. */
function countDeliveries(run: LoadedRun, figures: Map<string, ClusterFigures>, report: ChaosReport): void {
  const byKey = new Set(run.incidents.map((i) => `${i.cluster}\u0000${i.name}`));
  const clusterOfName = new Map(run.incidents.map((i) => [i.name, i.cluster]));
  for (const fault of run.sent) {
    const cluster = figures.get(fault.cluster) ?? emptyFigures(fault.cluster);
    figures.set(fault.cluster, cluster);
    if (fault.delivered === null) {
      cluster.inject_errors++;
      continue;
    }
    const stored = byKey.has(`${fault.cluster}\u0000${fault.name}`);
    const elsewhere = clusterOfName.get(fault.name);
    if (!stored && elsewhere !== undefined)
      report.misattributed.push({
        cluster: fault.cluster,
        name: fault.name,
        detail: `stored under ${elsewhere}`,
      });
    if (fault.faultline_up && fault.delivered > 0) {
      cluster.sent_subscribed++;
      if (stored) cluster.stored++;
      else {
        cluster.lost++;
        report.lost.push({
          cluster: fault.cluster,
          name: fault.name,
          detail: `sent ${new Date(fault.at_ms).toISOString()} to ${fault.delivered} subscription(s)`,
        });
      }
    } else {
      cluster.unsubscribed++;
      if (stored) cluster.backfilled++;
      if (!fault.faultline_up) {
        report.while_faultline_down.sent++;
        if (stored) report.while_faultline_down.stored++;
      }
    }
  }
}

/** Faults stored more than once, and faults delivered to more than one subscription at once. */
function countDuplicates(run: LoadedRun, report: ChaosReport): void {
  const byFault = new Map<string, StoredIncident[]>();
  for (const incident of run.incidents) {
    const key = `${incident.cluster}\u0000${incident.name}`;
    byFault.set(key, [...(byFault.get(key) ?? []), incident]);
  }
  for (const list of byFault.values()) {
    const [first] = list;
    if (first && list.length > 1)
      report.duplicated.push({
        cluster: first.cluster,
        name: first.name,
        detail: `${list.length} incidents: ${list.map((i) => i.id).join(", ")}`,
      });
  }
  const bySeq = new Map(run.incidents.map((i) => [i.seq, i]));
  for (const { incident_seq, events } of run.multiEventIncidents) {
    const incident = bySeq.get(incident_seq);
    if (incident)
      report.duplicated.push({
        cluster: incident.cluster,
        name: incident.name,
        detail: `${events} event rows in incident ${incident.id}`,
      });
  }
  for (const fault of run.sent)
    if ((fault.delivered ?? 0) > 1)
      report.multi_delivered.push({
        cluster: fault.cluster,
        name: fault.name,
        detail: `delivered to ${fault.delivered} subscriptions at ${new Date(fault.at_ms).toISOString()}`,
      });
}

/** Replica mode: kills, graceful restarts and how long their clusters took to be active again. */
function replicaFigures(run: LoadedRun): ReplicaFigures | null {
  const replicas = run.meta.replicas;
  if (!replicas) return null;
  const measured = run.returns.filter((r) => !r.censored && r.active_ms !== null);
  const ms = (r: (typeof measured)[number]) => (r.active_ms ?? 0) - r.at_ms;
  const kills = measured.filter((r) => r.kind === "replica-kill");
  return {
    names: replicas.names,
    lease_seconds: replicas.lease_seconds,
    kills: run.actions.filter((a) => a.action === "kill-replica").length,
    graceful_restarts: run.actions.filter((a) => a.action === "stop-replica").length,
    takeover: spreadOf(kills.filter((r) => r.active_by !== r.replica).map(ms)),
    back_on_same: spreadOf(kills.filter((r) => r.active_by === r.replica).map(ms)),
    handover: spreadOf(
      measured.filter((r) => r.kind === "replica-stop" && r.active_by !== r.replica).map(ms),
    ),
    active_twice_at_end: run.meta.active_twice_at_end ?? [],
  };
}

/** Agent runs: per incident and per fault, from the agent's record; patterns from the runs table. */
function countAgentRuns(run: LoadedRun, figures: Map<string, ClusterFigures>, report: ChaosReport): void {
  const incidentById = new Map(run.incidents.map((i) => [i.id, i]));
  const executions = agentExecutions(run.agentRecords);
  const lostWithPod = outcomesLostWithPod(run, executions);
  report.agent.outcome_lost_with_pod = lostWithPod.size;
  /** Completed, with an outcome the fleet could read (or committed): a later run is a double run. */
  const completed = (e: AgentExecution): boolean => e.ended === "end" && !lostWithPod.has(e);
  const byIncident = new Map<string, AgentExecution[]>();
  const byFault = new Map<string, { incident: StoredIncident; executions: AgentExecution[] }>();
  for (const execution of executions) {
    const incident = incidentById.get(execution.incident);
    if (!incident) {
      report.agent.unknown_incident_executions++;
      continue;
    }
    byIncident.set(incident.id, [...(byIncident.get(incident.id) ?? []), execution]);
    const key = `${incident.cluster}\u0000${incident.name}`;
    const fault = byFault.get(key) ?? { incident, executions: [] };
    fault.executions.push(execution);
    byFault.set(key, fault);
  }
  report.agent.executions = executions.length;
  report.agent.incidents_run = byIncident.size;
  for (const [id, list] of byIncident) {
    if (list.length < 2) continue;
    const incident = incidentById.get(id) as StoredIncident;
    const cluster = figures.get(incident.cluster);
    if (cluster) cluster.incidents_multi_run++;
    report.agent.incidents_multi_run++;
    if (!list.slice(0, -1).some(completed)) report.agent.truly_interrupted_reruns++;
  }
  for (const { incident, executions: list } of byFault.values()) {
    const firstCompleted = list.findIndex(completed);
    if (firstCompleted < 0 || firstCompleted === list.length - 1) continue;
    const cluster = figures.get(incident.cluster);
    if (cluster) cluster.double_runs++;
    report.agent.double_runs++;
    report.double_runs.push({
      cluster: incident.cluster,
      name: incident.name,
      detail: list.map((e) => `${e.incident}:${e.ended ?? "killed"}`).join(" → "),
    });
  }
  const rowsByIncident = new Map<number, string[]>();
  for (const row of run.runs)
    rowsByIncident.set(row.incident_seq, [...(rowsByIncident.get(row.incident_seq) ?? []), row.status]);
  for (const incident of run.incidents) {
    const rows = rowsByIncident.get(incident.seq) ?? [];
    if (rows.length > 1) {
      const pattern = rows.join(",");
      report.agent.run_patterns[pattern] = (report.agent.run_patterns[pattern] ?? 0) + 1;
    }
    const list = byIncident.get(incident.id) ?? [];
    if (list.length !== rows.length) continue;
    rows.forEach((status, i) => {
      const execution = list[i];
      if (status === "interrupted" && execution && completed(execution))
        report.agent.interrupted_but_completed++;
    });
  }
}

/** Return-to-active spreads per kind, per cluster (server returns only) and overall. */
function countReturns(run: LoadedRun, figures: Map<string, ClusterFigures>, report: ChaosReport): void {
  const byKind = new Map<string, number[]>();
  const byCluster = new Map<string, number[]>();
  for (const entry of run.returns) {
    if (entry.censored) {
      report.return_to_active.censored++;
      continue;
    }
    if (entry.active_ms === null) {
      report.return_to_active.never_active.push(`${entry.cluster} (${entry.kind})`);
      continue;
    }
    const ms = entry.active_ms - entry.at_ms;
    byKind.set(entry.kind, [...(byKind.get(entry.kind) ?? []), ms]);
    if (SERVER_RETURNS.includes(entry.kind))
      byCluster.set(entry.cluster, [...(byCluster.get(entry.cluster) ?? []), ms]);
  }
  for (const [kind, values] of byKind) report.return_to_active.by_kind[kind] = spreadOf(values);
  report.return_to_active.all = spreadOf(SERVER_RETURNS.flatMap((kind) => byKind.get(kind) ?? []));
  for (const [cluster, values] of byCluster) {
    const figure = figures.get(cluster);
    if (figure) figure.return_to_active = spreadOf(values);
  }
}

function total(figures: readonly ClusterFigures[], all: Spread): ClusterFigures {
  const sum = emptyFigures("total");
  for (const f of figures) {
    sum.sent_subscribed += f.sent_subscribed;
    sum.stored += f.stored;
    sum.lost += f.lost;
    sum.unsubscribed += f.unsubscribed;
    sum.backfilled += f.backfilled;
    sum.inject_errors += f.inject_errors;
    sum.incidents_multi_run += f.incidents_multi_run;
    sum.double_runs += f.double_runs;
  }
  sum.return_to_active = all;
  return sum;
}

function verdict(report: ChaosReport): ChaosReport["verdict"] {
  const failures: string[] = [];
  const { total: t } = report;
  if (t.sent_subscribed === 0)
    failures.push("no fault was sent to a live subscription: the run proves nothing");
  if (t.lost > 0) failures.push(`${t.lost} fault(s) sent to a live subscription were not stored`);
  if (t.double_runs > 0)
    failures.push(`${t.double_runs} fault(s) had their agent run again after a run had completed`);
  if (report.misattributed.length > 0)
    failures.push(`${report.misattributed.length} fault(s) were stored under another cluster`);
  // Each fault is sent once, with a unique name: a second incident or event row is a duplicate.
  if (report.duplicated.length > 0)
    failures.push(`${report.duplicated.length} fault(s) were stored more than once`);
  if (report.replicas) {
    if (report.multi_delivered.length > 0)
      failures.push(
        `${report.multi_delivered.length} fault(s) were delivered to two subscriptions of one cluster at once`,
      );
    if (report.replicas.active_twice_at_end.length > 0)
      failures.push(`active on two replicas at the end: ${report.replicas.active_twice_at_end.join(", ")}`);
  }
  if (report.return_to_active.never_active.length > 0)
    failures.push(`${report.return_to_active.never_active.length} returned server(s) never became active`);
  if (report.faultline.inactive_at_end.length > 0)
    failures.push(
      `not active at the end of the settle period: ${report.faultline.inactive_at_end.join(", ")}`,
    );
  for (const exit of report.faultline.unexpected_exits)
    failures.push(`faultline exited unexpectedly: ${exit.split("\n")[0]}`);
  if (report.faultline.final_exit_code !== 0)
    failures.push(`faultline's graceful stop ended with ${report.faultline.final_exit_code ?? "a kill"}`);
  return { ok: failures.length === 0, failures };
}

/**
 * Counts a loaded run.
 *
 * @example
 * ```ts
 * const report = analyzeRun(loadRun(dir, false));
 * if (!report.verdict.ok) console.log(report.verdict.failures.join("\n"));
 * ```
 */
export function analyzeRun(run: LoadedRun): ChaosReport {
  const figures = new Map(run.meta.clusters.map(({ name }) => [name, emptyFigures(name)]));
  const actions: Record<string, number> = {};
  for (const { action } of run.actions) actions[action] = (actions[action] ?? 0) + 1;
  const incidentsByStatus: Record<string, number> = {};
  for (const { status } of run.incidents) incidentsByStatus[status] = (incidentsByStatus[status] ?? 0) + 1;
  const report: ChaosReport = {
    seed: run.meta.seed,
    seconds: run.meta.seconds,
    disruptions: run.meta.disruptions,
    actions,
    by_cluster: [],
    total: emptyFigures("total"),
    lost: [],
    double_runs: [],
    misattributed: [],
    duplicated: [],
    multi_delivered: [],
    replicas: replicaFigures(run),
    while_faultline_down: { sent: 0, stored: 0 },
    return_to_active: { by_kind: {}, all: spreadOf([]), censored: 0, never_active: [] },
    agent: {
      executions: 0,
      incidents_run: 0,
      incidents_multi_run: 0,
      truly_interrupted_reruns: 0,
      outcome_lost_with_pod: 0,
      double_runs: 0,
      run_patterns: {},
      interrupted_but_completed: 0,
      unknown_incident_executions: 0,
    },
    incidents_by_status: incidentsByStatus,
    faultline: {
      starts: actions["start-faultline"] ?? 0,
      unexpected_exits: run.meta.unexpected_exits,
      final_exit_code: run.meta.final_exit_code,
      inactive_at_end: run.meta.inactive_at_end ?? [],
    },
    harness_errors: run.meta.harness_errors,
    self_check: run.selfCheck,
    notes: run.meta.settle_note ? [run.meta.settle_note] : [],
    verdict: { ok: true, failures: [] },
  };
  countDeliveries(run, figures, report);
  countAgentRuns(run, figures, report);
  countDuplicates(run, report);
  countReturns(run, figures, report);
  report.by_cluster = [...figures.values()];
  report.total = total(report.by_cluster, report.return_to_active.all);
  report.verdict = verdict(report);
  return report;
}
