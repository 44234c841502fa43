/**
 * TLS end to end with a real `faultline run`: simulated servers over HTTPS (a CA the test makes), one
 * requiring a client certificate (mTLS) and a bearer token. With `tls.ca_file`, `cert_file` and
 * `key_file` faultline is active and receives faults; without the client certificate the handshake
 * fails with a clear last_error; `insecure_skip_verify` connects without the CA and logs a warning at
 * every start.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type Simulator, startSimulator } from "../../scripts/sim/index.ts";
import { makeCertificates } from "../helpers/certs.ts";
import { type FaultlineProcess, runFaultline } from "../helpers/process.ts";
import { tempDir, writeFile, writeKubeconfig } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

const dir = tempDir("faultline-e2e-tls-");
let sim: Simulator;
let config: string;
const procs: FaultlineProcess[] = [];

beforeAll(async () => {
  const certs = makeCertificates(dir.path);
  const server = { cert: certs.read(certs.serverCertFile), key: certs.read(certs.serverKeyFile) };
  sim = await startSimulator({
    clusters: [
      { name: "mtls", tls: { ...server, ca: certs.read(certs.caFile) }, bearerToken: "over-tls-token" },
      { name: "no-client-cert", tls: { ...server, ca: certs.read(certs.caFile) } },
      { name: "insecure", tls: server },
    ],
  });
  writeKubeconfig(dir.path, "kubeconfig");
  config = writeFile(
    dir.path,
    "faultline.yaml",
    `clusters:
  - name: mtls
    mcp_endpoint: ${sim.endpoint("mtls")}
    kubeconfig: ./kubeconfig
    auth: { bearer_token: over-tls-token }
    tls: { ca_file: ./ca.pem, cert_file: ./client.pem, key_file: ./client.key }
  - name: no-client-cert
    mcp_endpoint: ${sim.endpoint("no-client-cert")}
    kubeconfig: ./kubeconfig
    tls: { ca_file: ./ca.pem }
  - name: insecure
    mcp_endpoint: ${sim.endpoint("insecure")}
    kubeconfig: ./kubeconfig
    tls: { insecure_skip_verify: true }
reconnect: { initial_seconds: 0.2, max_seconds: 0.5 }
health: { listen: "127.0.0.1:0" }
state_dir: ./state
log_level: info
`,
  );
});

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await sim?.stop();
  dir.cleanup();
});

type Cluster = { name: string; status: string; last_error: string | null; event_count: number };

async function clusters(url: string): Promise<Record<string, Cluster>> {
  const body = (await (await fetch(`${url}/health/clusters`)).json()) as { clusters: Cluster[] };
  return Object.fromEntries(body.clusters.map((c) => [c.name, c]));
}

test("mTLS with a token works, a missing client certificate fails clearly, insecure_skip_verify connects and warns", async () => {
  const proc = runFaultline(config);
  procs.push(proc);
  const url = await proc.healthUrl();
  await waitFor("mtls and insecure active", async () => {
    const all = await clusters(url);
    return all.mtls?.status === "active" && all.insecure?.status === "active";
  });
  sim.inject("mtls", { name: "over-mtls" });
  await waitFor("event received", async () => (await clusters(url)).mtls?.event_count === 1);
  const failed = await waitFor(
    "no-client-cert failed",
    async () => (await clusters(url))["no-client-cert"]?.last_error,
  );
  expect(failed).toBe(
    `TLS handshake with ${sim.endpoint("no-client-cert")} failed (ERR_SSL_TLSV1_ALERT_CERTIFICATE_REQUIRED): the server requires a client certificate: set clusters[1].tls.cert_file and clusters[1].tls.key_file`,
  );
  const warning = await proc.waitForLog(
    "insecure warning",
    (l) => l.level === "warn" && l.cluster === "insecure",
  );
  expect(warning.msg).toBe(
    "clusters[2].tls.insecure_skip_verify is true: the server's certificate is not verified, so anyone in between can read the credentials sent and forge events",
  );
  expect(await proc.stop()).toBe(0);
}, 30_000);
