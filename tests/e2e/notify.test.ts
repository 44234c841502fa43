/**
 * Closing the loop, end to end with real processes and servers: the simulator emits a fault, an agent
 * writes report.md and summary.json, faultline stores them (GET /incidents/:id) and notifies a
 * Slack-shaped, a signed-webhook and an Alertmanager-shaped receiver (real HTTP servers on loopback).
 * A receiver that fails 3 times gets the message once, with one idempotency key; a message committed
 * before a SIGKILL is sent after the restart; a sink that never accepts ends in dead-letter.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHmac, timingSafeEqual } from "node:crypto";
import { join } from "node:path";
import { type Simulator, startSimulator } from "../../scripts/sim/index.ts";
import type { IncidentDetail } from "../../src/incidents/model.ts";
import type { Notification } from "../../src/incidents/outbox.ts";
import type { NotificationMessage } from "../../src/notify/message.ts";
import { type FaultlineProcess, runFaultline } from "../helpers/process.ts";
import { freePort, type Receiver, startReceiver } from "../helpers/receiver.ts";
import { countState, queryState } from "../helpers/state.ts";
import { tempDir, writeFile, writeKubeconfig } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

const dir = tempDir();
const PUBLIC_URL = "https://faultline.example.test";
const SECRET = "webhook-signing-secret";
/** Path parts that stand for the tokens real sink URLs carry: they must never show in logs or answers. */
const SLACK_TOKEN = "T0SLACK/B0HOOK/xoxSlackToken42";
const HOOK_TOKEN = "hook-token-7f3a";

const SUMMARY = {
  summary: "api-7f9c crash-loops: DB_URL is missing",
  root_cause: "The secret db-creds was deleted at 03:14",
  confidence: "high",
  actions: ["Restore secret db-creds", "kubectl -n shop rollout restart deploy/api"],
};
const AGENT = `#!/bin/sh
cat > /dev/null
printf '# Triage of %s\\n\\nThe pod crashes: <script>alert(1)</script>\\n' "$FAULTLINE_INCIDENT_ID" > report.md
cat > summary.json <<'JSON'
${JSON.stringify(SUMMARY)}
JSON
`;

let sim: Simulator;
let receiver: Receiver;
beforeAll(async () => {
  sim = await startSimulator({ clusters: ["prod-east", "staging", "k1"] });
  receiver = startReceiver((path, n) => {
    if (path === "/flaky") {
      if (n === 1) return { status: 429, headers: { "retry-after": "1" }, body: "slow down" };
      return n < 3 ? { status: 500, body: "boom" } : { status: 200 };
    }
    if (path === "/gone") return { status: 503 };
    return { status: 200 };
  });
  writeFile(dir.path, "agent.sh", AGENT, 0o755);
  writeKubeconfig(dir.path, "kube.yaml");
});
afterAll(async () => {
  await receiver?.stop();
  await sim?.stop();
  dir.cleanup();
});

function writeConfig(name: string, clusters: string[], notify: string): { config: string; state: string } {
  const state = join(dir.path, `${name}-state`);
  const entries = clusters.map(
    (c) =>
      `  - { name: ${c}, mcp_endpoint: "${sim.endpoint(c)}", kubeconfig: ./kube.yaml, labels: { tier: ${c === "staging" ? "dev" : "prod"} } }`,
  );
  const config = writeFile(
    dir.path,
    `${name}.yaml`,
    `clusters:\n${entries.join("\n")}
agent: { command: ["./agent.sh"], timeout_seconds: 30 }
reconnect: { initial_seconds: 0.05, max_seconds: 0.5 }
health: { listen: "127.0.0.1:0", public_url: "${PUBLIC_URL}" }
state_dir: ${state}
notify:
${notify}`,
  );
  return { config, state };
}

const getJson = async <T>(url: string): Promise<T> => (await (await fetch(url)).json()) as T;

function verifySignature(body: string, header: string | undefined): boolean {
  const expected = Buffer.from(`sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`);
  const given = Buffer.from(header ?? "");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

test("a fault is triaged, its summary is in /incidents/:id, and Slack, a signed webhook and Alertmanager get the right bodies", async () => {
  const { config, state } = writeConfig(
    "loop",
    ["prod-east", "staging"],
    `  - { name: ops-slack, type: slack, url: "${receiver.url}/slack/${SLACK_TOKEN}", on: [triaged, failed], match: { clusters: ["prod-*"], severity: warning, labels: { tier: prod } } }
  - { name: hook, type: webhook, url: "${receiver.url}/hook/${HOOK_TOKEN}", secret: ${SECRET}, on: [opened, triaged] }
  - { name: am, type: alertmanager, url: "${receiver.url}/am", on: [triaged], match: { clusters: ["prod-*"] } }
  - { name: flaky, type: webhook, url: "${receiver.url}/flaky", on: [triaged], match: { clusters: ["prod-east"] }, retry: { initial_seconds: 0.1, max_seconds: 0.5 } }
  - { name: dead-end, type: webhook, url: "${receiver.url}/gone", on: [opened], match: { clusters: ["staging"] }, max_attempts: 2, retry: { initial_seconds: 0.05 } }
`,
  );
  const run: FaultlineProcess = runFaultline(config);
  try {
    const url = await run.waitActive(2);
    sim.inject("prod-east", {
      name: "api-7f9c",
      namespace: "shop",
      faultType: "CrashLoop",
      severity: "critical",
    });
    sim.inject("staging", { name: "web-1", namespace: "web", faultType: "CrashLoop", severity: "critical" });

    // The agent's output is stored with its run and shown by the API.
    const prod = await waitFor("the prod incident triaged", async () => {
      const { incidents } = await getJson<{ incidents: Array<{ id: string; status: string }> }>(
        `${url}/incidents?cluster=prod-east`,
      );
      return incidents[0]?.status === "succeeded" ? incidents[0] : null;
    });
    const detail = await getJson<IncidentDetail>(`${url}/incidents/${prod.id}`);
    expect(detail.runs).toHaveLength(1);
    expect(detail.runs[0]?.output).toMatchObject({
      summary: SUMMARY,
      summary_status: "ok",
      summary_error: null,
      report_status: "ok",
      report_truncated: false,
    });
    expect(detail.runs[0]?.output?.report).toContain(`# Triage of ${prod.id}`);

    // Slack: one Block Kit message, for prod only (staging does not match), with every fact and the link.
    await waitFor("slack message", () => receiver.at(`/slack/${SLACK_TOKEN}`).length === 1);
    const slack = JSON.parse(receiver.at(`/slack/${SLACK_TOKEN}`)[0]?.body ?? "{}");
    const slackText = JSON.stringify(slack.blocks);
    expect(slack.blocks[0]).toEqual({
      type: "header",
      text: { type: "plain_text", text: "CrashLoop on prod-east: triaged" },
    });
    for (const fact of [
      "prod-east",
      "Pod shop/api-7f9c",
      "CrashLoop (critical)",
      "succeeded",
      SUMMARY.summary,
    ]) {
      expect(slackText).toContain(fact);
    }
    expect(slackText).toContain(`<${PUBLIC_URL}/ui/incidents/${prod.id}|${prod.id}>`);

    // Webhook: the documented body, signed, with a stable idempotency key; opened and triaged for both clusters.
    await waitFor("webhook messages", () => receiver.at(`/hook/${HOOK_TOKEN}`).length === 4);
    const hooks = receiver.at(`/hook/${HOOK_TOKEN}`);
    for (const hook of hooks)
      expect(verifySignature(hook.body, hook.headers["x-faultline-signature"])).toBe(true);
    const triaged = hooks.find(
      (h) => h.headers["x-faultline-event"] === "triaged" && h.body.includes(`"cluster":"prod-east"`),
    );
    expect(triaged?.headers["idempotency-key"]).toBe(`faultline:${prod.id}:triaged:1`);
    const body = JSON.parse(triaged?.body ?? "{}") as NotificationMessage;
    expect(body).toMatchObject({
      version: 1,
      event: "triaged",
      incident: {
        id: prod.id,
        url: `${PUBLIC_URL}/ui/incidents/${prod.id}`,
        cluster: "prod-east",
        labels: { tier: "prod" },
        fault_type: "CrashLoop",
        severity: "critical",
        status: "succeeded",
        resource: { kind: "Pod", namespace: "shop", name: "api-7f9c" },
      },
      run: { attempt: 1, status: "succeeded", exit_code: 0 },
      summary: SUMMARY,
      summary_error: null,
    });
    expect(hooks.filter((h) => h.headers["x-faultline-event"] === "opened")).toHaveLength(2);
    expect(hooks.filter((h) => h.headers["x-faultline-event"] === "triaged")).toHaveLength(2);

    // Alertmanager: POST /api/v2/alerts with the alert's labels and annotations.
    await waitFor("alertmanager alert", () => receiver.at("/am/api/v2/alerts").length === 1);
    const alerts = JSON.parse(receiver.at("/am/api/v2/alerts")[0]?.body ?? "[]");
    expect(alerts).toEqual([
      {
        labels: {
          alertname: "FaultlineIncident",
          cluster: "prod-east",
          fault_type: "CrashLoop",
          severity: "critical",
          namespace: "shop",
          resource: "Pod/api-7f9c",
          incident_id: prod.id,
        },
        annotations: {
          summary: SUMMARY.summary,
          root_cause: SUMMARY.root_cause,
          status: "triaged",
          report_url: `${PUBLIC_URL}/ui/incidents/${prod.id}`,
        },
        startsAt: detail.incident.first_seen,
        generatorURL: `${PUBLIC_URL}/ui/incidents/${prod.id}`,
      },
    ]);

    // 500, 429 (Retry-After: 1), 500, then 200: one message accepted, one key on every attempt.
    await waitFor(
      "flaky receiver accepted",
      () => receiver.at("/flaky").some((r) => r.status === 200),
      15_000,
    );
    const flaky = receiver.at("/flaky");
    expect(flaky.map((r) => r.status)).toEqual([500, 429, 500, 200]);
    expect(new Set(flaky.map((r) => r.headers["idempotency-key"]))).toEqual(
      new Set([`faultline:${prod.id}:triaged:1`]),
    );
    expect(new Set(flaky.map((r) => r.body)).size).toBe(1);
    // The Retry-After was honoured: the attempt after the 429 came at least a second later (backoff alone: 0.2 s).
    expect((flaky[2]?.at ?? 0) - (flaky[1]?.at ?? 0)).toBeGreaterThanOrEqual(950);
    // The receiver saw the 200 before faultline recorded it: wait for the outbox to say sent.
    await waitFor(
      "flaky message recorded sent after 4 attempts",
      () =>
        countState(
          state,
          "SELECT count(*) n FROM notifications WHERE sink = 'flaky' AND status = 'sent' AND attempts = 4",
        ) === 1,
    );

    // A sink that never accepts: dead-letter after max_attempts, in the API and the metrics.
    const dead = await waitFor("dead-letter", async () => {
      const { notifications } = await getJson<{ notifications: Notification[] }>(
        `${url}/notifications?status=dead`,
      );
      return notifications.length === 1 ? notifications[0] : null;
    });
    expect(dead).toMatchObject({ sink: "dead-end", trigger: "opened", attempts: 2, status: "dead" });
    expect(dead.last_error).toStartWith("HTTP 503");
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('faultline_notifications_dead{sink="dead-end"} 1');
    expect(metrics).toContain('faultline_notifications_total{sink="flaky",status="failed"} 3');
    expect(metrics).toContain('faultline_notifications_total{sink="flaky",status="sent"} 1');
    expect(metrics).toContain('faultline_notifications_dead{sink="ops-slack"} 0');

    // Sinks' URLs are secrets: never in an answer or a log line.
    const answers = [
      JSON.stringify(await getJson(`${url}/notifications`)),
      JSON.stringify(await getJson(`${url}/incidents/${prod.id}`)),
      metrics,
    ];
    const logs = JSON.stringify(run.logs) + run.stderr();
    for (const text of [...answers, logs]) {
      expect(text).not.toContain(SLACK_TOKEN);
      expect(text).not.toContain(HOOK_TOKEN);
      expect(text).not.toContain(receiver.url);
    }
    expect(run.logs.some((l) => l.msg === "notification sent" && l.sink === "ops-slack")).toBe(true);
  } finally {
    expect(await run.stop("SIGTERM")).toBe(0);
  }
  // slack 1 + hook 4 + am 1 + flaky 1 + dead-end 1: every message was written to the outbox once.
  expect(countState(state, "SELECT count(*) n FROM notifications")).toBe(8);
}, 60_000);

test("SIGKILL between committing an incident and sending its notification: after the restart it is sent, once", async () => {
  const port = await freePort();
  const { config, state } = writeConfig(
    "kill",
    ["k1"],
    `  - { name: late, type: webhook, url: "http://127.0.0.1:${port}/late", on: [opened], retry: { initial_seconds: 0.1, max_seconds: 0.2 } }
`,
  );
  const first = runFaultline(config);
  try {
    await first.waitActive(1);
    sim.inject("k1", { name: "kill-me" });
    // The receiver is down: the message is committed with the incident and stays pending.
    await waitFor(
      "a failed attempt",
      () =>
        countState(
          state,
          "SELECT count(*) n FROM notifications WHERE status = 'pending' AND attempts >= 1",
        ) === 1,
    );
  } finally {
    first.proc.kill("SIGKILL");
    await first.proc.exited;
  }
  const [pending] = queryState<{ last_error: string; idempotency_key: string }>(
    state,
    "SELECT last_error, idempotency_key FROM notifications",
  );
  expect(pending?.last_error).toStartWith("unreachable");

  const late = startReceiver(() => ({ status: 200 }), port);
  const second = runFaultline(config);
  try {
    await waitFor("the notification sent after the restart", () => late.at("/late").length === 1);
    await waitFor(
      "recorded as sent",
      () => countState(state, "SELECT count(*) n FROM notifications WHERE status = 'sent'") === 1,
    );
    expect(late.at("/late")[0]?.headers["idempotency-key"]).toBe(pending?.idempotency_key ?? "?");
    expect(JSON.parse(late.at("/late")[0]?.body ?? "{}").event).toBe("opened");
  } finally {
    expect(await second.stop("SIGTERM")).toBe(0);
    await late.stop();
  }
  expect(late.requests).toHaveLength(1);
}, 30_000);
