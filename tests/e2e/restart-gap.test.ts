/**
 * The restart gap: faults a server records while faultline is down (SIGKILL, or a graceful stop) are
 * backfilled from its `events_list` on the next start, each run once, and the session that died with
 * the killed process is ended on the server (HTTP DELETE).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type Simulator, startSimulator } from "../../scripts/sim/index.ts";
import { runFaultline } from "../helpers/process.ts";
import { simConfig } from "../helpers/sim-config.ts";
import { countState, queryState } from "../helpers/state.ts";
import { tempDir } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

const dir = tempDir();
let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ clusters: ["gap", "calm"] });
});
afterAll(async () => {
  await sim?.stop();
  dir.cleanup();
});

function writeConfig(name: string, clusters: string[]): { config: string; state: string } {
  return simConfig(
    dir.path,
    sim,
    name,
    clusters,
    'agent: { command: ["/bin/true"], max_concurrent: 4 }\nping: { interval_seconds: 0.5, timeout_seconds: 2 }\n',
  );
}

/** Per incident: its object's name and how many agent runs it had. */
function incidentsOf(state: string): Array<{ name: string; runs: number }> {
  return queryState<{ name: string; runs: number }>(
    state,
    `SELECT json_extract(i.resource, '$.name') AS name,
       (SELECT count(*) FROM runs r WHERE r.incident_seq = i.seq) AS runs
     FROM incidents i ORDER BY name`,
  );
}

test("faults sent while faultline was SIGKILLed are backfilled from events_list on restart, one run each; the dead session is deleted", async () => {
  const { config, state } = writeConfig("killed", ["gap", "calm"]);
  const first = runFaultline(config);
  try {
    await first.waitActive(2);
    // The liveness of both clusters, with their session ids, reaches the store within a few seconds.
    await waitFor(
      "liveness stored",
      () => countState(state, "SELECT count(*) n FROM cluster_liveness WHERE session_id IS NOT NULL") === 2,
      10_000,
    );
    // Pushed and stored after the last stored liveness (most likely): the backfill lists it again,
    // with a derived fault id, and must know it is stored already.
    sim.inject("gap", { name: "before-kill" });
    await waitFor(
      "pushed fault triaged",
      () => countState(state, "SELECT count(*) n FROM runs WHERE status = 'succeeded'") === 1,
    );
  } finally {
    first.proc.kill("SIGKILL");
    await first.proc.exited;
  }
  // The killed process never closed its sessions: the server still holds them, with their subscriptions.
  expect(sim.stats("gap")).toMatchObject({ sessions: 1, subscriptions: 1, deletes: 0 });
  for (const name of ["down-1", "down-2", "down-3"]) expect(sim.inject("gap", { name })).toBe(0);

  const second = runFaultline(config);
  try {
    await second.waitActive(2);
    await waitFor(
      "gap backfilled and triaged",
      () => countState(state, "SELECT count(*) n FROM runs") === 4,
      15_000,
    );
    await waitFor(
      "old sessions deleted",
      () => sim.stats("gap").deletes === 1 && sim.stats("calm").deletes === 1,
    );
    // A fault pushed after the restart still arrives once.
    sim.inject("gap", { name: "after-restart" });
    await waitFor(
      "pushed after restart",
      () => countState(state, "SELECT count(*) n FROM runs") === 5,
      10_000,
    );
    await Bun.sleep(500);
  } finally {
    expect(await second.stop("SIGTERM")).toBe(0);
  }
  expect(incidentsOf(state)).toEqual([
    { name: "after-restart", runs: 1 },
    { name: "before-kill", runs: 1 },
    { name: "down-1", runs: 1 },
    { name: "down-2", runs: 1 },
    { name: "down-3", runs: 1 },
  ]);
  expect(
    second.logs.find((l) => l.msg === "backfilled events from the outage" && l.cluster === "gap"),
  ).toMatchObject({ events: 3 });
  expect(sim.stats("gap")).toMatchObject({ sessions: 0 });
}, 60_000);

test("faults sent while faultline was stopped gracefully are backfilled too; no session is left to delete", async () => {
  const { config, state } = writeConfig("graceful", ["calm"]);
  const first = runFaultline(config);
  await first.waitActive(1);
  expect(await first.stop("SIGTERM")).toBe(0);
  expect(queryState<{ session_id: string | null }>(state, "SELECT session_id FROM cluster_liveness")).toEqual(
    [{ session_id: null }],
  );
  const deletesBefore = sim.stats("calm").deletes;
  sim.inject("calm", { name: "while-stopped" });

  const second = runFaultline(config);
  try {
    await second.waitActive(1);
    await waitFor("backfilled", () => countState(state, "SELECT count(*) n FROM runs") === 1, 15_000);
  } finally {
    expect(await second.stop("SIGTERM")).toBe(0);
  }
  expect(incidentsOf(state)).toEqual([{ name: "while-stopped", runs: 1 }]);
  // The graceful stop's own DELETE, and the second run's: nothing more.
  expect(sim.stats("calm").deletes).toBe(deletesBefore + 1);
}, 30_000);
