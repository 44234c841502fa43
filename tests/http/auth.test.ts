/**
 * The HTTP API's bearer token (`health.auth_token` / `health.auth_token_file`), on a real server on
 * loopback: every route but `/livez` and `/readyz` answers 401 without the exact token; the probes
 * answer without it; with no token configured nothing changes.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Registry } from "../../src/cluster/registry.ts";
import { connectionIssues, healthToken } from "../../src/config/connection-check.ts";
import { parseConfig } from "../../src/config/load.ts";
import { createHealthApp } from "../../src/http/app.ts";
import { bearerMatches } from "../../src/http/auth.ts";
import { FailedAuthThrottle } from "../../src/http/failed-auth-throttle.ts";
import { FaultlineMetrics } from "../../src/http/metrics.ts";
import { type RunningServer, serve } from "../../src/http/serve.ts";
import { SqliteStore } from "../../src/incidents/store.ts";
import { tempDir, writeFile, writeKubeconfig } from "../helpers/tmp.ts";

const TOKEN = "health-token-0123456789";
const dir = tempDir("faultline-http-auth-");
const registry = new Registry([
  {
    name: "a",
    mcp_endpoint: "http://127.0.0.1:1/mcp",
    kubeconfig: "/tmp/a.kubeconfig",
    enabled: true,
    labels: {},
    severity_threshold: "info",
    triage: true,
  },
]);
let store: SqliteStore;
/** Reloads that reached the (stub) reloader. */
let reloads = 0;
let guarded: RunningServer;
let open: RunningServer;

beforeAll(() => {
  store = SqliteStore.open(dir.path, { dedupWindowSeconds: 300 });
  const deps = {
    registry,
    startedAt: new Date(),
    store,
    metrics: new FaultlineMetrics({
      registry,
      dropped: () => ({ malformed: 0, channel_full: 0, store_error: 0 }),
      incidents: () => store.countsByCluster(),
      skips: () => store.skipsByCluster(),
      agents: () => ({ running: 0, queued: 0 }),
    }),
    probes: { stopping: () => false, storeOpen: () => true },
    reload: async () => {
      reloads++;
      return { ok: false as const, error: "invalid config", problems: [] };
    },
  };
  // These tests send more wrong tokens from one address than it may by default (see
  // failed-auth-throttle.test.ts for that budget): a larger one keeps them about the 401s.
  const authThrottle = new FailedAuthThrottle({ burst: 1000 });
  guarded = serve(createHealthApp({ ...deps, authToken: TOKEN, authThrottle }), {
    hostname: "127.0.0.1",
    port: 0,
  });
  open = serve(createHealthApp(deps), { hostname: "127.0.0.1", port: 0 });
});
afterAll(async () => {
  await guarded?.stop();
  await open?.stop();
  store?.close();
  dir.cleanup();
});

const PROTECTED = [
  "/health",
  "/health/clusters",
  "/incidents",
  "/incidents/nope",
  "/metrics",
  "/no-such-route",
];

describe("with health.auth_token", () => {
  const status = async (path: string, authorization?: string) =>
    (await fetch(`${guarded.url}${path}`, authorization ? { headers: { authorization } } : {})).status;

  test("every route but the probes answers 401 without the token, with a wrong one or another scheme", async () => {
    for (const path of PROTECTED) {
      for (const authorization of [
        undefined,
        "Bearer wrong",
        `Bearer ${TOKEN}x`,
        `Bearer ${TOKEN.slice(0, -1)}`,
        `Basic ${btoa(`u:${TOKEN}`)}`,
        TOKEN,
        `Bearer ${TOKEN} extra`,
      ]) {
        expect({ path, authorization, status: await status(path, authorization) }).toEqual({
          path,
          authorization,
          status: 401,
        });
      }
    }
    const refused = await fetch(`${guarded.url}/health`);
    expect(refused.headers.get("www-authenticate")).toBe('Bearer realm="faultline"');
    expect(await refused.json()).toEqual({
      error: "unauthorized: send Authorization: Bearer <health.auth_token>",
    });
  });

  test("with the token every route answers as before", async () => {
    const answers = await Promise.all(PROTECTED.map((path) => status(path, `Bearer ${TOKEN}`)));
    expect(answers).toEqual([200, 200, 200, 404, 200, 404]);
    expect(await status("/health", `bearer ${TOKEN}`)).toBe(200); // the scheme is case-insensitive
  });

  test("/livez and /readyz answer without a token", async () => {
    expect(await status("/livez")).toBe(200);
    expect(await status("/readyz")).toBe(503); // no cluster active: the probe's own answer, not 401
  });

  test("POST /-/reload and /notifications need the token too; a refused reload never reaches the reloader", async () => {
    const post = async (authorization?: string) =>
      (
        await fetch(`${guarded.url}/-/reload`, {
          method: "POST",
          ...(authorization ? { headers: { authorization } } : {}),
        })
      ).status;
    const before = reloads;
    expect(await post()).toBe(401);
    expect(await post("Bearer wrong")).toBe(401);
    expect(reloads).toBe(before);
    expect(await post(`Bearer ${TOKEN}`)).not.toBe(401);
    expect(reloads).toBe(before + 1);
    expect(await status("/notifications")).toBe(401);
    expect(await status("/notifications", `Bearer ${TOKEN}`)).toBe(200);
  });
});

test("without a token configured, every route answers without one", async () => {
  for (const path of ["/health", "/health/clusters", "/incidents", "/metrics"]) {
    expect((await fetch(`${open.url}${path}`)).status).toBe(200);
  }
});

test("bearerMatches compares the whole token, whatever the lengths", () => {
  expect(bearerMatches(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
  expect(bearerMatches(`Bearer  ${TOKEN} `, TOKEN)).toBe(true);
  expect(bearerMatches(undefined, TOKEN)).toBe(false);
  expect(bearerMatches("Bearer ", TOKEN)).toBe(false);
  expect(bearerMatches(`Bearer ${"x".repeat(10_000)}`, TOKEN)).toBe(false);
  expect(bearerMatches("Bearer a", "a")).toBe(true);
  expect(bearerMatches("Bearer a", "ab")).toBe(false);
});

describe("health.auth_token / auth_token_file in the config", () => {
  writeKubeconfig(dir.path, "k");
  const config = (health: string) => {
    const text = `mcp_endpoint: http://127.0.0.1:1/mcp\nhealth: ${health}\nstate_dir: ./s\n`;
    return parseConfig(text, writeFile(dir.path, "f.yaml", text), { KUBECONFIG: `${dir.path}/k` });
  };

  test("the token file is read (whitespace trimmed), relative to the config file", () => {
    writeFile(dir.path, "health.token", `  ${TOKEN}\n`);
    expect(healthToken(config("{ auth_token_file: ./health.token }").health)).toBe(TOKEN);
    expect(healthToken(config(`{ auth_token: "${TOKEN}" }`).health)).toBe(TOKEN);
    expect(healthToken(config("{ listen: '127.0.0.1:0' }").health)).toBeNull();
  });

  test("both set, a missing or empty file: problems naming the field", () => {
    writeFile(dir.path, "empty.token", "\n");
    const issues = (health: string) => connectionIssues(config(health)).map((i) => `${i.path}: ${i.message}`);
    expect(issues(`{ auth_token: x, auth_token_file: ./health.token }`)).toEqual([
      "health: set auth_token or auth_token_file, not both",
    ]);
    expect(issues("{ auth_token_file: ./absent.token }")).toEqual([
      `health.auth_token_file: cannot read "${dir.path}/absent.token": no such file`,
    ]);
    expect(issues("{ auth_token_file: ./empty.token }")).toEqual([
      `health.auth_token_file: "${dir.path}/empty.token" is empty`,
    ]);
  });
});
