/**
 * Incidents are never lost: faultline as a real process, killed with SIGKILL while faults stream in
 * and agents run, restarted on the same state; graceful shutdown with running agents; start-up
 * errors for unusable state.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Simulator, startSimulator } from "../../scripts/sim/index.ts";
import { runFaultline } from "../helpers/process.ts";
import { agentConfig, timelineAgent as writeTimelineAgent } from "../helpers/sim-config.ts";
import { queryState } from "../helpers/state.ts";
import { tempDir } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

const dir = tempDir();
let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ clusters: ["c1", "c2", "g1"] });
});
afterAll(async () => {
  await sim?.stop();
  dir.cleanup();
});

/** An agent logging `start|end|term <incident> <ms>` to `timeline`; it sleeps `seconds` (interruptibly). */
function timelineAgent(name: string, timeline: string, seconds: number): string {
  return writeTimelineAgent(dir.path, name, timeline, seconds);
}

function writeConfig(
  name: string,
  clusters: string[],
  agent: string,
  extra = "",
): { config: string; state: string } {
  return agentConfig(dir.path, sim, name, clusters, agent, "max_concurrent: 2, timeout_seconds: 60", extra);
}

/** Per incident, its timeline entries in order; asserts no incident ever had two agents at once. */
function assertNoOverlap(timeline: string): Map<string, string[]> {
  const byIncident = new Map<string, string[]>();
  const lines = readFileSync(timeline, "utf8").trim().split("\n");
  const entries = lines.map((l) => l.split(" ")).sort((a, b) => Number(a[2]) - Number(b[2]));
  for (const [kind = "", id = ""] of entries) {
    const seq = byIncident.get(id) ?? [];
    if (kind === "start") expect(seq.at(-1) ?? "end").not.toBe("start");
    seq.push(kind);
    byIncident.set(id, seq);
  }
  return byIncident;
}

test("SIGKILL while faults stream in and agents run: on restart nothing stored is lost, the agents still running are adopted (one run each), never twice at once", async () => {
  const timeline = join(dir.path, "kill-timeline.txt");
  writeFileSync(timeline, "");
  const agent = timelineAgent("kill-agent.sh", timeline, 1.5);
  const clusters = ["c1", "c2"];
  const { config, state } = writeConfig("kill", clusters, agent);

  const first = runFaultline(config);
  let beforeKill: { events: number[]; incidents: string[] };
  try {
    await first.waitActive(clusters.length);
    for (let i = 0; i < 4; i++) {
      sim.inject("c1", { name: `pod-a${i}` });
      sim.inject("c2", { name: `pod-b${i}` });
    }
    await waitFor("two agents running", () => readFileSync(timeline, "utf8").trim().split("\n").length >= 2);
    // Faults keep streaming while we look.
    sim.inject("c1", { name: "pod-late" });
    await waitFor(
      "late fault stored",
      () => queryState<{ n: number }>(state, "SELECT count(*) n FROM events")[0]?.n === 9,
    );
    beforeKill = {
      events: queryState<{ id: number }>(state, "SELECT id FROM events ORDER BY id").map((r) => r.id),
      incidents: queryState<{ id: string }>(state, "SELECT id FROM incidents ORDER BY id").map((r) => r.id),
    };
  } finally {
    first.proc.kill("SIGKILL");
    await first.proc.exited;
  }
  expect(beforeKill.events).toHaveLength(9);
  const orphaned = queryState<{ id: string }>(
    state,
    "SELECT i.id FROM incidents i WHERE status = 'running'",
  ).map((r) => r.id);
  expect(orphaned).toHaveLength(2);

  const second = runFaultline(config);
  try {
    await second.waitActive(clusters.length);
    await waitFor(
      "every incident triaged",
      () =>
        queryState<{ n: number }>(state, "SELECT count(*) n FROM incidents WHERE status <> 'succeeded'")[0]
          ?.n === 0,
      30_000,
    );
  } finally {
    expect(await second.stop("SIGTERM")).toBe(0);
  }
  // Nothing stored before the kill was lost.
  const eventsAfter = queryState<{ id: number }>(state, "SELECT id FROM events ORDER BY id").map((r) => r.id);
  expect(eventsAfter.slice(0, beforeKill.events.length)).toEqual(beforeKill.events);
  expect(queryState<{ id: string }>(state, "SELECT id FROM incidents ORDER BY id").map((r) => r.id)).toEqual(
    beforeKill.incidents,
  );
  // The agents running at the kill outlived it (their supervisors did too): adopted, they finished once.
  for (const id of orphaned) {
    const runs = queryState<{ status: string }>(
      state,
      `SELECT r.status FROM runs r JOIN incidents i ON i.seq = r.incident_seq WHERE i.id = '${id}' ORDER BY r.id`,
    );
    expect(runs.map((r) => r.status)).toEqual(["succeeded"]);
  }
  // Never two at once, and nothing ran twice.
  const timelineByIncident = assertNoOverlap(timeline);
  for (const id of orphaned) expect(timelineByIncident.get(id)).toEqual(["start", "end"]);
  expect(timelineByIncident.size).toBe(9);
}, 60_000);

test("SIGTERM with an agent running: it may finish within shutdown_timeout_seconds; past it, it is interrupted and runs again on the next start", async () => {
  const timeline = join(dir.path, "graceful-timeline.txt");
  writeFileSync(timeline, "");
  const agent = timelineAgent("graceful-agent.sh", timeline, 0.5);
  const { config, state } = writeConfig("graceful", ["g1"], agent, "shutdown_timeout_seconds: 5\n");
  const run = runFaultline(config);
  await run.waitActive(1);
  sim.inject("g1", { name: "finishes" });
  await waitFor("agent started", () => readFileSync(timeline, "utf8").includes("start"));
  expect(await run.stop("SIGTERM")).toBe(0);
  expect(queryState<{ status: string }>(state, "SELECT status FROM incidents").map((r) => r.status)).toEqual([
    "succeeded",
  ]);
  expect([...assertNoOverlap(timeline).values()]).toEqual([["start", "end"]]);

  // A timeline of its own: the second store's first incident may have the first's id (both seq 1, and
  // the same second).
  const slowTimeline = join(dir.path, "graceful-slow-timeline.txt");
  writeFileSync(slowTimeline, "");
  const slowAgent = timelineAgent("graceful-slow.sh", slowTimeline, 30);
  const slow = writeConfig("graceful-slow", ["g1"], slowAgent, "shutdown_timeout_seconds: 0.2\n");
  const again = runFaultline(slow.config);
  await again.waitActive(1);
  sim.inject("g1", { name: "cut-short" });
  // Started means it wrote its start line: a run row comes before the agent's process has begun.
  await waitFor(
    "slow agent started",
    () =>
      queryState<{ n: number }>(slow.state, "SELECT count(*) n FROM runs")[0]?.n === 1 &&
      readFileSync(slowTimeline, "utf8").startsWith("start"),
  );
  expect(await again.stop("SIGTERM")).toBe(0);
  expect(
    queryState<{ status: string }>(slow.state, "SELECT status FROM incidents").map((r) => r.status),
  ).toEqual(["interrupted"]);
  const cut = [...assertNoOverlap(slowTimeline).values()];
  expect(cut).toHaveLength(1);
  expect(cut[0]?.[0]).toBe("start");
  expect(cut[0]).not.toContain("end");
}, 30_000);

test("unusable state at start-up is a clear error, not a crash later", async () => {
  const { config, state } = writeConfig("corrupt", ["g1"], "/bin/true");
  const first = runFaultline(config);
  await first.waitActive(1);
  expect(await first.stop("SIGTERM")).toBe(0);
  writeFileSync(
    join(state, "faultline.db"),
    "this is not a database, just some text that is long enough".repeat(100),
  );
  const broken = runFaultline(config);
  expect(await broken.proc.exited).toBe(1);
  expect(broken.stderr()).toContain(`faultline: cannot start: incident store ${join(state, "faultline.db")}`);
  expect(broken.stderr()).toContain("not a database");
});

test("a second faultline on the same state_dir refuses to start", async () => {
  const { config, state } = writeConfig("locked", ["g1"], "/bin/true");
  const first = runFaultline(config);
  try {
    await first.waitActive(1);
    const second = runFaultline(config);
    expect(await second.proc.exited).toBe(1);
    expect(second.stderr()).toContain(`state_dir is in use by another faultline (pid ${first.proc.pid}`);
    expect(second.stderr()).toContain(join(state, "faultline.pid"));
  } finally {
    expect(await first.stop("SIGTERM")).toBe(0);
  }
});

test("a second faultline never touches the database of a running one: the lock is taken before the store opens", async () => {
  const { config, state } = writeConfig("lock-first", ["g1"], "/bin/true");
  const first = runFaultline(config);
  try {
    await first.waitActive(1);
    // The first one's own write of its new session (within SESSION_FLUSH_MS of going active) is done.
    await waitFor(
      "the first one's session recorded",
      () =>
        queryState<{ session_id: string | null }>(
          state,
          "SELECT session_id FROM cluster_liveness WHERE cluster = 'g1'",
        )[0]?.session_id,
    );
    const opened = () =>
      queryState<{ value: string }>(state, "SELECT value FROM store_meta WHERE key = 'last_opened_at'")[0]
        ?.value;
    const before = opened();
    expect(before).toBeString();
    const walBefore = statSync(join(state, "faultline.db-wal"), { throwIfNoEntry: false })?.mtimeMs;
    const second = runFaultline(config);
    expect(await second.proc.exited).toBe(1);
    // Opening the store records the start-up; a second process that opened it before the lock would have.
    expect(opened()).toBe(before);
    expect(statSync(join(state, "faultline.db-wal"), { throwIfNoEntry: false })?.mtimeMs).toBe(walBefore);
  } finally {
    expect(await first.stop("SIGTERM")).toBe(0);
  }
});
