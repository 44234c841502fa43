/**
 * The cluster registry end to end: real simulator servers on loopback, real worker threads, real
 * agent processes, real health server.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { ClustersBody, HealthBody } from "../../src/http/app.ts";
import { setLogSink } from "../../src/log.ts";
import { MISSING_EVENTS_SUBSCRIBE } from "../../src/worker/push-feed.ts";
import { type Fleet, startFleet } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";

const CLUSTERS = ["east", "west", "north"];

describe("three clusters", () => {
  let fleet: Fleet;
  const logs: string[] = [];
  let restoreSink: (line: string) => void;

  beforeAll(async () => {
    restoreSink = setLogSink((line) => logs.push(line));
    fleet = await startFleet({ clusters: CLUSTERS, logLevel: "info" });
    await fleet.waitActive();
  });
  afterAll(async () => {
    await fleet?.stop();
    setLogSink(restoreSink);
  });

  const runsFor = (cluster: string) => fleet.finishedRuns().filter((r) => r.result.cluster === cluster);

  test("a fault from each cluster reaches the agent with that cluster's kubeconfig", async () => {
    for (const name of CLUSTERS) {
      expect(fleet.sim.inject(name, { name: `web-${name}`, severity: "critical" })).toBe(1);
    }
    await waitFor("three agent runs", () => fleet.finishedRuns().length >= 3);
    for (const name of CLUSTERS) {
      const [run] = runsFor(name);
      expect(run?.result.exit_code).toBe(0);
      expect(run?.env.KUBECONFIG).toBe(fleet.kubeconfigs[name]);
      expect(run?.env.FAULTLINE_CLUSTER).toBe(name);
      expect(run?.env.FAULTLINE_INCIDENT_ID).toBe(run?.id);
      expect(run?.env.FAULTLINE_WORKSPACE).toBe(run?.workspace);
      expect(run?.env.PWD).toBe(run?.workspace);
      expect(run?.stdin).toMatchObject({
        cluster: name,
        labels: { team: `t-${name}` },
        severity: "critical",
        resource: { name: `web-${name}` },
      });
    }
  });

  test("status changes are logged as JSON with the cluster name", () => {
    const statusLines = logs.map((l) => JSON.parse(l)).filter((l) => l.msg === "cluster status");
    for (const name of CLUSTERS) {
      const seen = statusLines.filter((l) => l.cluster === name).map((l) => l.status);
      expect(seen).toEqual(["connecting", "connected", "subscribing", "active"]);
    }
  });

  test("/health/clusters lists every cluster with its details and a summary, and no secrets", async () => {
    const response = await fetch(`${fleet.app.http?.url}/health/clusters`);
    expect(response.status).toBe(200);
    const text = await response.text();
    const body = JSON.parse(text) as ClustersBody;
    expect(body.summary).toEqual({ total: 3, active: 3, unhealthy: 0 });
    expect(body.clusters.map((c) => c.name)).toEqual(CLUSTERS);
    for (const cluster of body.clusters) {
      expect(cluster).toMatchObject({ status: "active", last_error: null, retry_in_ms: null });
      expect(cluster.labels).toEqual({ team: `t-${cluster.name}` });
      expect(cluster.event_count).toBeGreaterThanOrEqual(1);
      expect(Date.parse(cluster.last_event_at ?? "")).toBeGreaterThan(0);
      expect(Date.parse(cluster.since)).toBeGreaterThan(0);
    }
    expect(text).not.toContain("kubeconfig");
    expect(text).not.toContain("secret-token");
    const health = (await (await fetch(`${fleet.app.http?.url}/health`)).json()) as HealthBody;
    expect(health).toMatchObject({ status: "ok", summary: { total: 3, active: 3, unhealthy: 0 } });
  });

  test("one server stops: it shows failed with last_error, the others keep delivering; back up: active again", async () => {
    const before = fleet.finishedRuns().length;
    await fleet.sim.down("west");
    const west = await waitFor("west failed", () => {
      const state = fleet.app.registry.get("west");
      return state?.status === "failed" ? state : null;
    });
    expect(west.last_error).toBeTruthy();
    expect(west.retry_in_ms).toBeGreaterThan(0);
    const health = (await (await fetch(`${fleet.app.http?.url}/health`)).json()) as HealthBody;
    expect(health.status).toBe("degraded");
    expect(health.summary.unhealthy).toBe(1);

    expect(fleet.sim.inject("east", { name: "during-outage-east" })).toBe(1);
    expect(fleet.sim.inject("north", { name: "during-outage-north" })).toBe(1);
    await waitFor("two more runs", () => fleet.finishedRuns().length >= before + 2);
    expect(fleet.app.registry.get("east")?.status).toBe("active");
    expect(fleet.app.registry.get("north")?.status).toBe("active");

    await fleet.sim.up("west");
    await fleet.waitActive(["west"]);
    expect(fleet.app.registry.get("west")?.last_error).toBeNull();
    expect(fleet.sim.inject("west", { name: "after-outage-west" })).toBe(1);
    await waitFor("west delivers again", () =>
      runsFor("west").some((r) => r.stdin?.resource.name === "after-outage-west"),
    );
  });

  test("sessions dropped by the server (404): the connection starts over and re-subscribes", async () => {
    const stats = fleet.sim.stats("east");
    fleet.sim.dropSessions("east");
    await waitFor("east re-subscribed", () => fleet.sim.stats("east").subscribeCalls > stats.subscribeCalls);
    await fleet.waitActive(["east"]);
    const after = fleet.sim.stats("east");
    expect(after.setLevelCalls).toBeGreaterThan(stats.setLevelCalls);
    expect(after.subscriptions).toBe(1);
    expect(fleet.sim.inject("east", { name: "after-drop" })).toBe(1);
    await waitFor("east delivers after re-subscribe", () =>
      runsFor("east").some((r) => r.stdin?.resource.name === "after-drop"),
    );
  });

  test("a crashed worker is restarted; its cluster reconnects, the others never notice", async () => {
    const others = ["east", "west"].map((n) => ({ name: n, since: fleet.app.registry.get(n)?.since }));
    const index = fleet.app.supervisor.workerOf("north");
    fleet.app.supervisor.killWorker(index);
    await waitFor("north failed", () => fleet.app.registry.get("north")?.status === "failed");
    await fleet.waitActive(["north"]);
    expect(fleet.app.supervisor.restarts[index]).toBe(1);
    for (const other of others) expect(fleet.app.registry.get(other.name)?.since).toBe(other.since);
    expect(fleet.sim.inject("north", { name: "after-crash" })).toBe(1);
    await waitFor("north delivers after restart", () =>
      runsFor("north").some((r) => r.stdin?.resource.name === "after-crash"),
    );
  });

  test("subscription_error is shown in health and the connection stays", async () => {
    expect(fleet.sim.subscriptionError("north", "watch failed: forbidden")).toBe(1);
    await waitFor("subscription error recorded", () => fleet.app.registry.get("north")?.subscription_error);
    expect(fleet.app.registry.get("north")?.subscription_error).toBe("watch failed: forbidden");
    expect(fleet.app.registry.get("north")?.status).toBe("active");
  });

  test("malformed notifications are logged with the cluster and dropped; other loggers ignored; the connection stays", async () => {
    const before = fleet.app.dropped.malformed;
    fleet.sim.injectRaw("north", "kubernetes/faults", { faultId: "abc", severity: "extreme" });
    fleet.sim.injectRaw("north", "kubernetes/other", { hello: "world" });
    await waitFor("malformed counted", () => fleet.app.dropped.malformed === before + 1);
    const line = logs.map((l) => JSON.parse(l)).find((l) => l.msg === "malformed notification dropped");
    expect(line?.cluster).toBe("north");
    expect(line?.detail).toContain("data.");
    expect(fleet.app.registry.get("north")?.status).toBe("active");
  });
});

describe("routing", () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await startFleet({
      clusters: ["loud", "quiet", "strict"],
      clusterExtra: { quiet: "    triage: false\n", strict: "    severity_threshold: critical\n" },
    });
    await fleet.waitActive();
  });
  afterAll(() => fleet?.stop());

  test("triage: false and per-cluster thresholds record the fault without running an agent", async () => {
    fleet.sim.inject("quiet", { name: "q", severity: "critical" });
    fleet.sim.inject("strict", { name: "s-warning", severity: "warning" });
    fleet.sim.inject("strict", { name: "s-critical", severity: "critical" });
    fleet.sim.inject("loud", { name: "l-info", severity: "info" });
    await waitFor("two runs", () => fleet.finishedRuns().length >= 2);
    await Bun.sleep(300);
    const names = fleet
      .finishedRuns()
      .map((r) => r.stdin?.resource.name)
      .sort();
    expect(names).toEqual(["l-info", "s-critical"]);
    expect(fleet.app.registry.get("quiet")?.event_count).toBe(1);
    expect(fleet.app.registry.get("strict")?.event_count).toBe(2);
  });
});

describe("servers without the events extension, in push-only mode (subscribe.mode: faults)", () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await startFleet({
      clusters: ["stock", "ok"],
      eventsSubscribe: { stock: false },
      extra: "subscribe: { mode: faults }\n",
    });
  });
  afterAll(() => fleet?.stop());

  test("say so plainly in last_error, suggesting auto or poll; the other cluster is unaffected", async () => {
    await fleet.waitActive(["ok"]);
    const stock = await waitFor("stock failed", () => {
      const state = fleet.app.registry.get("stock");
      return state?.status === "failed" ? state : null;
    });
    expect(stock.last_error).toBe(MISSING_EVENTS_SUBSCRIBE);
  });
});

describe("a disabled cluster", () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await startFleet({ clusters: ["on", "off"], clusterExtra: { off: "    enabled: false\n" } });
    await fleet.waitActive(["on"]);
  });
  afterAll(() => fleet?.stop());

  test("is not connected and is listed as disabled", async () => {
    const body = (await (await fetch(`${fleet.app.http?.url}/health/clusters`)).json()) as ClustersBody;
    expect(body.clusters.find((c) => c.name === "off")?.status).toBe("disabled");
    expect(body.summary).toEqual({ total: 2, active: 1, unhealthy: 0 });
    expect(fleet.sim.stats("off").sessions).toBe(0);
  });
});
