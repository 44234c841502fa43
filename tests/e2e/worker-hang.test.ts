/**
 * A worker thread whose event loop stops turning (a runaway loop) is found by the supervisor's watchdog,
 * ended and restarted: its clusters reconnect and deliver again; the other worker's clusters never notice.
 * Real simulator servers on loopback, real worker threads, real agent processes.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { setLogSink } from "../../src/log.ts";
import { type Fleet, startFleet } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";

const HANG_SECONDS = 1.5;

describe("a hung worker", () => {
  let fleet: Fleet;
  const logs: string[] = [];
  let restoreSink: (line: string) => void;

  beforeAll(async () => {
    restoreSink = setLogSink((line) => logs.push(line));
    fleet = await startFleet({ clusters: ["east", "west"], workersMax: 2, hangSeconds: HANG_SECONDS });
    await fleet.waitActive();
  });
  afterAll(async () => {
    await fleet?.stop();
    setLogSink(restoreSink);
  });

  test("live workers are never taken for hung, however quiet their clusters", async () => {
    // No faults for several hang timeouts: only pings and the watchdog's own questions.
    await Bun.sleep(HANG_SECONDS * 3 * 1000);
    expect(fleet.app.supervisor.restarts).toEqual([0, 0]);
    expect(logs.some((line) => line.includes("worker hung"))).toBe(false);
  });

  test("a worker that stops answering is ended and restarted; its cluster delivers again, the other never notices", async () => {
    const hung = fleet.app.supervisor.workerOf("east");
    const other = fleet.app.supervisor.workerOf("west");
    expect(hung).not.toBe(other);
    const westSince = fleet.app.registry.get("west")?.since;
    fleet.app.supervisor.hangWorker(hung);
    await waitFor(
      "east failed as hung",
      () => fleet.app.registry.get("east")?.last_error?.includes("hung") === true,
    );
    expect(fleet.app.registry.get("east")?.status).toBe("failed");
    const line = logs.map((l) => JSON.parse(l)).find((l) => l.msg === "worker hung: no answer, ending it");
    expect(line?.worker).toBe(hung);
    expect(line?.silent_ms).toBeGreaterThanOrEqual(HANG_SECONDS * 1000);
    await fleet.waitActive(["east"]);
    expect(fleet.app.supervisor.restarts[hung]).toBe(1);
    expect(fleet.app.supervisor.restarts[other]).toBe(0);
    expect(fleet.app.registry.get("west")?.since).toBe(westSince);
    expect(fleet.sim.inject("east", { name: "after-hang" })).toBe(1);
    await waitFor("east delivers after the restart", () =>
      fleet
        .finishedRuns()
        .some((r) => r.result.cluster === "east" && r.stdin?.resource.name === "after-hang"),
    );
  });
});
