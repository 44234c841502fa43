/**
 * faultline against the REAL kubernetes-mcp-server served over HTTPS (`--tls-cert/--tls-key`, a CA the
 * test makes): reached with `tls.ca_file`; without the CA, or under a name the certificate is not
 * issued for, a clear certificate error. The server is multi-cluster through two kubeconfig contexts,
 * each backed by its own fake Kubernetes API: two cluster entries share its endpoint with `context:`,
 * and each delivers its own events, tagged with its name, to an agent run with its own kubeconfig.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startFaultline } from "../../src/app.ts";
import { parseConfig } from "../../src/config/load.ts";
import type { Faultline } from "../../src/faultline.ts";
import { makeCertificates } from "../helpers/certs.ts";
import { type FakeKube, startFakeKube } from "../helpers/fake-kube.ts";
import { finishedRuns, RECORDING_AGENT } from "../helpers/fleet.ts";
import { type StockServer, startStockServer, stockServerAvailable } from "../helpers/stock-server.ts";
import { tempDir, writeFile } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

/** The real binary comes from an optional dependency that exists for linux/x64 only; elsewhere these tests skip. */
const binaryInstalled = stockServerAvailable();

const dir = tempDir("faultline-tls-");
let east: FakeKube;
let west: FakeKube;
let stock: StockServer;
let app: Faultline;
const kubeconfigs: Record<string, string> = {};

/** A kubeconfig with one context per fake API, `east` current. */
function multiContextKubeconfig(apis: Record<string, FakeKube>): string {
  const names = Object.keys(apis);
  const clusters = names.map((n) => `  - name: ${n}\n    cluster: { server: "${apis[n]?.url}" }`).join("\n");
  const contexts = names.map((n) => `  - name: ${n}\n    context: { cluster: ${n}, user: u }`).join("\n");
  return writeFile(
    dir.path,
    "server.kubeconfig",
    `apiVersion: v1\nkind: Config\nclusters:\n${clusters}\ncontexts:\n${contexts}\ncurrent-context: ${names[0]}\nusers: [{ name: u, user: { token: fake-token } }]\n`,
  );
}

beforeAll(async () => {
  if (!binaryInstalled) return;
  const certs = makeCertificates(dir.path, "mcp.internal");
  east = await startFakeKube();
  west = await startFakeKube();
  kubeconfigs.east = east.writeKubeconfig(dir.path, "east.kubeconfig");
  kubeconfigs.west = west.writeKubeconfig(dir.path, "west.kubeconfig");
  stock = await startStockServer(multiContextKubeconfig({ east, west }), {
    tls: { certFile: certs.serverCertFile, keyFile: certs.serverKeyFile, caFile: certs.caFile },
  });
  writeFile(dir.path, "agent.sh", RECORDING_AGENT, 0o755);
  const text = `clusters:
  - name: east
    mcp_endpoint: ${stock.endpoint}
    kubeconfig: ./east.kubeconfig
    context: east
    tls: { ca_file: ./ca.pem }
  - name: west
    mcp_endpoint: ${stock.endpoint}
    kubeconfig: ./west.kubeconfig
    context: west
    tls: { ca_file: ./ca.pem, server_name: mcp.internal }
  - name: no-ca
    mcp_endpoint: ${stock.endpoint}
    kubeconfig: ./east.kubeconfig
  - name: other-ca
    mcp_endpoint: ${stock.endpoint}
    kubeconfig: ./east.kubeconfig
    tls: { ca_file: ./other-ca.pem }
  - name: wrong-name
    mcp_endpoint: ${stock.endpoint}
    kubeconfig: ./east.kubeconfig
    tls: { ca_file: ./ca.pem, server_name: elsewhere.internal }
subscribe: { poll_interval_seconds: 0.3 }
agent: { command: ["./agent.sh"] }
reconnect: { initial_seconds: 0.2, max_seconds: 1 }
health: { enabled: false }
state_dir: ./state
log_level: error
`;
  app = await startFaultline(parseConfig(text, writeFile(dir.path, "faultline.yaml", text), {}));
});

afterAll(async () => {
  if (!binaryInstalled) return;
  await app?.stop(2000);
  await stock?.stop();
  await east?.stop();
  await west?.stop();
  dir.cleanup();
});

test.skipIf(!binaryInstalled)(
  "over HTTPS with tls.ca_file, two contexts of one server: each cluster's events, tagged with its name, reach an agent with its kubeconfig",
  async () => {
    await waitFor(
      "east and west active",
      () => app.registry.get("east")?.status === "active" && app.registry.get("west")?.status === "active",
      20_000,
    );
    expect(app.registry.get("east")?.mode).toBe("poll");
    east.addEvent({ namespace: "shop", kind: "Pod", name: "east-crash", reason: "BackOff", message: "east" });
    west.addEvent({ namespace: "shop", kind: "Pod", name: "west-crash", reason: "BackOff", message: "west" });
    const runs = await waitFor(
      "two agent runs",
      () => {
        const found = finishedRuns(`${dir.path}/state`);
        return found.length >= 2 ? found : null;
      },
      20_000,
    );
    await Bun.sleep(900); // a few more polls: nothing crosses over between the contexts
    const seen = finishedRuns(`${dir.path}/state`)
      .map((r) => ({
        cluster: r.result.cluster,
        event: r.stdin?.cluster,
        name: r.stdin?.resource.name,
        kubeconfig: r.env.KUBECONFIG,
      }))
      .sort((a, b) => a.cluster.localeCompare(b.cluster));
    expect(runs.length).toBe(2);
    expect(seen).toEqual([
      { cluster: "east", event: "east", name: "east-crash", kubeconfig: kubeconfigs.east },
      { cluster: "west", event: "west", name: "west-crash", kubeconfig: kubeconfigs.west },
    ]);
    // Each context's listing went to its own API.
    expect(east.requests.some((r) => r.includes("/events"))).toBe(true);
    expect(west.requests.some((r) => r.includes("/events"))).toBe(true);
  },
  60_000,
);

test.skipIf(!binaryInstalled)(
  "without the CA, with another CA, or under another name: failed with a clear certificate error naming the tls field",
  async () => {
    const failed = (name: string) =>
      waitFor(`${name} failed`, () => {
        const state = app.registry.get(name);
        return state?.status === "failed" && state.last_error ? state.last_error : null;
      });
    expect(await failed("no-ca")).toStartWith(`TLS certificate of ${stock.endpoint} not trusted (`);
    expect(await failed("no-ca")).toEndWith("): set clusters[2].tls.ca_file to the CA that issued it");
    expect(await failed("other-ca")).toContain("set clusters[3].tls.ca_file to the CA that issued it");
    expect(await failed("wrong-name")).toBe(
      `TLS certificate of ${stock.endpoint} not valid for its host name (ERR_TLS_CERT_ALTNAME_INVALID): set clusters[4].tls.server_name to a name the certificate is issued for`,
    );
  },
);
