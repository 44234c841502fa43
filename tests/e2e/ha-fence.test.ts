/**
 * One replica cut off from PostgreSQL (a TCP proxy between it and the server), end to end: once it has
 * not heartbeaten for `lease_seconds - 1` s it is fenced: `/readyz` answers 503, its clusters are
 * unsubscribed, and its running agent gets SIGTERM. Once the database answers again, the interrupted
 * run is recorded as such (and run again within `max_attempts`), `/readyz` is 200 again, and the
 * clusters are subscribed again. With HA on, `/metrics` carries `replica` and passes
 * `promtool check metrics`, and the database password reaches no log line, no `/health*` or
 * `/metrics` body, no agent environment and no `faultline check` output.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the config refers to ${FAULTLINE_DATABASE_URL}
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { type Simulator, startSimulator } from "../../scripts/sim/index.ts";
import { type PostgresServer, postgresAvailable, startPostgres } from "../helpers/postgres.ts";
import { type FaultlineProcess, runFaultline, runToEnd, SOURCE_CLI } from "../helpers/process.ts";
import { simConfig, timelineAgent } from "../helpers/sim-config.ts";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.ts";
import { tempDir } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

const LEASE_SECONDS = 4;
const CLUSTERS = ["a", "b", "c"];
const available = postgresAvailable("tests/e2e/ha-fence.test.ts");
const promtool = spawnSync("promtool", ["--version"]).status === 0;

describe.skipIf(!available)("a fenced replica", () => {
  const dir = tempDir();
  let pg: PostgresServer;
  let sim: Simulator;
  let proxy: TcpProxy;
  let db: postgres.Sql;
  let replica: FaultlineProcess | undefined;

  beforeAll(async () => {
    pg = await startPostgres();
    sim = await startSimulator({ clusters: CLUSTERS });
    proxy = await startTcpProxy(pg.port);
    db = postgres(pg.url, { max: 1, onnotice: () => {} });
  }, 60_000);
  afterAll(async () => {
    if (replica) {
      replica.proc.kill("SIGKILL");
      await replica.proc.exited;
    }
    await db?.end();
    await proxy?.stop();
    await sim?.stop();
    await pg?.stop();
    dir.cleanup();
  });

  test("ends its agent and answers 503 while cut off; records the run interrupted and serves again once the database is back; its metrics and outputs never show the password", async () => {
    expect(pg.password.length).toBeGreaterThan(8);
    const timeline = join(dir.path, "timeline.log");
    const envDump = join(dir.path, "agent-env");
    const agent = timelineAgent(dir.path, "agent.sh", timeline, 60, { before: `env > "${envDump}"` });
    const { config } = simConfig(
      dir.path,
      sim,
      "fenced",
      CLUSTERS,
      `store: { postgres: { url: "\${FAULTLINE_DATABASE_URL}" } }
ha: { replica: f0, lease_seconds: ${LEASE_SECONDS} }
agent: { command: ["${agent}"], max_concurrent: 2, retry_interrupted: true, max_attempts: 2, timeout_seconds: 120 }
shutdown_timeout_seconds: 1
`,
    );
    const url = `postgres://${pg.user}:${encodeURIComponent(pg.password)}@127.0.0.1:${proxy.port}/postgres`;
    const env = { FAULTLINE_DATABASE_URL: url };
    replica = runFaultline(config, env);
    const base = await replica.waitActive(CLUSTERS.length, 30_000);
    const readyz = async () => (await fetch(`${base}/readyz`)).status;
    expect(await readyz()).toBe(200);

    expect(sim.inject("a", { name: "slow" })).toBe(1);
    const [run] = await waitFor("the agent running", async () => {
      const rows = await db<Array<{ id: number; incident_seq: number }>>`
        SELECT id, incident_seq FROM runs WHERE replica = 'f0' AND finished_ms IS NULL`;
      return rows.length > 0 && existsSync(timeline) ? rows : null;
    });

    // Cut off: fenced within the lease (minus 1 s, plus the watchdog), everything it held stopped.
    const cutAt = Date.now();
    proxy.cut(true);
    await waitFor("503 while fenced", async () => (await readyz()) === 503, LEASE_SECONDS * 1000 + 2000, 100);
    const fencedAfter = Date.now() - cutAt;
    const body = (await (await fetch(`${base}/readyz`)).json()) as { reason?: string };
    expect(JSON.stringify(body)).toContain("fenced");
    await waitFor(
      "the agent got SIGTERM",
      () => readFileSync(timeline, "utf8").includes("term "),
      10_000,
      50,
    );
    await waitFor("its clusters unsubscribed", () => CLUSTERS.every((c) => sim.stats(c).subscriptions === 0));
    process.stderr.write(`ha fence e2e: fenced ${fencedAfter} ms after the database was cut off\n`);

    // Back: the run recorded interrupted (by this replica), run again, ready and subscribed again.
    proxy.cut(false);
    await waitFor("ready again", async () => (await readyz()) === 200, 15_000, 100);
    await waitFor("its clusters subscribed again", () =>
      CLUSTERS.every((c) => sim.stats(c).subscriptions === 1),
    );
    const runs = await waitFor("the interrupted run recorded, and a second run", async () => {
      const rows = await db<Array<{ id: number; status: string }>>`
        SELECT id, status FROM runs WHERE incident_seq = ${run?.incident_seq ?? -1} ORDER BY id`;
      return rows.length === 2 ? rows : null;
    });
    expect(runs.map((r) => r.status)).toEqual(["interrupted", "running"]);
    expect(runs[0]?.id).toBe(run?.id ?? -1);
    expect(
      replica.logs.some(
        (l) => l.msg === "fence lifted: settled this replica's open runs; agents start again",
      ),
    ).toBe(true);

    // Metrics with HA on: the replica label, and an exposition promtool accepts.
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/faultline_build_info\{[^}]*replica="f0"/);
    if (promtool) {
      const checked = spawnSync("promtool", ["check", "metrics"], { input: metrics, encoding: "utf8" });
      expect(`${checked.stdout}${checked.stderr}`.trim()).toBe("");
      expect(checked.status).toBe(0);
    } else process.stderr.write("ha fence e2e: promtool missing: exposition not linted\n");

    // The password: nowhere.
    const bodies = await Promise.all(
      ["/health", "/health/clusters", "/readyz", "/metrics"].map(async (path) =>
        (await fetch(`${base}${path}`)).text(),
      ),
    );
    const check = await runToEnd([...SOURCE_CLI, "check", "--config", config], dir.path, {
      ...process.env,
      ...env,
    });
    expect(check.code).toBe(0);
    expect(await replica.stop("SIGTERM")).toBe(0);
    const logs = `${JSON.stringify(replica.logs)}${replica.stderr()}`;
    replica = undefined;
    const agentEnv = readFileSync(envDump, "utf8");
    expect(agentEnv).toContain("FAULTLINE_INCIDENT_ID=");
    expect(agentEnv).not.toContain("FAULTLINE_DATABASE_URL");
    for (const [where, text] of Object.entries({
      logs,
      bodies: bodies.join("\n"),
      agentEnv,
      check: `${check.stdout}${check.stderr}`,
    })) {
      expect({ where, leaked: text.includes(pg.password) }).toEqual({ where, leaked: false });
    }
    expect(check.stdout).toContain(`postgres://***:***@127.0.0.1:${proxy.port}/postgres`);
  }, 120_000);
});
