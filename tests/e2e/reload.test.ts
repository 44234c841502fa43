/**
 * Config reload end to end: real simulator servers, real worker threads, a real store. While faults
 * flow, a reload adds a cluster, removes one, changes one and leaves one alone; an invalid file
 * changes nothing; `faultline run` reloads on SIGHUP instead of dying.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Simulator, startSimulator } from "../../scripts/sim/index.ts";
import { startFaultline } from "../../src/app.ts";
import { loadConfig } from "../../src/config/load.ts";
import type { Faultline } from "../../src/faultline.ts";
import type { ClustersBody } from "../../src/http/app.ts";
import { SOURCE_CLI, startProcess } from "../helpers/process.ts";
import { countState, queryState } from "../helpers/state.ts";
import { tempDir, writeFile, writeKubeconfig } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

const dir = tempDir();
let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ clusters: ["keep", "gone", "changed", "added", "hup"] });
  writeKubeconfig(dir.path, "kube.yaml");
});
afterAll(async () => {
  await sim?.stop();
  dir.cleanup();
});

/** A config listing `clusters` (name → labels), plus `extra` YAML. */
function configText(clusters: Record<string, string>, extra = ""): string {
  const entries = Object.entries(clusters).map(
    ([name, labels]) =>
      `  - { name: ${name}, mcp_endpoint: "${sim.endpoint(name)}", kubeconfig: ./kube.yaml, labels: ${labels} }`,
  );
  return `clusters:\n${entries.join("\n")}
reconnect: { initial_seconds: 0.05, max_seconds: 0.4 }
ping: { interval_seconds: 0.5, timeout_seconds: 2 }
health: { listen: "127.0.0.1:0" }
state_dir: ./state
log_level: warn
${extra}`;
}

/** The value of an unlabelled metric in the exposition text. */
function metricValue(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return Number(line?.split(" ")[1]);
}

describe("reload while faults flow", () => {
  let app: Faultline;
  const file = join(dir.path, "faultline.yaml");
  const stateDir = join(dir.path, "state");

  beforeAll(async () => {
    writeFileSync(file, configText({ keep: "{ team: a }", gone: "{ team: b }", changed: "{ team: old }" }));
    app = await startFaultline(loadConfig(file, {}), () => loadConfig(file, {}));
    await waitFor("three clusters active", () => app.registry.summary().active === 3);
  });
  afterAll(async () => {
    await app?.stop(1000);
  });

  test("added connects, removed closes, changed reconnects, unchanged keeps its session and loses nothing", async () => {
    const keepSessions = sim.sessionIds("keep");
    const changedSessions = sim.sessionIds("changed");
    expect(keepSessions).toHaveLength(1);
    const goneUnsubscribes = sim.stats("gone").unsubscribeCalls;

    let sent = 0;
    let pumping = true;
    const pump = (async () => {
      for (let i = 0; pumping; i++) {
        sent += Math.min(1, sim.inject("keep", { name: `keep-${i}` }));
        sim.inject("changed", { name: `changed-${i}` });
        sim.inject("gone", { name: `gone-${i}` });
        await Bun.sleep(2);
      }
    })();
    await waitFor("faults flowing", () => sent >= 50);

    writeFileSync(file, configText({ keep: "{ team: a }", changed: "{ team: new }", added: "{ team: c }" }));
    const outcome = await app.reload("test");
    expect(outcome).toMatchObject({
      ok: true,
      clusters: { added: ["added"], removed: ["gone"], changed: ["changed"], unchanged: ["keep"] },
    });
    await waitFor("the new set active", () =>
      ["keep", "changed", "added"].every((n) => app.registry.get(n)?.status === "active"),
    );
    await waitFor("more faults after the reload", () => sent >= 150);
    pumping = false;
    await pump;

    const body = (await (await fetch(`${app.http?.url}/health/clusters`)).json()) as ClustersBody;
    expect(body.clusters.map((c) => c.name)).toEqual(["keep", "changed", "added"]);
    expect(body.summary).toEqual({ total: 3, active: 3, unhealthy: 0 });

    expect(app.supervisor.assignment.flat().sort()).toEqual(["added", "changed", "keep"]);
    expect(sim.sessionIds("keep")).toEqual(keepSessions);
    expect(sim.sessionIds("changed")).toHaveLength(1);
    expect(sim.sessionIds("changed")).not.toEqual(changedSessions);
    expect(sim.stats("gone").sessions).toBe(0);
    expect(sim.stats("gone").unsubscribeCalls).toBe(goneUnsubscribes + 1);

    await waitFor(
      `all ${sent} faults sent to "keep" stored`,
      () =>
        countState(
          stateDir,
          "SELECT count(*) n FROM events e JOIN incidents i ON i.seq = e.incident_seq WHERE i.cluster = 'keep'",
        ) === sent,
    );
    expect(
      countState(stateDir, "SELECT count(DISTINCT fault_id) n FROM incidents WHERE cluster = 'keep'"),
    ).toBe(sent);

    expect(sim.inject("added", { name: "added-pod" })).toBe(1);
    expect(sim.inject("changed", { name: "relabelled-pod" })).toBe(1);
    await waitFor("faults of the added and changed clusters stored", () =>
      queryState<{ event: string }>(
        stateDir,
        "SELECT event FROM events WHERE event LIKE '%added-pod%' OR event LIKE '%relabelled-pod%'",
      ).length === 2
        ? true
        : null,
    );
    const labels = queryState<{ event: string }>(
      stateDir,
      "SELECT event FROM events WHERE event LIKE '%added-pod%' OR event LIKE '%relabelled-pod%'",
    ).map((row) => JSON.parse(row.event) as { cluster: string; labels: Record<string, string> });
    expect(labels).toContainEqual(expect.objectContaining({ cluster: "added", labels: { team: "c" } }));
    expect(labels).toContainEqual(expect.objectContaining({ cluster: "changed", labels: { team: "new" } }));
  }, 30_000);

  test("an invalid file changes nothing and sets last_reload_successful to 0; a valid one sets it back", async () => {
    const before = app.registry.list().map((c) => ({ name: c.name, status: c.status }));
    const sessions = ["keep", "changed", "added"].map((n) => sim.sessionIds(n));
    const metrics = async () => (await fetch(`${app.http?.url}/metrics`)).text();
    const firstSuccess = metricValue(
      await metrics(),
      "faultline_config_last_reload_success_timestamp_seconds",
    );
    expect(metricValue(await metrics(), "faultline_config_last_reload_successful")).toBe(1);

    writeFileSync(
      file,
      `${configText({ keep: "{ team: a }", added: "{ team: c }" })}\nclusters_typo: 1\nseverity_threshold: loud\n`,
    );
    const response = await fetch(`${app.http?.url}/-/reload`, { method: "POST" });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      ok: false,
      error: "invalid config",
      problems: ["severity_threshold", "clusters_typo"],
    });
    expect(app.registry.list().map((c) => ({ name: c.name, status: c.status }))).toEqual(before);
    expect(["keep", "changed", "added"].map((n) => sim.sessionIds(n))).toEqual(sessions);
    expect(app.config.clusters.map((c) => c.name)).toEqual(["keep", "changed", "added"]);
    expect(metricValue(await metrics(), "faultline_config_last_reload_successful")).toBe(0);
    expect(metricValue(await metrics(), "faultline_config_last_reload_success_timestamp_seconds")).toBe(
      firstSuccess,
    );

    writeFileSync(file, configText({ keep: "{ team: a }", changed: "{ team: new }", added: "{ team: c }" }));
    const ok = await fetch(`${app.http?.url}/-/reload`, { method: "POST" });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ ok: true, clusters: { added: [], removed: [], changed: [] } });
    expect(metricValue(await metrics(), "faultline_config_last_reload_successful")).toBe(1);
    expect(["keep", "changed", "added"].map((n) => sim.sessionIds(n))).toEqual(sessions);
    expect((await fetch(`${app.http?.url}/-/reload`)).status).toBe(405);
  });
});

test("faultline run --listen: SIGHUP reloads (a cluster added), it does not exit; SIGTERM still stops it with 0", async () => {
  const work = join(dir.path, "hup");
  writeKubeconfig(dir.path, "hup-kube.yaml");
  const text = (names: string[]) =>
    `clusters:\n${names.map((n) => `  - { name: ${n}, mcp_endpoint: "${sim.endpoint(n)}", kubeconfig: ./hup-kube.yaml }`).join("\n")}
health: { listen: "203.0.113.7:8080" }
state_dir: ${work}
`;
  const config = writeFile(dir.path, "hup.yaml", text(["hup"]));
  // health.listen is not an address of this machine: only --listen lets faultline start.
  const run = startProcess([...SOURCE_CLI, "run", "--config", config, "--listen", "127.0.0.1:0"]);
  try {
    const url = await run.waitActive(1);
    writeFile(dir.path, "hup.yaml", text(["hup", "keep"]));
    run.proc.kill("SIGHUP");
    const reloaded = await run.waitForLog("config reloaded", (l) => l.msg === "config reloaded");
    expect(reloaded).toMatchObject({ trigger: "SIGHUP", added: ["keep"], unchanged: ["hup"] });
    expect(run.logs.some((l) => l.msg === "config changes that need a restart were not applied")).toBe(false);
    await run.waitActive(2);
    expect(run.proc.exitCode).toBeNull();
    const body = (await (await fetch(`${url}/health/clusters`)).json()) as ClustersBody;
    expect(body.clusters.map((c) => c.name)).toEqual(["hup", "keep"]);
  } finally {
    expect(await run.stop("SIGTERM")).toBe(0);
  }
}, 30_000);
