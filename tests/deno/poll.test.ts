/**
 * faultline under Deno against the REAL stock kubernetes-mcp-server (no events_subscribe) whose kubeconfig
 * points at a fake Kubernetes API on loopback: auto mode polls `events_list`, a new Warning event reaches
 * the agent with that cluster's kubeconfig, an event older than the start does not. Skipped while faultline
 * does not start under Deno (tests/helpers/deno.ts), or where the stock binary is not installed.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import type { ClustersBody } from "../../src/http/app.ts";
import { denoFaultline } from "../helpers/deno.ts";
import { type FakeKube, startFakeKube } from "../helpers/fake-kube.ts";
import { finishedRuns, RECORDING_AGENT } from "../helpers/fleet.ts";
import { runFaultline } from "../helpers/process.ts";
import { type StockServer, startStockServer, stockServerAvailable } from "../helpers/stock-server.ts";
import { tempDir, writeFile } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

const ready = denoFaultline().run && stockServerAvailable();
const dir = tempDir("faultline-deno-poll-");
let fake: FakeKube;
let stock: StockServer;
let kubeconfig: string;

beforeAll(async () => {
  if (!ready) return;
  fake = await startFakeKube();
  fake.addEvent({ namespace: "shop", kind: "Pod", name: "old-crash", reason: "BackOff", message: "before" });
  kubeconfig = fake.writeKubeconfig(dir.path, "stock.kubeconfig");
  stock = await startStockServer(kubeconfig);
  writeFile(dir.path, "agent.sh", RECORDING_AGENT, 0o755);
});
afterAll(async () => {
  await stock?.stop();
  await fake?.stop();
  dir.cleanup();
});

test.skipIf(!ready)(
  "the poll feed under Deno: the stock server is polled, a new Warning event reaches the agent with the cluster's kubeconfig, an old one does not",
  async () => {
    const state = join(dir.path, "state");
    const config = writeFile(
      dir.path,
      "poll.yaml",
      `clusters:
  - { name: stock, mcp_endpoint: "${stock.endpoint}", kubeconfig: ./stock.kubeconfig }
subscribe: { mode: auto, poll_interval_seconds: 0.3 }
agent: { command: ["./agent.sh"] }
reconnect: { initial_seconds: 0.1, max_seconds: 0.5 }
health: { listen: "127.0.0.1:0" }
state_dir: ${state}
log_level: info
`,
    );
    const run = runFaultline(config, {}, "deno");
    try {
      const url = await run.waitActive(1, 60_000);
      fake.addEvent({
        namespace: "shop",
        kind: "Pod",
        name: "new-crash",
        reason: "BackOff",
        message: "after",
      });
      const [done] = await waitFor(
        "the agent ran",
        () => (finishedRuns(state).length > 0 ? finishedRuns(state) : null),
        20_000,
      );
      await Bun.sleep(900); // a few more polls: nothing else may fire
      expect(finishedRuns(state)).toHaveLength(1);
      expect(done?.result).toMatchObject({ cluster: "stock", exit_code: 0 });
      expect(done?.env.KUBECONFIG).toBe(kubeconfig);
      expect(done?.stdin).toMatchObject({
        fault_type: "CrashLoop",
        resource: { kind: "Pod", namespace: "shop", name: "new-crash" },
      });
      const body = (await (await fetch(`${url}/health/clusters`)).json()) as ClustersBody;
      expect(body.clusters[0]).toMatchObject({ name: "stock", status: "active", mode: "poll" });
      expect(Date.parse(body.clusters[0]?.last_poll_at ?? "")).toBeGreaterThan(0);
      expect(fake.requests.some((r) => r.endsWith("?fieldSelector=type%3DWarning"))).toBe(true);
    } finally {
      expect(await run.stop("SIGTERM")).toBe(0);
    }
  },
  90_000,
);
