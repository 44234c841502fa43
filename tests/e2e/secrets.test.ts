/**
 * Secrets never leak: a distinct secret is planted in every place one can enter faultline (URL
 * user-info, a query-string token, a bearer token from the environment, a token file, a header value,
 * kubeconfig contents, the health API token), a real `faultline run` (debug logs) connects, fails
 * (refused connection, refused credentials), receives faults and runs its agent; then every output
 * is searched for every secret: stdout and stderr, /health, /health/clusters, /incidents,
 * /incidents/:id, /metrics, `faultline check`'s messages, and every file of the agent's workspaces.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config-file variable references are planted here
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Simulator, startSimulator } from "../../scripts/sim/index.ts";
import { RECORDING_AGENT } from "../helpers/fleet.ts";
import { type FaultlineProcess, runFaultline, SOURCE_CLI } from "../helpers/process.ts";
import { tempDir, writeFile } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

const SECRETS = {
  userinfoUser: "planted-user-7f3a91",
  userinfoPassword: "planted-password-91bc27",
  queryToken: "planted-query-55e1c3",
  bearerFromEnv: "planted-bearer-c0de44",
  tokenFile: "planted-file-token-beef05",
  headerValue: "planted-header-d00d66",
  wrongToken: "planted-wrong-token-0bad77",
  kubeconfig: "planted-kubeconfig-f00d88",
  healthToken: "planted-health-token-abcd99",
} as const;

const dir = tempDir("faultline-secrets-");
let sim: Simulator;
let proc: FaultlineProcess;
let health = "";
const outputs: Record<string, string> = {};

const authorized = { authorization: `Bearer ${SECRETS.healthToken}` };
const get = async (path: string) => (await fetch(`${health}${path}`, { headers: authorized })).text();

beforeAll(async () => {
  sim = await startSimulator({
    clusters: [
      {
        name: "url-creds",
        bearerToken: SECRETS.bearerFromEnv,
        requiredHeaders: { "X-Api-Key": SECRETS.headerValue },
      },
      { name: "file-token", bearerToken: SECRETS.tokenFile },
      { name: "refused", bearerToken: "the-right-token" },
    ],
  });
  writeFile(
    dir.path,
    "kubeconfig",
    `apiVersion: v1\nkind: Config\nclusters: [{ name: c, cluster: { server: "https://127.0.0.1:6443" } }]\ncontexts: [{ name: c, context: { cluster: c, user: u } }]\ncurrent-context: c\nusers: [{ name: u, user: { token: ${SECRETS.kubeconfig} } }]\n`,
  );
  writeFile(dir.path, "mcp.token", `${SECRETS.tokenFile}\n`);
  writeFile(dir.path, "health.token", `${SECRETS.healthToken}\n`);
  writeFile(dir.path, "agent.sh", RECORDING_AGENT, 0o755);
  const withCredentials = (endpoint: string) =>
    endpoint.replace("http://", `http://${SECRETS.userinfoUser}:${SECRETS.userinfoPassword}@`) +
    `?token=${SECRETS.queryToken}`;
  const text = `clusters:
  - name: url-creds
    mcp_endpoint: "${withCredentials(sim.endpoint("url-creds"))}"
    kubeconfig: ./kubeconfig
    auth: { bearer_token: "\${URL_CREDS_TOKEN}" }
    headers: { X-Api-Key: ${SECRETS.headerValue} }
  - name: file-token
    mcp_endpoint: ${sim.endpoint("file-token")}
    kubeconfig: ./kubeconfig
    auth: { bearer_token_file: ./mcp.token }
  - name: refused
    mcp_endpoint: ${sim.endpoint("refused")}
    kubeconfig: ./kubeconfig
    auth: { bearer_token: ${SECRETS.wrongToken} }
  - name: unreachable
    mcp_endpoint: "${withCredentials("http://127.0.0.1:1/mcp")}"
    kubeconfig: ./kubeconfig
    auth: { bearer_token: "\${URL_CREDS_TOKEN}" }
agent: { command: ["./agent.sh"] }
reconnect: { initial_seconds: 0.2, max_seconds: 0.5 }
ping: { interval_seconds: 0.3, timeout_seconds: 2 }
health: { listen: "127.0.0.1:0", auth_token_file: ./health.token }
state_dir: ./state
log_level: debug
`;
  const config = writeFile(dir.path, "faultline.yaml", text);
  const env = { URL_CREDS_TOKEN: SECRETS.bearerFromEnv };
  // check's messages: a valid config, and a broken copy whose every secret-carrying field has a problem.
  const check = Bun.spawnSync([...SOURCE_CLI, "check", "--config", config], {
    env: { ...process.env, ...env },
  });
  outputs.check = check.stdout.toString() + check.stderr.toString();
  expect(check.exitCode).toBe(0);
  const checkBroken = (name: string, broken: string) => {
    const result = Bun.spawnSync([...SOURCE_CLI, "check", "--config", writeFile(dir.path, name, broken)], {
      env: { ...process.env, ...env },
    });
    outputs[name] = result.stdout.toString() + result.stderr.toString();
    expect(result.exitCode).toBe(2);
  };
  checkBroken(
    "broken-schema.yaml",
    text
      .replace("${URL_CREDS_TOKEN}", "${UNSET_TOKEN_VARIABLE}")
      .replace(`X-Api-Key: ${SECRETS.headerValue}`, `"X Api Key": ${SECRETS.headerValue}`)
      .replace(
        `"${withCredentials("http://127.0.0.1:1/mcp")}"`,
        `"ftp://${SECRETS.userinfoUser}:${SECRETS.userinfoPassword}@x/?t=${SECRETS.queryToken}"`,
      ),
  );
  checkBroken("broken-files.yaml", text.replace("./mcp.token", "./missing.token"));

  proc = runFaultline(config, env);
  health = await proc.healthUrl();
});

afterAll(async () => {
  await proc?.stop();
  await sim?.stop();
  dir.cleanup();
});

test("no planted secret appears in any output of a full run", async () => {
  type Cluster = { name: string; status: string; last_error: string | null };
  const clusters = async () =>
    (JSON.parse(await get("/health/clusters")) as { clusters: Cluster[] }).clusters;
  const byName = async (name: string) => (await clusters()).find((c) => c.name === name);
  await waitFor("both authenticated clusters active", async () => {
    const list = await clusters();
    return ["url-creds", "file-token"].every((n) => list.find((c) => c.name === n)?.status === "active");
  });
  const refused = await waitFor("refused failed", async () =>
    (await byName("refused"))?.last_error ? byName("refused") : null,
  );
  expect(refused?.last_error).toContain("credentials refused");
  const unreachable = await waitFor("unreachable failed", async () =>
    (await byName("unreachable"))?.last_error ? byName("unreachable") : null,
  );
  // The endpoint is shown, its credentials replaced by ***.
  expect(unreachable?.last_error).toBe("connection refused by http://***:***@127.0.0.1:1/mcp?token=***");

  sim.inject("url-creds", { name: "crash-a", context: "boom" });
  sim.inject("file-token", { name: "crash-b" });
  const state = join(dir.path, "state", "incidents");
  await waitFor("two agents finished", () => {
    try {
      return (
        readdirSync(state).filter((id) => readdirSync(join(state, id)).includes("result.json")).length === 2
      );
    } catch {
      return false;
    }
  });

  outputs.health = await get("/health");
  outputs.clusters = await get("/health/clusters");
  outputs.incidents = await get("/incidents");
  const ids = (JSON.parse(outputs.incidents) as { incidents: Array<{ id: string }> }).incidents.map(
    (i) => i.id,
  );
  expect(ids).toHaveLength(2);
  for (const id of ids) outputs[`incident ${id}`] = await get(`/incidents/${id}`);
  outputs.metrics = await get("/metrics");
  outputs.unauthorized = await (
    await fetch(`${health}/health`, { headers: { authorization: "Bearer nope" } })
  ).text();
  for (const id of readdirSync(state)) {
    for (const file of readdirSync(join(state, id))) {
      outputs[`workspace ${id}/${file}`] = readFileSync(join(state, id, file), "utf8");
    }
  }
  expect(Object.keys(outputs).some((k) => k.endsWith("/event.json"))).toBe(true);
  expect(await proc.stop()).toBe(0);
  outputs.stdout = proc.logs.map((line) => JSON.stringify(line)).join("\n");
  outputs.stderr = proc.stderr();
  // The run did what leaks would come from: debug logs, failures, events, agents.
  expect(outputs.stdout).toContain("credentials refused");
  expect(outputs.stdout).toContain("crash-a");
  expect(outputs["broken-files.yaml"]).toContain("clusters[1].auth.bearer_token_file: cannot read");
  expect(outputs["broken-schema.yaml"]).toContain("UNSET_TOKEN_VARIABLE is not set");

  const leaks: string[] = [];
  for (const [where, text] of Object.entries(outputs)) {
    for (const [what, secret] of Object.entries(SECRETS)) {
      if (text.includes(secret)) leaks.push(`${what} in ${where}`);
    }
  }
  expect(leaks).toEqual([]);
}, 60_000);
