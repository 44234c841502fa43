/** The worker thread itself (src/worker/entry.ts), against real simulator servers: how its reports cross. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type Simulator, startSimulator } from "../../scripts/sim/index.ts";
import { startThread } from "../../src/runtime/threads.ts";
import { ALIVE_BATCH_MS, type MainToWorker, type WorkerToMain } from "../../src/worker/protocol.ts";
import { connectionSettings } from "../helpers/connection-settings.ts";
import { waitFor } from "../helpers/wait.ts";

const CLUSTERS = ["a", "b", "c"];
const settings = connectionSettings({ interval_seconds: 0.1, timeout_seconds: 5 }, 4);

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ clusters: CLUSTERS });
});
afterAll(async () => {
  await sim.stop();
});

test("alive reports cross in one message per moment, the latest per cluster, and all before `stopped`", async () => {
  const messages: Array<{ at: number; message: WorkerToMain }> = [];
  let ended = false;
  const thread = startThread<MainToWorker, WorkerToMain>(
    new URL("../../src/worker/entry.ts", import.meta.url).href,
    {
      message: (message) => messages.push({ at: performance.now(), message }),
      error: () => {},
      exit: () => {
        ended = true;
      },
    },
  );
  try {
    thread.post({
      type: "start",
      clusters: CLUSTERS.map((name) => ({ name, mcp_endpoint: sim.endpoint(name), labels: {} })),
      settings,
    });
    const active = () =>
      messages.filter(({ message }) => message.type === "status" && message.status === "active").length;
    await waitFor("every cluster active", () => active() === CLUSTERS.length);
    // A new session crosses at once, not with the next batch (a taker after a crash must find it to end it).
    const sessionsReported = () =>
      new Set(
        messages.flatMap(({ message }) =>
          message.type === "alives" ? message.reports.filter((r) => r.session_id).map((r) => r.cluster) : [],
        ),
      ).size;
    await waitFor(
      "each new session reported",
      () => sessionsReported() === CLUSTERS.length,
      ALIVE_BATCH_MS / 2,
    );
    const from = messages.length;
    // Pings every 100 ms: 3.5 s is ~35 proofs of life per cluster, and the connections report one every 2 s
    // (the next after the session's own report crosses with a batch, up to 1 s later).
    await Bun.sleep(3500);
    const window = messages.slice(from);
    // Single reports never cross (the protocol has no such message; checked at run time all the same).
    expect(window.some(({ message }) => (message.type as string) === "alive")).toBe(false);
    const batches = window.filter(({ message }) => message.type === "alives");
    expect(batches.length).toBeGreaterThanOrEqual(1);
    expect(batches.length).toBeLessThanOrEqual(Math.ceil(3500 / ALIVE_BATCH_MS) + 1);
    for (const { message } of batches) {
      if (message.type !== "alives") continue;
      const clusters = message.reports.map((report) => report.cluster);
      expect(new Set(clusters).size).toBe(clusters.length);
    }
    // Stopping: each connection's last report (session closed: null) arrives before `stopped`.
    const stopFrom = messages.length;
    thread.post({ type: "stop" });
    await waitFor("stopped", () => messages.some(({ message }) => message.type === "stopped"));
    const tail = messages.slice(stopFrom).map(({ message }) => message);
    const stoppedAt = tail.findIndex((message) => message.type === "stopped");
    const closed = tail
      .slice(0, stoppedAt)
      .flatMap((message) => (message.type === "alives" ? message.reports : []))
      .filter((report) => report.session_id === null)
      .map((report) => report.cluster);
    expect(closed.sort()).toEqual(CLUSTERS);
  } finally {
    thread.terminate();
    await waitFor("worker ended", () => ended);
  }
});
