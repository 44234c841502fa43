/**
 * Guessing the API token is slowed per client address: the budget's arithmetic on a fake clock, then a
 * real server on loopback with the default budget (bearer header and login form), the log line, and
 * that the token never reaches a log.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { Registry } from "../../src/cluster/registry.ts";
import { createHealthApp } from "../../src/http/app.ts";
import {
  FAILED_AUTH_BURST,
  FAILED_AUTH_REFILL_MS,
  FailedAuthThrottle,
} from "../../src/http/failed-auth-throttle.ts";
import { type RunningServer, serve } from "../../src/http/serve.ts";
import { SqliteStore } from "../../src/incidents/store.ts";
import { setLogSink } from "../../src/log.ts";
import { tempDir } from "../helpers/tmp.ts";

describe("the budget", () => {
  test("an address may fail BURST times in a row, then once per refill; a full bucket is forgotten", () => {
    let now = 1_000_000;
    const throttle = new FailedAuthThrottle({ now: () => now });
    for (let i = 0; i < FAILED_AUTH_BURST; i++) {
      expect(throttle.retryAfterMs("10.0.0.1")).toBe(0);
      throttle.failed("10.0.0.1");
    }
    expect(throttle.retryAfterMs("10.0.0.1")).toBe(FAILED_AUTH_REFILL_MS);
    expect(throttle.retryAfterMs("10.0.0.2")).toBe(0);
    now += FAILED_AUTH_REFILL_MS / 2;
    expect(throttle.retryAfterMs("10.0.0.1")).toBe(FAILED_AUTH_REFILL_MS / 2);
    now += FAILED_AUTH_REFILL_MS / 2;
    expect(throttle.retryAfterMs("10.0.0.1")).toBe(0);
    throttle.failed("10.0.0.1");
    expect(throttle.retryAfterMs("10.0.0.1")).toBe(FAILED_AUTH_REFILL_MS);
    now += FAILED_AUTH_BURST * FAILED_AUTH_REFILL_MS;
    expect(throttle.retryAfterMs("10.0.0.1")).toBe(0);
    expect(throttle.tracked).toBe(0);
  });

  test("at most maxClients addresses are remembered, the least recently failed forgotten first", () => {
    const throttle = new FailedAuthThrottle({ burst: 1, maxClients: 2, now: () => 0 });
    for (const address of ["a", "b", "c"]) throttle.failed(address);
    expect(throttle.tracked).toBe(2);
    expect(throttle.retryAfterMs("a")).toBe(0);
    expect(throttle.retryAfterMs("b")).toBeGreaterThan(0);
    expect(throttle.retryAfterMs("c")).toBeGreaterThan(0);
  });
});

describe("on a real server", () => {
  const TOKEN = "throttle-token-5f1c9a7e3b2d";
  const dir = tempDir("faultline-auth-throttle-");
  const registry = new Registry([]);
  let store: SqliteStore;
  const servers: RunningServer[] = [];
  const logs: string[] = [];
  let restoreSink: (line: string) => void;

  beforeAll(() => {
    store = SqliteStore.open(dir.path, { dedupWindowSeconds: 300 });
    restoreSink = setLogSink((line) => logs.push(line));
  });
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.stop();
  });
  afterAll(() => {
    setLogSink(restoreSink);
    store.close();
    dir.cleanup();
  });

  const start = (authThrottle?: FailedAuthThrottle): RunningServer => {
    const probes = { stopping: () => false, storeOpen: () => true };
    const app = createHealthApp({
      registry,
      startedAt: new Date(),
      store,
      probes,
      authToken: TOKEN,
      authThrottle,
    });
    const server = serve(app, { hostname: "127.0.0.1", port: 0 });
    servers.push(server);
    return server;
  };
  const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

  test("wrong bearer tokens: 401 up to the budget, then 429 with Retry-After, even for the right token; probes still answer", async () => {
    const { url } = start();
    for (let i = 0; i < FAILED_AUTH_BURST; i++) {
      expect((await fetch(`${url}/health`, bearer(`guess-${i}`))).status).toBe(401);
    }
    const refused = await fetch(`${url}/health`, bearer("guess-again"));
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(((await refused.json()) as { error: string }).error).toContain("too many failed attempts");
    // Refused before it is compared: a guesser learns nothing from a right guess while blocked.
    expect((await fetch(`${url}/health`, bearer(TOKEN))).status).toBe(429);
    expect((await fetch(`${url}/livez`)).status).toBe(200);
    const line = logs
      .map((l) => JSON.parse(l))
      .find((l) => l.msg?.startsWith("too many failed token attempts"));
    expect(line?.client).toBe("127.0.0.1");
    expect(logs.join("\n")).not.toContain(TOKEN);
  });

  test("requests without credentials are not guesses: they never spend the budget", async () => {
    const { url } = start();
    for (let i = 0; i < FAILED_AUTH_BURST * 2; i++) expect((await fetch(`${url}/health`)).status).toBe(401);
    expect((await fetch(`${url}/health`, bearer(TOKEN))).status).toBe(200);
  });

  test("the login form shares the budget: wrong tokens 401, then 429; a refilled failure lets the right one in", async () => {
    const { url } = start(new FailedAuthThrottle({ burst: 3, refillMs: 300 }));
    const login = (token: string) =>
      fetch(`${url}/ui/login`, { method: "POST", body: new URLSearchParams({ token }), redirect: "manual" });
    for (let i = 0; i < 3; i++) expect((await login(`guess-${i}`)).status).toBe(401);
    const refused = await login(TOKEN);
    expect(refused.status).toBe(429);
    expect(await refused.text()).toContain("too many failed attempts");
    await Bun.sleep(350);
    const accepted = await login(TOKEN);
    expect(accepted.status).toBe(303);
    expect(accepted.headers.get("set-cookie")).toContain("faultline_session=");
  });
});
