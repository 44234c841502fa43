/**
 * The chaos harness in replica mode, as CI runs it: `scripts/chaos.ts --replicas 3 --seconds 20
 * --clusters 12` as a real process (a throw-away PostgreSQL, simulator processes, three faultline
 * replicas, agents, seeded disruptions with at least one replica pod kill), which must report 0 lost
 * among faults sent to live subscriptions, no fault stored twice, 0 double agent runs (a rerun counts
 * as truly interrupted only when the data proves the outcome died with its pod) and no fault delivered
 * to two subscriptions at once, with the killed replica's clusters active elsewhere; then the run counted with
 * `--self-check` (from its PostgreSQL snapshot), which must fail. Skipped, saying so, without PostgreSQL's
 * server binaries.
 *
 * A failed run's files (each replica's log, the agent's record, the store snapshot, the workspaces) are
 * copied to `$FAULTLINE_CHAOS_KEEP_DIR` (default `<tmpdir>/faultline-chaos-failed`) and the path is printed:
 * the temporary run directory itself is removed after the test.
 */
import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { ChaosReport } from "../../scripts/chaos/analyze.ts";
import { keepRunFiles } from "../../scripts/chaos/keep.ts";
import { postgresAvailable } from "../helpers/postgres.ts";
import { type FinishedProcess, runToEnd } from "../helpers/process.ts";
import { tempDir } from "../helpers/tmp.ts";

const ROOT = resolve(import.meta.dir, "../..");
const LEASE_SECONDS = 3;
const available = postgresAvailable("tests/e2e/chaos-replicas.test.ts");
const dir = tempDir("faultline-chaos-replicas-test-");
/** Where a failed run's files are kept. */
const KEEP_DIR = process.env.FAULTLINE_CHAOS_KEEP_DIR ?? join(tmpdir(), "faultline-chaos-failed");
afterAll(() => dir.cleanup());

function chaos(args: string[]): Promise<FinishedProcess> {
  return runToEnd([process.execPath, join(ROOT, "scripts/chaos.ts"), ...args], ROOT);
}

function readReport(file: string): ChaosReport {
  return JSON.parse(readFileSync(file, "utf8")) as ChaosReport;
}

/** The run's checks: its exit, its output and its figures. */
function checkRun(result: FinishedProcess, started: number, report: ChaosReport): void {
  expect(result.code).toBe(0);
  expect(Date.now() - started).toBeLessThan(75_000);
  expect(result.stdout).toContain("3 replicas on PostgreSQL (lease 3 s)");
  expect(result.stdout).toContain("verdict: PASS");
  expect(result.stdout).toMatch(/^replica killed → its clusters active on another: /m);

  expect(report.total.sent_subscribed).toBeGreaterThan(60);
  expect(report.total.lost).toBe(0);
  expect(report.total.double_runs).toBe(0);
  expect(report.duplicated).toEqual([]);
  expect(report.agent.interrupted_but_completed).toBe(0);
  expect(report.multi_delivered).toEqual([]);
  expect(report.replicas?.names).toEqual(["r1", "r2", "r3"]);
  expect(report.replicas?.kills).toBeGreaterThanOrEqual(1);
  expect(report.actions["start-replica"]).toBeGreaterThanOrEqual(1);
  // The killed replica's clusters moved: measured, within the lease plus a few seconds on this machine.
  const moved = (report.replicas?.takeover.samples ?? 0) + (report.replicas?.back_on_same.samples ?? 0);
  expect(moved).toBeGreaterThan(0);
  expect(report.replicas?.takeover.max ?? 0).toBeLessThan((LEASE_SECONDS + 5) * 1000);
  expect(report.return_to_active.never_active).toEqual([]);
  expect(report.faultline.final_exit_code).toBe(0);
  expect(report.harness_errors).toEqual([]);
}

test.skipIf(!available)(
  "20 s of chaos on 3 replicas × 12 clusters with a replica pod kill: nothing sent to a live subscription is lost, nothing is stored twice, no agent runs twice, no cluster has two live subscriptions; the counting can fail",
  async () => {
    const run = join(dir.path, "run");
    const figures = join(dir.path, "chaos.json");
    const started = Date.now();
    const result = await chaos([
      ...["--replicas", "3", "--lease-seconds", String(LEASE_SECONDS)],
      ...["--seconds", "20", "--clusters", "12", "--seed", "20261127"],
      ...["--dir", run, "--json", figures, "--keep-failed", KEEP_DIR],
    ]);
    if (result.code !== 0) console.error(result.stdout, result.stderr);
    try {
      checkRun(result, started, readReport(figures));
    } catch (error) {
      // The harness keeps a run whose verdict failed; a check of the test's own failed: keep it here.
      if (!result.stdout.includes("failed run kept in")) {
        const kept = keepRunFiles(run, KEEP_DIR);
        console.error(`failed run kept in ${kept.dir}; faultline logs:\n  ${kept.logs.join("\n  ")}`);
      }
      throw error;
    }

    const tampered = join(dir.path, "self-check.json");
    const check = await chaos(["--analyze", run, "--self-check", "--json", tampered]);
    expect(check.code).toBe(1);
    const checked = readReport(tampered);
    expect(checked.total.lost).toBe(1);
    expect(checked.lost.map((f) => f.name)).toEqual([checked.self_check?.deleted ?? "?"]);
    expect(checked.double_runs.map((f) => f.name)).toEqual([checked.self_check?.duplicated ?? "?"]);
  },
  100_000,
);
