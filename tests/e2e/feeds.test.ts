/**
 * Push and poll feeds: auto mode falls back to polling events_list on servers without
 * events_subscribe (only new Warning events fire), and a push feed back from an outage backfills
 * what happened while it was down.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { ClustersBody } from "../../src/http/app.ts";
import type { Incident } from "../../src/incidents/model.ts";
import { type FinishedRun, type Fleet, startFleet } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";

const resourceName = (run: FinishedRun) => run.stdin?.resource.name ?? "";
const runNames = (fleet: Fleet, cluster: string) =>
  fleet
    .finishedRuns()
    .filter((r) => r.result.cluster === cluster)
    .map(resourceName)
    .sort();

describe("subscribe.mode auto (the default)", () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await startFleet({
      clusters: ["pushy", "stocky"],
      eventsSubscribe: { stocky: false },
      extra: "subscribe: { poll_interval_seconds: 0.2 }\n",
      beforeStart: (sim) => {
        // Present before faultline connects: must never fire.
        sim.inject("stocky", { name: "old-crash", reason: "BackOff" });
      },
    });
    await fleet.waitActive();
  });
  afterAll(() => fleet?.stop());

  test("pushes where the server has events_subscribe and polls where it does not; health shows each mode", async () => {
    const body = (await (await fetch(`${fleet.app.http?.url}/health/clusters`)).json()) as ClustersBody;
    const byName = Object.fromEntries(body.clusters.map((c) => [c.name, c]));
    expect(byName.pushy).toMatchObject({ status: "active", mode: "push", last_poll_at: null });
    expect(byName.stocky).toMatchObject({ status: "active", mode: "poll" });
    expect(Date.parse(byName.stocky?.last_poll_at ?? "")).toBeGreaterThan(0);
  });

  test("a new Warning event is polled into a fault; events from before the start, and Normal events, are not", async () => {
    fleet.sim.inject("stocky", { name: "new-crash", reason: "BackOff" });
    fleet.sim.inject("stocky", { name: "just-normal", reason: "Pulled", eventType: "Normal" });
    await waitFor("polled fault triaged", () => runNames(fleet, "stocky").includes("new-crash"));
    const run = fleet.finishedRuns().find((r) => resourceName(r) === "new-crash");
    expect(run?.env.KUBECONFIG).toBe(fleet.kubeconfigs.stocky);
    expect(run?.stdin).toMatchObject({ cluster: "stocky", fault_type: "CrashLoop", severity: "warning" });
    await Bun.sleep(600); // three more polls
    expect(runNames(fleet, "stocky")).toEqual(["new-crash"]);
  });

  test("a new occurrence of a known event fires again", async () => {
    await Bun.sleep(1100); // the stock server's timestamps have whole seconds
    fleet.sim.inject("stocky", { name: "old-crash", reason: "BackOff" });
    await waitFor("new occurrence triaged", () => runNames(fleet, "stocky").includes("old-crash"));
  });
});

describe("push feed back from an outage", () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await startFleet({ clusters: ["flaky"] });
    await fleet.waitActive();
  });
  afterAll(() => fleet?.stop());

  test("backfills the Warning events it missed while down, and only those", async () => {
    fleet.sim.inject("flaky", { name: "before-outage" });
    await waitFor("pre-outage fault", () => runNames(fleet, "flaky").includes("before-outage"));
    await fleet.sim.down("flaky");
    await waitFor("flaky failed", () => fleet.app.registry.get("flaky")?.status === "failed");
    expect(fleet.sim.inject("flaky", { name: "during-outage", reason: "BackOff" })).toBe(0);
    await fleet.sim.up("flaky");
    await fleet.waitActive(["flaky"]);
    await waitFor("backfilled fault triaged", () => runNames(fleet, "flaky").includes("during-outage"));
    await Bun.sleep(300);
    expect(runNames(fleet, "flaky")).toEqual(["before-outage", "during-outage"]);
  });

  test("a repeat across the outage joins its incident: pushed before and listed after, or listed and then pushed; one agent each", async () => {
    const incidentsOf = async (name: string): Promise<Incident[]> => {
      const { incidents } = (await (
        await fetch(`${fleet.app.http?.url}/incidents?cluster=flaky`)
      ).json()) as {
        incidents: Incident[];
      };
      return incidents.filter((i) => i.resource.name === name);
    };
    const counted = async (name: string, count: number) =>
      (await incidentsOf(name)).reduce((sum, i) => sum + i.count, 0) >= count;
    expect(fleet.sim.inject("flaky", { name: "pushed-then-listed" })).toBe(1);
    await waitFor("the pushed occurrence stored", () => counted("pushed-then-listed", 1));
    await Bun.sleep(1100); // the next occurrence in a later second (the listing's times are whole seconds)
    await fleet.sim.down("flaky");
    await waitFor("flaky failed", () => fleet.app.registry.get("flaky")?.status === "failed");
    expect(fleet.sim.inject("flaky", { name: "pushed-then-listed" })).toBe(0);
    expect(fleet.sim.inject("flaky", { name: "listed-then-pushed" })).toBe(0);
    await fleet.sim.up("flaky");
    await fleet.waitActive(["flaky"]);
    await waitFor("both listed by the backfill", async () => {
      return (await counted("pushed-then-listed", 2)) && (await counted("listed-then-pushed", 1));
    });
    await Bun.sleep(1100);
    expect(fleet.sim.inject("flaky", { name: "listed-then-pushed" })).toBe(1);
    await waitFor("the pushed repeat stored", () => counted("listed-then-pushed", 2));
    for (const name of ["pushed-then-listed", "listed-then-pushed"]) {
      const incidents = await incidentsOf(name);
      expect(incidents.map((i) => i.count)).toEqual([2]); // one incident, two events
    }
    await Bun.sleep(300);
    const runs = runNames(fleet, "flaky");
    expect(runs.filter((n) => n === "pushed-then-listed")).toHaveLength(1);
    expect(runs.filter((n) => n === "listed-then-pushed")).toHaveLength(1);
  });
});

describe("subscribe.mode poll", () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await startFleet({
      clusters: ["forced"],
      extra: "subscribe: { mode: poll, poll_interval_seconds: 0.2 }\n",
    });
    await fleet.waitActive();
  });
  afterAll(() => fleet?.stop());

  test("polls even a server that could push, and subscribes to nothing", async () => {
    expect(fleet.app.registry.get("forced")?.mode).toBe("poll");
    expect(fleet.sim.stats("forced").subscribeCalls).toBe(0);
    fleet.sim.inject("forced", { name: "polled-anyway", reason: "BackOff" });
    await waitFor("polled fault triaged", () => runNames(fleet, "forced").includes("polled-anyway"));
  });
});
