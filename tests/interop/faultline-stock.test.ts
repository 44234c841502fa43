/**
 * faultline against the REAL stock kubernetes-mcp-server (npm, 0.0.67) whose kubeconfig points at a
 * fake Kubernetes API on loopback: auto mode falls back to polling, new Warning events reach the agent
 * with that cluster's kubeconfig, old ones do not; push-only mode fails plainly; and a mixed fleet
 * (one simulated events server, one stock server) delivers from both.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type Simulator, startSimulator } from "../../scripts/sim/index.ts";
import { startFaultline } from "../../src/app.ts";
import { parseConfig } from "../../src/config/load.ts";
import type { Faultline } from "../../src/faultline.ts";
import { setLogSink } from "../../src/log.ts";
import { MISSING_EVENTS_SUBSCRIBE } from "../../src/worker/push-feed.ts";
import { type FakeKube, startFakeKube } from "../helpers/fake-kube.ts";
import { finishedRuns, RECORDING_AGENT } from "../helpers/fleet.ts";
import { type StockServer, startStockServer, stockServerAvailable } from "../helpers/stock-server.ts";
import { tempDir, writeFile, writeKubeconfig } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

/** The real binary comes from an optional dependency that exists for linux/x64 only; elsewhere these tests skip. */
const binaryInstalled = stockServerAvailable();

const dir = tempDir("faultline-interop-");
let fake: FakeKube;
let stock: StockServer;
let sim: Simulator;
let stockKubeconfig: string;
let pushKubeconfig: string;
const apps: Faultline[] = [];
let restoreSink: (line: string) => void;

beforeAll(async () => {
  if (!binaryInstalled) return;
  restoreSink = setLogSink(() => {});
  fake = await startFakeKube();
  fake.addEvent({
    namespace: "shop",
    kind: "Pod",
    name: "old-crash",
    reason: "BackOff",
    message: "before start",
  });
  stockKubeconfig = fake.writeKubeconfig(dir.path, "stock.kubeconfig");
  stock = await startStockServer(stockKubeconfig);
  sim = await startSimulator({ clusters: ["events-ext"] });
  pushKubeconfig = writeKubeconfig(dir.path, "push.kubeconfig");
  writeFile(dir.path, "agent.sh", RECORDING_AGENT, 0o755);
});
afterAll(async () => {
  if (!binaryInstalled) return;
  await Promise.all(apps.map((app) => app.stop(2000)));
  await sim?.stop();
  await stock?.stop();
  await fake?.stop();
  setLogSink(restoreSink);
  dir.cleanup();
});

async function start(name: string, mode: string): Promise<Faultline> {
  const text = `clusters:
  - { name: stock, mcp_endpoint: "${stock.endpoint}", kubeconfig: ./stock.kubeconfig }
  - { name: events-ext, mcp_endpoint: "${sim.endpoint("events-ext")}", kubeconfig: ./push.kubeconfig }
subscribe: { mode: ${mode}, poll_interval_seconds: 0.3 }
agent: { command: ["./agent.sh"] }
reconnect: { initial_seconds: 0.1, max_seconds: 0.5 }
health: { enabled: false }
state_dir: ./${name}-state
log_level: error
`;
  const app = await startFaultline(parseConfig(text, writeFile(dir.path, `${name}.yaml`, text), {}));
  apps.push(app);
  return app;
}

const runNames = (state: string) =>
  finishedRuns(`${dir.path}/${state}`).map((r) => ({
    cluster: r.result.cluster,
    name: r.stdin?.resource.name ?? "",
    kubeconfig: r.env.KUBECONFIG,
  }));

test.skipIf(!binaryInstalled)(
  "mixed fleet in auto mode: the stock server is polled, the events server pushes, both deliver with their own kubeconfig",
  async () => {
    const app = await start("auto", "auto");
    await waitFor("both active", () => app.registry.list().every((c) => c.status === "active"), 15_000);
    expect(app.registry.get("stock")?.mode).toBe("poll");
    expect(app.registry.get("events-ext")?.mode).toBe("push");

    fake.addEvent({
      namespace: "shop",
      kind: "Pod",
      name: "new-crash",
      reason: "BackOff",
      message: "after start",
    });
    fake.addEvent({
      namespace: "shop",
      kind: "Pod",
      name: "pulled",
      reason: "Pulled",
      message: "fine",
      type: "Normal",
    });
    sim.inject("events-ext", { name: "pushed-crash" });
    await waitFor("both delivered", () => runNames("auto-state").length >= 2, 15_000);
    await Bun.sleep(900); // a few more polls: nothing else may fire
    expect(runNames("auto-state").sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { cluster: "stock", name: "new-crash", kubeconfig: stockKubeconfig },
      { cluster: "events-ext", name: "pushed-crash", kubeconfig: pushKubeconfig },
    ]);
    const run = finishedRuns(`${dir.path}/auto-state`).find((r) => r.result.cluster === "stock");
    expect(run?.stdin).toMatchObject({
      fault_type: "CrashLoop",
      severity: "warning",
      resource: { kind: "Pod", namespace: "shop" },
    });

    // A new occurrence of the same event fires again, and dedup folds it into the same incident.
    fake.addEvent({
      namespace: "shop",
      kind: "Pod",
      name: "new-crash",
      reason: "BackOff",
      message: "again",
      timestamp: new Date(Date.now() + 2000),
    });
    const incident = await waitFor("the repeat joined the incident", async () => {
      const [found] = await app.store.list({ cluster: "stock" });
      return found?.count === 2 ? found : null;
    });
    expect(await app.store.list({ cluster: "stock" })).toHaveLength(1);
    expect((await app.store.get(incident.id))?.runs).toHaveLength(1);
  },
  30_000,
);

test.skipIf(!binaryInstalled)(
  "push-only mode (faults) against the stock server fails with a last_error that says why and what to do",
  async () => {
    const app = await start("faults", "faults");
    const state = await waitFor("stock failed", () => {
      const s = app.registry.get("stock");
      return s?.status === "failed" ? s : null;
    });
    expect(state.last_error).toBe(MISSING_EVENTS_SUBSCRIBE);
    expect(state.last_error).toContain("set subscribe.mode to auto or poll");
    await waitFor("events-ext active", () => app.registry.get("events-ext")?.status === "active");
  },
);

test.skipIf(!binaryInstalled)(
  "poll mode asks the server for Warning events only; image-pull back-offs are ImagePull; a critical fault arrives",
  async () => {
    const app = await start("poll", "poll");
    await waitFor("stock active", () => app.registry.get("stock")?.status === "active", 15_000);
    fake.addEvent({
      namespace: "shop",
      kind: "Pod",
      name: "bad-image",
      reason: "BackOff",
      message: 'Back-off pulling image "registry.example/app:nope"',
    });
    fake.addEvent({
      namespace: "shop",
      kind: "Pod",
      name: "no-image",
      reason: "ErrImagePull",
      message: "not found",
    });
    fake.addEvent({
      namespace: "default",
      kind: "Node",
      name: "node-1",
      reason: "SystemOOM",
      message: "oom",
    });
    const faults = await waitFor("three faults stored", async () => {
      const found = (await app.store.list({ cluster: "stock" })).filter((i) => i.first_seen > "");
      const names = found.map((i) => i.resource.name);
      return ["bad-image", "no-image", "node-1"].every((n) => names.includes(n)) ? found : null;
    });
    const byName = Object.fromEntries(faults.map((i) => [i.resource.name, [i.fault_type, i.severity]]));
    expect(byName["bad-image"]).toEqual(["ImagePull", "warning"]);
    expect(byName["no-image"]).toEqual(["ImagePull", "warning"]);
    expect(byName["node-1"]).toEqual(["NodeUnhealthy", "critical"]);
    const lists = fake.requests.filter((r) => r.includes("/events"));
    expect(lists.length).toBeGreaterThan(0);
    for (const request of lists) expect(request).toEndWith("?fieldSelector=type%3DWarning");
  },
  30_000,
);
