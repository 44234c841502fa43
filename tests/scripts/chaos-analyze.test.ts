/**
 * The chaos harness's counting (scripts/chaos/): lost faults, backfill, double runs against truly
 * interrupted reruns, return-to-active, the verdict. Pure data: no process, no server.
 */
import { describe, expect, test } from "bun:test";
import { agentExecutions, agentScript, readAgentRecords } from "../../scripts/chaos/agent.ts";
import { analyzeRun, spreadOf } from "../../scripts/chaos/analyze.ts";
import type { ReturnRecord, RunMeta, SentFault } from "../../scripts/chaos/ledger.ts";
import type { LoadedRun, StoredIncident } from "../../scripts/chaos/load.ts";
import { SeededRandom } from "../../scripts/chaos/random.ts";
import { clusterTable, formatReport } from "../../scripts/chaos/report.ts";
import { ReturnTracker } from "../../scripts/chaos/returns.ts";
import { tempDir, writeFile } from "../helpers/tmp.ts";

const meta: RunMeta = {
  seed: 7,
  seconds: 10,
  clusters: [
    { name: "a", sim: 0 },
    { name: "b", sim: 1 },
  ],
  sims: 2,
  rate: 8,
  agent_seconds: 0.5,
  disruptions: ["session drops"],
  faultline: "source",
  machine: "test",
  started_at: "2026-01-01T00:00:00Z",
  unexpected_exits: [],
  final_exit_code: 0,
  harness_errors: [],
  inactive_at_end: [],
};

function sent(seq: number, cluster: string, delivered: number | null, faultlineUp = true): SentFault {
  return { seq, cluster, name: `fault-${seq}`, at_ms: 1000 + seq, delivered, faultline_up: faultlineUp };
}

function incident(seq: number, cluster: string, name: string): StoredIncident {
  return { seq, id: `i${seq}`, cluster, name, status: "succeeded" };
}

/** start/end records of one execution (`ended` null: killed without a word). */
function execution(incidentId: string, pid: number, at: number, ended: "end" | "term" | null) {
  const start = { step: "start" as const, incident: incidentId, pid, at_ms: at };
  return ended ? [start, { step: ended, incident: incidentId, pid, at_ms: at + 1 }] : [start];
}

/** A clean run: two faults sent while subscribed, both stored, each triaged once. */
function cleanRun(): LoadedRun {
  return {
    meta,
    sent: [sent(1, "a", 1), sent(2, "b", 1)],
    returns: [{ cluster: "a", kind: "drop", at_ms: 100, active_ms: 220 }],
    actions: [{ at_ms: 1, action: "drop-sessions", target: "a" }],
    agentRecords: [...execution("i1", 10, 1, "end"), ...execution("i2", 11, 2, "end")],
    incidents: [incident(1, "a", "fault-1"), incident(2, "b", "fault-2")],
    runs: [
      { incident_seq: 1, status: "succeeded" },
      { incident_seq: 2, status: "succeeded" },
    ],
    multiEventIncidents: [],
    selfCheck: null,
  };
}

describe("chaos counting", () => {
  test("a clean run passes with every figure counted", () => {
    const report = analyzeRun(cleanRun());
    expect(report.verdict).toEqual({ ok: true, failures: [] });
    expect(report.total).toMatchObject({ sent_subscribed: 2, stored: 2, lost: 0, double_runs: 0 });
    expect(report.by_cluster.map((f) => f.cluster)).toEqual(["a", "b"]);
    expect(report.return_to_active.all).toEqual({ samples: 1, p50: 120, p99: 120, max: 120 });
    expect(report.actions).toEqual({ "drop-sessions": 1 });
    expect(formatReport(report)).toContain("verdict: PASS");
  });

  test("a fault delivered to a live subscription but not stored is lost; unsubscribed ones are informational", () => {
    const run = cleanRun();
    run.sent.push(
      sent(3, "a", 1), // delivered, not stored: lost
      sent(4, "b", 0), // no subscription, stored anyway: backfill
      sent(5, "b", 0), // no subscription, not stored: not a loss
      sent(6, "a", 2, false), // delivered to a stale session while faultline was down: not "subscribed"
      sent(7, "a", null), // the inject request failed
    );
    run.incidents.push(incident(4, "b", "fault-4"));
    const report = analyzeRun(run);
    expect(report.by_cluster[0]).toMatchObject({ cluster: "a", sent_subscribed: 2, stored: 1, lost: 1 });
    expect(report.by_cluster[0]).toMatchObject({ unsubscribed: 1, inject_errors: 1 });
    expect(report.by_cluster[1]).toMatchObject({ cluster: "b", unsubscribed: 2, backfilled: 1, lost: 0 });
    expect(report.while_faultline_down).toEqual({ sent: 1, stored: 0 });
    expect(report.lost.map((f) => f.name)).toEqual(["fault-3"]);
    expect(report.verdict.ok).toBe(false);
    expect(report.verdict.failures).toEqual(["1 fault(s) sent to a live subscription were not stored"]);
  });

  test("a fault stored under another cluster is lost for its own and reported", () => {
    const run = cleanRun();
    run.sent.push(sent(3, "a", 1));
    run.incidents.push(incident(3, "b", "fault-3"));
    const report = analyzeRun(run);
    expect(report.total.lost).toBe(1);
    expect(report.misattributed).toEqual([{ cluster: "a", name: "fault-3", detail: "stored under b" }]);
  });

  test("reruns after truly interrupted runs pass; a rerun after a completed run is a double run", () => {
    const run = cleanRun();
    run.agentRecords = [
      ...execution("i1", 10, 1, "term"), // told to stop before it completed
      ...execution("i1", 11, 2, null), // SIGKILLed without a word
      ...execution("i1", 12, 3, "end"),
      ...execution("i2", 20, 4, "end"), // completed …
      ...execution("i2", 21, 5, "end"), // … and ran again
    ];
    run.runs = [
      { incident_seq: 1, status: "interrupted" },
      { incident_seq: 1, status: "interrupted" },
      { incident_seq: 1, status: "succeeded" },
      { incident_seq: 2, status: "interrupted" },
      { incident_seq: 2, status: "succeeded" },
    ];
    const report = analyzeRun(run);
    expect(report.agent).toMatchObject({
      executions: 5,
      incidents_run: 2,
      incidents_multi_run: 2,
      truly_interrupted_reruns: 1,
      double_runs: 1,
      interrupted_but_completed: 1,
    });
    expect(report.agent.run_patterns).toEqual({
      "interrupted,interrupted,succeeded": 1,
      "interrupted,succeeded": 1,
    });
    expect(report.double_runs).toEqual([{ cluster: "b", name: "fault-2", detail: "i2:end → i2:end" }]);
    expect(report.verdict.failures).toEqual([
      "1 fault(s) had their agent run again after a run had completed",
    ]);
  });

  test("one fault split into two incidents that both completed is a double run", () => {
    const run = cleanRun();
    run.incidents.push(incident(3, "a", "fault-1"));
    run.agentRecords.push(...execution("i3", 30, 9, "end"));
    expect(analyzeRun(run).double_runs.map((f) => f.name)).toEqual(["fault-1"]);
  });

  test("returns: censored ones are not measured, a server never active again fails the run", () => {
    const run = cleanRun();
    run.returns.push(
      { cluster: "b", kind: "up", at_ms: 0, active_ms: null, censored: true },
      { cluster: "b", kind: "sim-restart", at_ms: 0, active_ms: null },
      { cluster: "b", kind: "faultline-start", at_ms: 0, active_ms: 700 },
    );
    const report = analyzeRun(run);
    expect(report.return_to_active.censored).toBe(1);
    expect(report.return_to_active.never_active).toEqual(["b (sim-restart)"]);
    expect(report.return_to_active.by_kind["faultline-start"]?.max).toBe(700);
    expect(report.return_to_active.all.samples).toBe(1); // faultline starts are not server returns
    expect(report.verdict.failures).toEqual(["1 returned server(s) never became active"]);
  });

  test("faultline's crashes, a failed graceful stop, clusters left inactive and a run that sent nothing fail it", () => {
    const run = cleanRun();
    run.meta = {
      ...meta,
      unexpected_exits: ["life 2: signal SIGSEGV\n..."],
      final_exit_code: 1,
      inactive_at_end: ["b"],
    };
    run.sent = [];
    expect(analyzeRun(run).verdict.failures).toEqual([
      "no fault was sent to a live subscription: the run proves nothing",
      "not active at the end of the settle period: b",
      "faultline exited unexpectedly: life 2: signal SIGSEGV",
      "faultline's graceful stop ended with 1",
    ]);
  });

  test("replica mode: takeover, back-on-same and hand-over times; a fault stored twice or delivered twice fails", () => {
    const run = cleanRun();
    run.meta = { ...meta, replicas: { names: ["r1", "r2"], lease_seconds: 5 } };
    run.actions = [
      { at_ms: 1, action: "kill-replica", target: "r1" },
      { at_ms: 2, action: "start-replica", target: "r1" },
      { at_ms: 3, action: "stop-replica", target: "r2" },
    ];
    run.returns = [
      { cluster: "a", kind: "replica-kill", at_ms: 1000, active_ms: 6500, replica: "r1", active_by: "r2" },
      { cluster: "b", kind: "replica-kill", at_ms: 1000, active_ms: 4000, replica: "r1", active_by: "r1" },
      { cluster: "b", kind: "replica-stop", at_ms: 9000, active_ms: 9300, replica: "r2", active_by: "r1" },
      { cluster: "a", kind: "replica-kill", at_ms: 1000, active_ms: null, replica: "r1", censored: true },
    ];
    const clean = analyzeRun(run);
    expect(clean.verdict).toEqual({ ok: true, failures: [] });
    expect(clean.replicas).toMatchObject({
      kills: 1,
      graceful_restarts: 1,
      takeover: { samples: 1, max: 5500 },
      back_on_same: { samples: 1, max: 3000 },
      handover: { samples: 1, max: 300 },
    });
    expect(formatReport(clean)).toContain(
      "replica killed → its clusters active on another: 5500/5500/5500 ms (1)",
    );

    run.incidents = [...run.incidents, incident(3, "a", "fault-1")];
    run.multiEventIncidents = [{ incident_seq: 2, events: 2 }];
    run.sent = [...run.sent, sent(3, "b", 2)];
    run.incidents.push(incident(4, "b", "fault-3"));
    const broken = analyzeRun(run);
    expect(broken.duplicated.map((f) => `${f.name}: ${f.detail}`)).toEqual([
      "fault-1: 2 incidents: i1, i3",
      "fault-2: 2 event rows in incident i2",
    ]);
    expect(broken.multi_delivered.map((f) => f.name)).toEqual(["fault-3"]);
    expect(broken.verdict.failures).toEqual([
      "2 fault(s) were stored more than once",
      "1 fault(s) were delivered to two subscriptions of one cluster at once",
    ]);
    expect(formatReport(broken)).toContain(
      "across replicas: 2 faults stored more than once; 1 faults delivered",
    );
    // One process: the same data, without the replicas' own checks; a fault stored twice fails it too.
    run.meta = meta;
    expect(analyzeRun(run).replicas).toBeNull();
    expect(analyzeRun(run).verdict.failures).toEqual(["2 fault(s) were stored more than once"]);
  });

  test("replica mode: a completed run whose replica was killed before the outcome's commit is truly interrupted; settled before the kill, it is a double run", () => {
    const run = cleanRun();
    run.meta = { ...meta, replicas: { names: ["r1", "r2"], lease_seconds: 3 } };
    // i1's agent ends at 101; r1 is killed at 150; r2 settles the run (closed at 3200) and runs it again.
    run.agentRecords = [
      ...execution("i1", 10, 100, "end"),
      ...execution("i2", 11, 2, "end"),
      ...execution("i1", 12, 3300, "end"),
    ];
    run.actions = [{ at_ms: 150, action: "kill-replica", target: "r1" }];
    run.runs = [
      { incident_seq: 1, status: "interrupted", started_ms: 90, finished_ms: 3200, replica: "r1" },
      { incident_seq: 2, status: "succeeded", started_ms: 1, finished_ms: 3, replica: "r2" },
      { incident_seq: 1, status: "succeeded", started_ms: 3290, finished_ms: 3301, replica: "r2" },
    ];
    const lost = analyzeRun(run);
    expect(lost.verdict).toEqual({ ok: true, failures: [] });
    expect(lost.agent).toMatchObject({
      outcome_lost_with_pod: 1,
      truly_interrupted_reruns: 1,
      double_runs: 0,
      interrupted_but_completed: 0,
    });
    expect(formatReport(lost)).toContain("the outcome died with its pod");
    // Settled before the kill (a live replica's run closed by mistake): a double run.
    const early = structuredClone(run);
    const [first] = early.runs;
    if (first) first.finished_ms = 140;
    expect(analyzeRun(early).agent).toMatchObject({ outcome_lost_with_pod: 0, double_runs: 1 });
    // Killed, but another replica's run: no proof.
    const other = structuredClone(run);
    other.actions = [{ at_ms: 150, action: "kill-replica", target: "r2" }];
    expect(analyzeRun(other).agent).toMatchObject({ outcome_lost_with_pod: 0, double_runs: 1 });
    // One process: never.
    const single = structuredClone(run);
    single.meta = meta;
    expect(analyzeRun(single).agent).toMatchObject({ outcome_lost_with_pod: 0, double_runs: 1 });
  });

  test("the table has one row per cluster and a total", () => {
    const lines = clusterTable(analyzeRun(cleanRun())).split("\n");
    expect(lines[0]).toMatch(/^cluster\s+sent\s+stored\s+lost\s+unsub\s+backfill\s+runs>1\s+double\s+return/);
    expect(lines).toHaveLength(6);
    expect(lines[5]).toMatch(/^total\s+2\s+2\s+0\s/);
  });
});

describe("chaos helpers", () => {
  test("the agent's record file parses into executions; a line cut by a kill is skipped", () => {
    const dir = tempDir();
    try {
      const file = writeFile(
        dir.path,
        "runs.log",
        "start i1 10 1000\nterm i1 10 1100\nstart i1 11 1200\nstart i2 12 1300\nend i1 11 1700\nsta",
      );
      expect(agentExecutions(readAgentRecords(file))).toEqual([
        { incident: "i1", pid: 10, started_ms: 1000, ended: "term", ended_ms: 1100 },
        { incident: "i1", pid: 11, started_ms: 1200, ended: "end", ended_ms: 1700 },
        { incident: "i2", pid: 12, started_ms: 1300, ended: null, ended_ms: null },
      ]);
    } finally {
      dir.cleanup();
    }
  });

  test("the agent script quotes its record path for the shell", () => {
    expect(agentScript("/tmp/it's here.log", 0.5)).toContain("RECORD='/tmp/it'\\''s here.log'");
  });

  test("return tracking: measured after the return, censored by a disruption or a faultline kill", () => {
    const records: ReturnRecord[] = [];
    const tracker = new ReturnTracker((entry) => records.push(entry));
    tracker.returned("a", "up", 1000);
    tracker.active("a", 900); // a line from before the return does not count
    expect(tracker.waiting("a")).toBe(true);
    tracker.active("a", 1250);
    tracker.returned("b", "drop", 2000);
    tracker.disrupted("b");
    tracker.returned("c", "sim-restart", 3000);
    tracker.faultlineKilled();
    tracker.returned("d", "up", 4000);
    expect(tracker.finish()).toEqual(["d"]);
    expect(records).toEqual([
      { cluster: "a", kind: "up", at_ms: 1000, active_ms: 1250 },
      { cluster: "b", kind: "drop", at_ms: 2000, active_ms: null, censored: true },
      { cluster: "c", kind: "sim-restart", at_ms: 3000, active_ms: null, censored: true },
      { cluster: "d", kind: "up", at_ms: 4000, active_ms: null },
    ]);
  });

  test("the seeded random generator repeats itself for a seed", () => {
    const draw = (seed: number) => {
      const rng = new SeededRandom(seed);
      return Array.from({ length: 5 }, () => rng.between(0, 100));
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    expect(new SeededRandom(1).pick([])).toBeUndefined();
  });

  test("spreads are nearest-rank percentiles", () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(spreadOf(values)).toEqual({ samples: 100, p50: 50, p99: 99, max: 100 });
    expect(spreadOf([])).toEqual({ samples: 0, p50: null, p99: null, max: null });
  });
});
