/**
 * Authenticated connections end to end: simulated servers that require a bearer token (and a header),
 * a real faultline (workers, store) with the token from `${ENV}` and from a file, the file rotated,
 * a wrong token and no token; then subscriptions that vanish without notice.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Simulator, startSimulator } from "../../scripts/sim/index.ts";
import { startFaultline } from "../../src/app.ts";
import { parseConfig } from "../../src/config/load.ts";
import type { Faultline } from "../../src/faultline.ts";
import { tempDir, writeFile, writeKubeconfig } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

const dir = tempDir("faultline-connectivity-");
let sim: Simulator;
let app: Faultline;

const TOKENS = { env: "tok-from-env-1", file: "tok-from-file-1", rotated: "tok-from-file-2" };

beforeAll(async () => {
  sim = await startSimulator({
    clusters: [
      { name: "by-env", bearerToken: TOKENS.env, requiredHeaders: { "X-Tenant": "platform" } },
      { name: "by-file", bearerToken: TOKENS.file },
      { name: "wrong", bearerToken: "the-right-one" },
      { name: "none", bearerToken: "the-right-one" },
    ],
  });
  writeKubeconfig(dir.path, "kubeconfig");
  writeFile(dir.path, "by-file.token", `${TOKENS.file}\n`);
  const entry = (name: string, extra: string) =>
    `  - name: ${name}\n    mcp_endpoint: ${sim.endpoint(name)}\n    kubeconfig: ./kubeconfig\n${extra}`;
  const text = `clusters:
${entry(
  "by-env",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: config-file variable references, expanded by faultline
  '    auth: { bearer_token: "${BY_ENV_TOKEN}" }\n    headers: { X-Tenant: "${TENANT:-platform}" }',
)}
${entry("by-file", "    auth: { bearer_token_file: ./by-file.token }")}
${entry("wrong", "    auth: { bearer_token: not-the-right-one }")}
${entry("none", "")}
reconnect: { initial_seconds: 0.2, max_seconds: 0.4 }
ping: { interval_seconds: 0.3, timeout_seconds: 2 }
health: { enabled: false }
state_dir: ./state
log_level: error
`;
  const config = parseConfig(text, writeFile(dir.path, "faultline.yaml", text), { BY_ENV_TOKEN: TOKENS.env });
  app = await startFaultline(config);
});

afterAll(async () => {
  await app?.stop(2000);
  await sim?.stop();
  dir.cleanup();
});

const state = (name: string) => app.registry.get(name);
const stored = async (cluster: string) => (await app.store.list({ cluster })).length;

describe("a server that requires a bearer token", () => {
  test("the token from an environment variable (and a header with a default) works: active, faults arrive", async () => {
    await waitFor("by-env active", () => state("by-env")?.status === "active");
    sim.inject("by-env", { name: "env-crash" });
    await waitFor("stored", async () => (await stored("by-env")) === 1);
  });

  test("the token from a file works; a rotated file is used at the next reconnect", async () => {
    await waitFor("by-file active", () => state("by-file")?.status === "active");
    const reconnects = state("by-file")?.reconnects ?? 0;
    // Rotation: the file gets the new token, the server accepts only the new one, the session ends.
    writeFile(dir.path, "by-file.token", `${TOKENS.rotated}\n`);
    sim.setBearerToken("by-file", TOKENS.rotated);
    sim.dropSessions("by-file");
    await waitFor(
      "by-file active again",
      () => state("by-file")?.status === "active" && (state("by-file")?.reconnects ?? 0) > reconnects,
    );
    sim.inject("by-file", { name: "after-rotation" });
    await waitFor("stored after rotation", async () => (await stored("by-file")) === 1);
  });

  test("a wrong token: failed, last_error says the credentials were refused and names the field", async () => {
    const failed = await waitFor("wrong failed", () =>
      state("wrong")?.status === "failed" ? state("wrong") : null,
    );
    expect(failed.last_error).toBe(
      `credentials refused by ${sim.endpoint("wrong")} (HTTP 401 Unauthorized): check clusters[2].auth.bearer_token`,
    );
    expect(failed.retry_in_ms).toBeGreaterThan(0);
    // Normal backoff (0.2 s doubling to 0.4 s here): a handful of attempts a second, no storm.
    const before = sim.stats("wrong").refused;
    await Bun.sleep(1000);
    const attempts = sim.stats("wrong").refused - before;
    expect(attempts).toBeGreaterThanOrEqual(1);
    expect(attempts).toBeLessThanOrEqual(6);
  });

  test("no token at all: failed, last_error says the server requires credentials and where to set them", async () => {
    const failed = await waitFor("none failed", () =>
      state("none")?.status === "failed" ? state("none") : null,
    );
    expect(failed.last_error).toBe(
      `${sim.endpoint("none")} requires credentials (HTTP 401 Unauthorized): set clusters[3].auth.bearer_token or clusters[3].auth.bearer_token_file`,
    );
  });
});

describe("subscriptions that vanish without notice", () => {
  let checked: Simulator;
  let watcher: Faultline;
  const checkedDir = tempDir("faultline-subcheck-");

  beforeAll(async () => {
    checked = await startSimulator({
      clusters: [{ name: "checked" }, { name: "unlisted", listSubscriptions: false }],
    });
    writeKubeconfig(checkedDir.path, "kubeconfig");
    const text = `clusters:
  - { name: checked, mcp_endpoint: "${checked.endpoint("checked")}", kubeconfig: ./kubeconfig }
  - { name: unlisted, mcp_endpoint: "${checked.endpoint("unlisted")}", kubeconfig: ./kubeconfig }
subscribe: { check_interval_seconds: 0.2 }
reconnect: { initial_seconds: 0.2, max_seconds: 0.4 }
health: { enabled: false }
state_dir: ./state
log_level: error
`;
    watcher = await startFaultline(parseConfig(text, writeFile(checkedDir.path, "f.yaml", text), {}));
    await waitFor("both active", () => watcher.registry.list().every((c) => c.status === "active"));
  });
  afterAll(async () => {
    await watcher?.stop(2000);
    await checked?.stop();
    checkedDir.cleanup();
  });

  test("a vanished subscription is found by the check, subscribed again and backfilled; health shows the check", async () => {
    await waitFor("first check", () => watcher.registry.get("checked")?.last_subscription_check_at);
    const sessions = checked.stats("checked").sessions;
    expect(checked.cancelSubscriptions("checked")).toBe(1);
    // Pushed to nobody (the subscription is gone), but in the server's event list.
    expect(checked.inject("checked", { name: "while-gone" })).toBe(0);
    await waitFor("resubscribed", () => watcher.registry.get("checked")?.resubscriptions === 1);
    expect(checked.stats("checked")).toMatchObject({ subscriptions: 1, sessions }); // same session
    await waitFor("backfilled", async () => (await watcher.store.list({ cluster: "checked" })).length === 1);
    checked.inject("checked", { name: "after" });
    await waitFor(
      "pushed again",
      async () => (await watcher.store.list({ cluster: "checked" })).length === 2,
    );
    expect((await watcher.store.list({ cluster: "checked" })).map((i) => i.resource.name).sort()).toEqual([
      "after",
      "while-gone",
    ]);
    expect(watcher.registry.get("checked")?.status).toBe("active");
  });

  test("a server without events_list_subscriptions is not checked, and nothing fails", async () => {
    await Bun.sleep(600);
    expect(watcher.registry.get("unlisted")).toMatchObject({
      status: "active",
      last_subscription_check_at: null,
      resubscriptions: 0,
    });
    expect(checked.stats("unlisted").listSubscriptionsCalls).toBe(0);
  });
});
