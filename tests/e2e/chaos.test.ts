/**
 * The chaos harness as CI runs it: `scripts/chaos.ts --seconds 20 --clusters 12` as a real process
 * (simulator processes, faultline, agents, seeded disruptions), which must report 0 lost among faults
 * sent to live subscriptions and 0 double agent runs; then the same run counted again, and counted with
 * `--self-check` (one stored fault deleted from a copy of the store, one completed run duplicated), which
 * must fail: the counting can fail. Every disruption is in: session drops, outages, simulator kills and
 * faultline SIGKILLs (agents that complete while faultline is down must not run again).
 */
import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { ChaosReport } from "../../scripts/chaos/analyze.ts";
import { type FinishedProcess, runToEnd } from "../helpers/process.ts";
import { tempDir } from "../helpers/tmp.ts";

const ROOT = resolve(import.meta.dir, "../..");
const dir = tempDir("faultline-chaos-test-");
afterAll(() => dir.cleanup());

/** Runs `scripts/chaos.ts` with `args` to its end. */
function chaos(args: string[]): Promise<FinishedProcess> {
  return runToEnd([process.execPath, join(ROOT, "scripts/chaos.ts"), ...args], ROOT);
}

function readReport(file: string): ChaosReport {
  return JSON.parse(readFileSync(file, "utf8")) as ChaosReport;
}

test("20 s of chaos on 12 clusters: nothing sent to a live subscription is lost, no agent runs twice; the counting can fail", async () => {
  const run = join(dir.path, "run");
  const figures = join(dir.path, "chaos.json");
  const started = Date.now();
  const result = await chaos([
    ...["--seconds", "20", "--clusters", "12", "--seed", "20261126"],
    ...["--dir", run, "--json", figures],
  ]);
  if (result.code !== 0) console.error(result.stdout, result.stderr);
  expect(result.code).toBe(0);
  expect(Date.now() - started).toBeLessThan(50_000);
  expect(result.stdout).toContain("chaos: seed 20261126; 12 clusters on 3 simulator processes; 20 s");
  expect(result.stdout).toMatch(
    /^cluster\s+sent\s+stored\s+lost\s+unsub\s+backfill\s+runs>1\s+double\s+return/m,
  );
  expect(result.stdout).toContain("verdict: PASS");

  const report = readReport(figures);
  expect(report.by_cluster).toHaveLength(12);
  expect(report.total.sent_subscribed).toBeGreaterThan(60);
  expect(report.total.lost).toBe(0);
  expect(report.total.stored).toBe(report.total.sent_subscribed);
  expect(report.total.double_runs).toBe(0);
  expect(report.agent.executions).toBeGreaterThan(60);
  expect(report.actions["drop-sessions"]).toBeGreaterThan(0);
  expect(report.actions.down).toBeGreaterThan(0);
  expect(report.actions["kill-sim"]).toBeGreaterThan(0);
  expect(report.actions["kill-faultline"]).toBeGreaterThan(0);
  expect(report.disruptions).toEqual([
    "session drops",
    "server outages",
    "simulator kills",
    "faultline kills",
  ]);
  expect(report.return_to_active.all.samples).toBeGreaterThan(10);
  expect(report.return_to_active.never_active).toEqual([]);
  expect(report.faultline.final_exit_code).toBe(0);
  expect(report.harness_errors).toEqual([]);

  // The kept run counted again gives the same figures.
  const again = join(dir.path, "again.json");
  const recount = await chaos(["--analyze", run, "--json", again]);
  expect(recount.code).toBe(0);
  expect(readReport(again).total).toEqual(report.total);

  // One stored fault deleted and one completed agent run repeated: both are caught, the exit code says so.
  const tampered = join(dir.path, "self-check.json");
  const check = await chaos(["--analyze", run, "--self-check", "--json", tampered]);
  expect(check.code).toBe(1);
  expect(check.stdout).toContain("verdict: FAIL");
  expect(check.stdout).toContain("1 fault(s) sent to a live subscription were not stored");
  expect(check.stdout).toContain("1 fault(s) had their agent run again after a run had completed");
  const checked = readReport(tampered);
  expect(checked.total.lost).toBe(1);
  expect(checked.lost.map((f) => f.name)).toEqual([checked.self_check?.deleted ?? "?"]);
  expect(checked.double_runs.map((f) => f.name)).toEqual([checked.self_check?.duplicated ?? "?"]);
}, 90_000);
