/**
 * `workers.threads: never`: the source stage on the main thread, end to end (real simulator servers, a
 * real store, real agents): faults reach the store and the agents; a crash of the source is counted and
 * the source restarted; a kill restarts it; a hang is refused; a reload adds, removes and changes
 * clusters; stop closes every session. And `auto` keeps worker threads where there is more than one core.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { setLogSink } from "../../src/log.ts";
import { type Fleet, startFleet } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";

const CLUSTERS = ["north", "south", "east"];

describe("workers.threads: never", () => {
  let fleet: Fleet;
  const logs: Record<string, unknown>[] = [];
  let restoreSink: () => void = () => {};

  beforeAll(async () => {
    const previous = setLogSink((line) => logs.push(JSON.parse(line)));
    restoreSink = () => setLogSink(previous);
    fleet = await startFleet({ clusters: CLUSTERS, threads: "never", logLevel: "info" });
    await fleet.waitActive();
  }, 20_000);
  afterAll(async () => {
    await fleet?.stop();
    restoreSink();
  });

  const delivered = (cluster: string, name: string): boolean =>
    fleet.finishedRuns().some((run) => run.result.cluster === cluster && run.stdin?.resource.name === name);

  test("one source on the main thread, no watchdog; faults reach the store and the agents", async () => {
    expect(logs.find((l) => l.msg === "workers started")).toMatchObject({ workers: 1, threads: false });
    expect(fleet.app.supervisor.assignment).toEqual([CLUSTERS]);
    for (const cluster of CLUSTERS) expect(fleet.sim.inject(cluster, { name: `first-${cluster}` })).toBe(1);
    for (const cluster of CLUSTERS) {
      await waitFor(`${cluster} delivered`, () => delivered(cluster, `first-${cluster}`));
    }
  }, 20_000);

  test("an error in the source is a crash of the source only: held events counted, it comes back", async () => {
    fleet.app.supervisor.failWorker(0);
    await Bun.sleep(50);
    fleet.sim.inject("north", { name: "held-when-crashed" });
    await waitFor("worker_crashed counted", () => fleet.app.dropped.worker_crashed === 1);
    expect(logs.find((l) => l.msg === "events lost: their worker crashed before sending them")).toMatchObject(
      {
        cluster: "north",
        events: 1,
      },
    );
    await waitFor("source restarted", () => fleet.app.supervisor.restarts[0] === 1);
    await fleet.waitActive();
    fleet.sim.inject("south", { name: "after-crash" });
    await waitFor("south delivers after the crash", () => delivered("south", "after-crash"));
  }, 20_000);

  test("a kill ends the source's sessions; it is restarted and its clusters reconnect", async () => {
    const unsubscribes = fleet.sim.stats("east").unsubscribeCalls;
    fleet.app.supervisor.killWorker(0);
    await waitFor("east failed", () => fleet.app.registry.get("east")?.status === "failed");
    await waitFor("old subscription ended", () => fleet.sim.stats("east").unsubscribeCalls > unsubscribes);
    await waitFor("source restarted", () => fleet.app.supervisor.restarts[0] === 2);
    await fleet.waitActive();
    expect(fleet.sim.stats("east").subscriptions).toBe(1);
    fleet.sim.inject("east", { name: "after-kill" });
    await waitFor("east delivers after the kill", () => delivered("east", "after-kill"));
  }, 20_000);

  test("a hang is refused (it would hang the process): logged, the source goes on", async () => {
    fleet.app.supervisor.hangWorker(0);
    await waitFor("hang refused", () =>
      logs.some((l) => l.msg === "hang refused: this source runs on the main thread"),
    );
    fleet.sim.inject("north", { name: "after-hang" });
    await waitFor("north delivers after the hang", () => delivered("north", "after-hang"));
  }, 20_000);

  test("a reload removes, changes and adds clusters in the inline source", async () => {
    const file = fleet.app.config.source;
    const original = readFileSync(file, "utf8");
    const eastUnsubscribes = fleet.sim.stats("east").unsubscribeCalls;
    const withoutEast = original
      .replace(/ {2}- name: east\n(?: {4}.*\n)+/, "")
      .replace("labels: { team: t-south }", "labels: { team: t-changed }");
    writeFileSync(file, withoutEast);
    expect(await fleet.app.reload("test")).toMatchObject({
      ok: true,
      clusters: { removed: ["east"], changed: ["south"] },
    });
    await waitFor("east unsubscribed", () => fleet.sim.stats("east").unsubscribeCalls > eastUnsubscribes);
    await waitFor("east's session closed", () => fleet.sim.stats("east").sessions === 0);
    await fleet.waitActive(["north", "south"]);
    fleet.sim.inject("south", { name: "after-change" });
    await waitFor("south delivers with its new labels", () =>
      fleet
        .finishedRuns()
        .some((run) => run.stdin?.resource.name === "after-change" && run.stdin.labels.team === "t-changed"),
    );
    writeFileSync(file, original);
    expect(await fleet.app.reload("test")).toMatchObject({ ok: true, clusters: { added: ["east"] } });
    await fleet.waitActive();
    expect(fleet.app.supervisor.assignment.flat().sort()).toEqual([...CLUSTERS].sort());
    fleet.sim.inject("east", { name: "after-add" });
    await waitFor("east delivers once added back", () => delivered("east", "after-add"));
  }, 30_000);

  test("stop unsubscribes and closes every session", async () => {
    await fleet.app.stop(2000);
    for (const cluster of CLUSTERS) {
      expect(fleet.sim.stats(cluster).subscriptions).toBe(0);
      await waitFor(`${cluster}'s sessions closed`, () => fleet.sim.stats(cluster).sessions === 0, 3000);
    }
  }, 20_000);
});

test("auto keeps worker threads on more than one core", async () => {
  expect(availableParallelism()).toBeGreaterThan(1); // this suite's machine; the one-core rule is unit-tested
  const logs: Record<string, unknown>[] = [];
  const previous = setLogSink((line) => logs.push(JSON.parse(line)));
  const fleet = await startFleet({ clusters: ["solo"], workersMax: 1, logLevel: "info" });
  try {
    await fleet.waitActive();
    expect(logs.find((l) => l.msg === "workers started")).toMatchObject({ workers: 1, threads: true });
  } finally {
    await fleet.stop();
    setLogSink(previous);
  }
}, 20_000);
