/** LivenessRecorder: the latest report per cluster, written in one batch per flush, never per report. */
import { afterEach, expect, test } from "bun:test";
import {
  BACKFILL_OVERLAP_MS,
  LivenessRecorder,
  resumeStates,
  withLiveness,
} from "../../src/cluster/liveness.ts";
import type { FaultEvent } from "../../src/events/fault.ts";
import type { ClusterLiveness } from "../../src/incidents/model.ts";
import type { AliveMessage, WorkerToMain } from "../../src/worker/protocol.ts";
import { waitFor } from "../helpers/wait.ts";

const recorders: LivenessRecorder[] = [];
afterEach(async () => {
  for (const recorder of recorders.splice(0)) await recorder.stop();
});

function alive(cluster: string, at: string, session_id: string | null = "s-1"): AliveMessage {
  return { type: "alive", cluster, at, session_id };
}

function recorderWith(writes: ClusterLiveness[][], fail = () => false): LivenessRecorder {
  const recorder = new LivenessRecorder(
    {
      recordLiveness: (batch) => {
        if (fail()) throw new Error("database is locked");
        writes.push([...batch]);
      },
    },
    60_000,
  );
  recorders.push(recorder);
  return recorder;
}

test("many reports become one write of the latest per cluster", async () => {
  const writes: ClusterLiveness[][] = [];
  const recorder = recorderWith(writes);
  for (let second = 10; second < 40; second++) recorder.record(alive("a", `2026-11-25T03:00:${second}Z`));
  recorder.record(alive("b", "2026-11-25T03:00:05Z", null));
  expect(writes).toEqual([]);
  await recorder.flush();
  expect(writes).toEqual([
    [
      { cluster: "a", last_alive_ms: Date.parse("2026-11-25T03:00:39Z"), session_id: "s-1" },
      { cluster: "b", last_alive_ms: Date.parse("2026-11-25T03:00:05Z"), session_id: null },
    ],
  ]);
  await recorder.flush();
  expect(writes).toHaveLength(1);
});

test("a failed write is kept for the next flush; stop writes what is left", async () => {
  const writes: ClusterLiveness[][] = [];
  let failing = true;
  const recorder = recorderWith(writes, () => failing);
  recorder.record(alive("a", "2026-11-25T03:00:10Z"));
  await recorder.flush();
  expect(writes).toEqual([]);
  failing = false;
  await recorder.stop();
  expect(writes.map((batch) => batch.map((r) => r.cluster))).toEqual([["a"]]);
});

test("withLiveness takes alive reports off before fan-in and passes everything else on", async () => {
  const writes: ClusterLiveness[][] = [];
  const recorder = recorderWith(writes);
  const passed: WorkerToMain[] = [];
  const handle = withLiveness(recorder, (message) => passed.push(message));
  handle({ type: "alives", reports: [alive("a", "2026-11-25T03:00:10Z")] });
  handle({ type: "stopped" });
  expect(passed).toEqual([{ type: "stopped" }]);
  await recorder.flush();
  expect(writes).toHaveLength(1);
});

test("withLiveness records every report of a worker's batch", async () => {
  const writes: ClusterLiveness[][] = [];
  const recorder = recorderWith(writes);
  const passed: WorkerToMain[] = [];
  const handle = withLiveness(recorder, (message) => passed.push(message));
  handle({
    type: "alives",
    reports: [alive("a", "2026-11-25T03:00:10Z"), alive("b", "2026-11-25T03:00:11Z")],
  });
  expect(passed).toEqual([]);
  await recorder.flush();
  expect(writes.map((batch) => batch.map((r) => r.cluster).sort())).toEqual([["a", "b"]]);
});

test("resumeStates backfills from before the last-alive moment (uncommitted events) and skips what is stored", async () => {
  const lastAlive = Date.parse("2026-11-25T03:00:39Z");
  const stored = {
    cluster: "a",
    type: "CrashLoopBackOff",
    severity: "critical",
    resource: { kind: "Pod", namespace: "shop", name: "api-1" },
    timestamp: "2026-11-25T03:00:30Z",
    received_at: "2026-11-25T03:00:30Z",
    message: "back-off",
    fault_id: "f-1",
  } as unknown as FaultEvent;
  const asked: Array<[string, number]> = [];
  const states = await resumeStates(
    {
      liveness: () => [{ cluster: "a", last_alive_ms: lastAlive, session_id: "s-9" }],
      recentEvents: (cluster, sinceMs) => {
        asked.push([cluster, sinceMs]);
        return [stored];
      },
    },
    new Set(["a"]),
  );
  const resume = states.get("a");
  expect(resume?.session_id).toBe("s-9");
  expect(Date.parse(resume?.since ?? "")).toBe(lastAlive - BACKFILL_OVERLAP_MS);
  expect(Date.parse(resume?.last_alive ?? "")).toBe(lastAlive);
  expect(asked[0]?.[1]).toBeLessThanOrEqual(lastAlive - BACKFILL_OVERLAP_MS);
  expect(resume?.seen).toHaveLength(1);
  expect((await resumeStates({ liveness: () => [], recentEvents: () => [] })).size).toBe(0);
});

test("a changed session is written within the session window, without waiting for the flush interval", async () => {
  const writes: ClusterLiveness[][] = [];
  const recorder = new LivenessRecorder(
    {
      recordLiveness: (batch) => {
        writes.push([...batch]);
      },
    },
    60_000,
    20,
  );
  recorders.push(recorder);
  recorder.record(alive("a", "2026-11-25T03:00:10Z", "s-1"));
  recorder.record(alive("b", "2026-11-25T03:00:10Z", "s-9"));
  await waitFor("the new sessions written", () => writes.length === 1, 2000, 5);
  expect(writes[0]?.map((r) => `${r.cluster}=${r.session_id}`)).toEqual(["a=s-1", "b=s-9"]);
  // Same session again: waits for the interval.
  recorder.record(alive("a", "2026-11-25T03:00:12Z", "s-1"));
  await Bun.sleep(100);
  expect(writes).toHaveLength(1);
  // A new session (a reconnect), and a clean close: written soon, the latest report each.
  recorder.record(alive("a", "2026-11-25T03:00:14Z", "s-2"));
  recorder.record(alive("b", "2026-11-25T03:00:14Z", null));
  await waitFor("the changed sessions written", () => writes.length === 2, 2000, 5);
  expect(writes[1]?.map((r) => `${r.cluster}=${r.session_id}`)).toEqual(["a=s-2", "b=null"]);
});
