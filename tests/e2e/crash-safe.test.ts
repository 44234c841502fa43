/**
 * Agent outcomes survive a crash, and agents are isolated: faultline as a real process, SIGKILLed while
 * agents run. Agents that finish while it is down are recorded with their true exit code, one still
 * going is adopted and waited for, a truly lost run is interrupted and whatever it left (a `setsid`
 * escapee) is ended; a graceful stop ends escapees too; the agent sees none of faultline's secrets.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Simulator, startSimulator } from "../../scripts/sim/index.ts";
import { runFaultline } from "../helpers/process.ts";
import { agentConfig, timelineAgent } from "../helpers/sim-config.ts";
import { queryState } from "../helpers/state.ts";
import { tempDir } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

const dir = tempDir();
let sim: Simulator;
/** Escapee pids the tests saw, ended at the end whatever happened. */
const escapees: number[] = [];

beforeAll(async () => {
  sim = await startSimulator({ clusters: ["k1", "k2", "k3", "k4"] });
});
afterAll(async () => {
  for (const pid of escapees) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone, as it should be
    }
  }
  await sim?.stop();
  dir.cleanup();
});

/**
 * An agent logging `start|end|term <incident> <ms>` to `timeline`, its environment to `env.txt`, and
 * leaving a `setsid` child (pid in `escapee.pid`); it sleeps `seconds`, then exits 3 if its event is
 * about a pod named `exit-3`, else 0.
 */
function agentScript(name: string, timeline: string, seconds: number): string {
  return timelineAgent(dir.path, name, timeline, seconds, {
    before: "env > env.txt\nsetsid sleep 1000 &\necho $! > escapee.pid",
    after: `if grep -q '"exit-3"' event.json; then exit 3; fi\nexit 0`,
  });
}

function writeConfig(
  name: string,
  cluster: string,
  agent: string,
  extra = "",
): { config: string; state: string } {
  const keys = "max_concurrent: 4, timeout_seconds: 60, env_passthrough: [PATH, PASSED_ON]";
  return agentConfig(dir.path, sim, name, [cluster], agent, keys, extra);
}

interface RunRow {
  incident_id: string;
  status: string;
  exit_code: number | null;
  pid: number | null;
  workspace: string;
}

function runs(state: string): RunRow[] {
  return queryState<RunRow>(
    state,
    `SELECT i.id AS incident_id, r.status, r.exit_code, r.pid, r.workspace
     FROM runs r JOIN incidents i ON i.seq = r.incident_seq ORDER BY r.id`,
  );
}

function timelineOf(timeline: string): Map<string, string[]> {
  const byIncident = new Map<string, string[]>();
  for (const line of readFileSync(timeline, "utf8").trim().split("\n").filter(Boolean)) {
    const [kind = "", id = ""] = line.split(" ");
    byIncident.set(id, [...(byIncident.get(id) ?? []), kind]);
  }
  return byIncident;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

function escapeeOf(workspace: string): number {
  const pid = Number(readFileSync(join(workspace, "escapee.pid"), "utf8").trim());
  escapees.push(pid);
  return pid;
}

test("SIGKILL with 4 agents running that finish while faultline is down: on restart one run each, with its true exit code and its message, no second triage", async () => {
  const timeline = join(dir.path, "finished-timeline.txt");
  writeFileSync(timeline, "");
  // A sink told of triaged and failed runs (unreachable: the messages wait in the outbox, as planned).
  const sink =
    'notify: [{ name: ops, type: webhook, url: "http://127.0.0.1:9/hook", on: [triaged, failed] }]\n';
  const { config, state } = writeConfig("finished", "k1", agentScript("finished.sh", timeline, 1.5), sink);
  const first = runFaultline(config, { AWS_SECRET_ACCESS_KEY: "planted-secret", PASSED_ON: "passed" });
  try {
    await first.waitActive(1);
    for (const name of ["pod-a", "pod-b", "pod-c", "exit-3"]) sim.inject("k1", { name });
    await waitFor("4 agents running", () => timelineOf(timeline).size === 4, 15_000);
  } finally {
    first.proc.kill("SIGKILL");
    await first.proc.exited;
  }
  const open = runs(state);
  expect(open.map((r) => r.status)).toEqual(["running", "running", "running", "running"]);
  // While faultline is down, every agent finishes and its supervisor records it.
  await waitFor(
    "4 agents finished",
    () => [...timelineOf(timeline).values()].every((kinds) => kinds.includes("end")),
    15_000,
  );
  await waitFor("supervisors gone", () => open.every((r) => r.pid !== null && !alive(r.pid)), 10_000);
  for (const run of open) expect(existsSync(join(run.workspace, "result.json"))).toBe(true);

  const second = runFaultline(config);
  try {
    await second.waitActive(1);
    await second.waitForLog("recorded", (l) => l.msg === "faultline started");
  } finally {
    expect(await second.stop("SIGTERM")).toBe(0);
  }
  const after = runs(state);
  expect(after).toHaveLength(4);
  const exitCodes = after.map((r) => r.exit_code).sort();
  expect(exitCodes).toEqual([0, 0, 0, 3]);
  for (const run of after) expect(run.status).toBe(run.exit_code === 0 ? "succeeded" : "failed");
  const incidents = queryState<{ status: string; attempts: number }>(
    state,
    "SELECT status, attempts FROM incidents",
  );
  expect(incidents.map((i) => i.attempts)).toEqual([1, 1, 1, 1]);
  // Each run recorded at the restart got its message, planned with the outcome (3 triaged, 1 failed).
  const messages = queryState<{ trigger: string }>(
    state,
    "SELECT trigger FROM notifications ORDER BY trigger",
  );
  expect(messages.map((m) => m.trigger)).toEqual(["failed", "triaged", "triaged", "triaged"]);
  for (const kinds of timelineOf(timeline).values()) expect(kinds).toEqual(["start", "end"]);
  // The agents left setsid children; their supervisors ended them although faultline was down.
  for (const run of after) expect(alive(escapeeOf(run.workspace))).toBe(false);
  // Isolation: faultline's planted secret never reached an agent; the passed-through variable did.
  const env = readFileSync(join(after[0]?.workspace ?? "", "env.txt"), "utf8");
  expect(env).not.toContain("planted-secret");
  expect(env).toContain("PASSED_ON=passed\n");
  expect(env).not.toMatch(/^HOME=/m);
}, 60_000);

test("a run still going at restart is adopted and waited for: one run, no second agent", async () => {
  const timeline = join(dir.path, "adopted-timeline.txt");
  writeFileSync(timeline, "");
  const { config, state } = writeConfig("adopted", "k2", agentScript("adopted.sh", timeline, 3));
  const first = runFaultline(config);
  try {
    await first.waitActive(1);
    sim.inject("k2", { name: "slow-pod" });
    await waitFor("agent running", () => timelineOf(timeline).size === 1, 15_000);
  } finally {
    first.proc.kill("SIGKILL");
    await first.proc.exited;
  }
  const second = runFaultline(config);
  try {
    const adopted = await second.waitForLog(
      "adopted",
      (l) => l.msg === "adopted an agent run left by a previous faultline",
    );
    expect(adopted.cluster).toBe("k2");
    expect(runs(state).map((r) => r.status)).toEqual(["running"]);
    await waitFor("adopted run recorded", () => runs(state)[0]?.status === "succeeded", 15_000);
  } finally {
    expect(await second.stop("SIGTERM")).toBe(0);
  }
  expect(runs(state).map((r) => [r.status, r.exit_code])).toEqual([["succeeded", 0]]);
  expect([...timelineOf(timeline).values()]).toEqual([["start", "end"]]);
}, 60_000);

test("a truly lost run (faultline and the supervisor both killed) is interrupted on restart, its setsid escapee ended, then run again", async () => {
  const timeline = join(dir.path, "lost-timeline.txt");
  writeFileSync(timeline, "");
  const { config, state } = writeConfig(
    "lost",
    "k3",
    agentScript("lost.sh", timeline, 30),
    "shutdown_timeout_seconds: 0.5\n",
  );
  const first = runFaultline(config);
  let escapee = 0;
  try {
    await first.waitActive(1);
    sim.inject("k3", { name: "lost-pod" });
    await waitFor("agent running", () => timelineOf(timeline).size === 1, 15_000);
    const [run] = runs(state);
    await waitFor("escapee started", () => existsSync(join(run?.workspace ?? "", "escapee.pid")));
    escapee = escapeeOf(run?.workspace ?? "");
    // The supervisor dies too (as on a machine that lost power, minus the agents).
    process.kill(run?.pid ?? 0, "SIGKILL");
  } finally {
    first.proc.kill("SIGKILL");
    await first.proc.exited;
  }
  expect(alive(escapee)).toBe(true);
  const second = runFaultline(config);
  try {
    await second.waitForLog("ended", (l) => l.msg === "ended an agent left running by a previous faultline");
    expect(alive(escapee)).toBe(false);
    await waitFor("run again", () => runs(state).length === 2, 15_000);
  } finally {
    expect(await second.stop("SIGTERM")).toBe(0);
  }
  expect(runs(state).map((r) => r.status)).toEqual(["interrupted", "interrupted"]);
  // The retry's own escapee went with its graceful stop.
  expect(alive(escapeeOf(runs(state)[1]?.workspace ?? ""))).toBe(false);
}, 60_000);
