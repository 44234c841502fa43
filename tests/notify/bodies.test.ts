/** What each sink is sent, which sinks hear about what, and the pure parts of delivery. */
import { expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import * as v from "valibot";
import { NotifySinkSchema } from "../../src/config/schema.ts";
import type { NotifySinkConfig } from "../../src/config/types.ts";
import type { AgentRun, Incident } from "../../src/incidents/model.ts";
import type { StatusChange } from "../../src/incidents/outbox.ts";
import { alertmanagerRequest, alertsUrl } from "../../src/notify/alertmanager.ts";
import { MAX_RETRY_AFTER_MS, parseRetryAfter, redact } from "../../src/notify/deliver.ts";
import { globToRegExp } from "../../src/notify/match.ts";
import { buildMessage, type NotificationMessage, planNotifications } from "../../src/notify/message.ts";
import { escapeMrkdwn, toSlackMessage } from "../../src/notify/slack.ts";
import { signBody, webhookRequest } from "../../src/notify/webhook.ts";
import { backoffDelay } from "../../src/runtime/backoff.ts";

const INCIDENT: Incident = {
  id: "20261125T031505Z-prod-east-86e8e16b",
  cluster: "prod-east",
  fault_id: "f1",
  fault_type: "CrashLoop",
  severity: "warning",
  resource: { apiVersion: "v1", kind: "Pod", name: "api-7f9c", namespace: "shop", uid: null },
  status: "succeeded",
  skip_reason: null,
  count: 2,
  first_seen: "2026-11-25T03:15:05.000Z",
  last_seen: "2026-11-25T03:15:09.000Z",
  attempts: 1,
  workspace: "/state/incidents/x",
  created_at: "2026-11-25T03:15:05.000Z",
  updated_at: "2026-11-25T03:16:00.000Z",
};
const RUN: AgentRun = {
  id: 1,
  incident_id: INCIDENT.id,
  attempt: 1,
  status: "succeeded",
  exit_code: 0,
  signal: null,
  started_at: "2026-11-25T03:15:06.000Z",
  finished_at: "2026-11-25T03:16:00.000Z",
  duration_ms: 54_000,
  workspace: "/state/incidents/x",
  error: null,
  output: {
    report: "r",
    report_status: "ok",
    report_bytes: 1,
    report_truncated: false,
    report_error: null,
    summary: { summary: "<!channel> *pwned* & gone", root_cause: "bad <config>", actions: ["a <b>"] },
    summary_status: "ok",
    summary_error: null,
  },
};
const TRIAGED: StatusChange = { trigger: "triaged", incident: INCIDENT, run: RUN };

function sink(fields: Record<string, unknown>): NotifySinkConfig {
  return v.parse(NotifySinkSchema, { name: "s", type: "webhook", url: "https://hooks.example/x", ...fields });
}

const message = (change = TRIAGED, url: string | undefined = "https://fl.example/") =>
  buildMessage(change, { tier: "prod" }, url);

test("cluster globs match whole names: * any run, ? one character, the rest literal", () => {
  expect(globToRegExp("prod-*").test("prod-east")).toBe(true);
  expect(globToRegExp("prod-*").test("xprod-east")).toBe(false);
  expect(globToRegExp("prod-?").test("prod-1")).toBe(true);
  expect(globToRegExp("prod-?").test("prod-12")).toBe(false);
  expect(globToRegExp("a.b").test("aXb")).toBe(false);
});

test("planNotifications: on, cluster globs, least severity and labels must all hold; one key per change", () => {
  const plan = planNotifications({
    notify: [
      sink({ name: "all", on: ["opened", "triaged", "failed"] }),
      sink({ name: "default-on" }),
      sink({ name: "prod", match: { clusters: ["staging", "prod-*"] } }),
      sink({ name: "critical", match: { severity: "critical" } }),
      sink({ name: "warning", match: { severity: "warning", labels: { tier: "prod" } } }),
      sink({ name: "eu", match: { labels: { region: "eu" } } }),
      sink({ name: "opened-only", on: ["opened"] }),
    ],
    clusters: [{ name: "prod-east", labels: { tier: "prod" } }],
    health: { public_url: "https://fl.example" },
  });
  const planned = plan(TRIAGED);
  expect(planned.map((p) => p.sink)).toEqual(["all", "default-on", "prod", "warning"]);
  expect(new Set(planned.map((p) => p.idempotency_key))).toEqual(
    new Set([`faultline:${INCIDENT.id}:triaged:1`]),
  );
  expect(JSON.parse(planned[0]?.message ?? "{}")).toEqual(
    buildMessage(TRIAGED, { tier: "prod" }, "https://fl.example"),
  );
  expect(
    plan({ trigger: "opened", incident: { ...INCIDENT, status: "queued" }, run: null }).map((p) => p.sink),
  ).toEqual(["all", "opened-only"]);
});

test("the message: incident facts with its URL, the run, the summary (or why there is none)", () => {
  const m = message();
  expect(m.incident.url).toBe(`https://fl.example/ui/incidents/${INCIDENT.id}`);
  expect(m.run).toEqual({ attempt: 1, status: "succeeded", exit_code: 0, duration_ms: 54_000, error: null });
  expect(m.summary?.summary).toBe("<!channel> *pwned* & gone");
  expect(buildMessage(TRIAGED, {}, undefined).incident.url).toBeNull();
  const noOutput = buildMessage({ ...TRIAGED, run: { ...RUN, output: null } }, {}, undefined);
  expect([noOutput.summary, noOutput.summary_error]).toEqual([null, "no output recorded"]);
  const opened = buildMessage({ trigger: "opened", incident: INCIDENT, run: null }, {}, undefined);
  expect([opened.run, opened.summary, opened.summary_error]).toEqual([null, null, null]);
});

test("slack: Block Kit with the facts; values from clusters and agents cannot forge links or mentions", () => {
  const slack = toSlackMessage(message());
  expect(slack.blocks[0]).toEqual({
    type: "header",
    text: { type: "plain_text", text: "CrashLoop on prod-east: triaged" },
  });
  expect(slack.blocks[1]).toEqual({
    type: "section",
    fields: [
      { type: "mrkdwn", text: "*Cluster*\nprod-east" },
      { type: "mrkdwn", text: "*Resource*\nPod shop/api-7f9c" },
      { type: "mrkdwn", text: "*Fault*\nCrashLoop (warning)" },
      { type: "mrkdwn", text: "*Status*\nsucceeded (attempt 1)" },
    ],
  });
  const text = JSON.stringify(slack.blocks);
  expect(text).toContain("&lt;!channel&gt; *pwned* &amp; gone");
  expect(text).not.toContain("<!channel>");
  expect(text).toContain("bad &lt;config&gt;");
  expect(text).toContain("• a &lt;b&gt;");
  expect(slack.blocks.at(-1)).toEqual({
    type: "context",
    elements: [
      { type: "mrkdwn", text: `Incident <https://fl.example/ui/incidents/${INCIDENT.id}|${INCIDENT.id}>` },
    ],
  });
  expect(escapeMrkdwn("<@U1>&")).toBe("&lt;@U1&gt;&amp;");
  // Block Kit limits: a header of at most 150 characters, sections of at most 3000.
  const huge = toSlackMessage(
    buildMessage(
      {
        ...TRIAGED,
        incident: { ...INCIDENT, fault_type: "F".repeat(500) },
        run: { ...RUN, output: RUN.output && { ...RUN.output, summary: { summary: "s".repeat(4096) } } },
      },
      {},
      undefined,
    ),
  );
  expect(huge.blocks[0]?.type === "header" && huge.blocks[0].text.text.length).toBe(150);
  for (const block of huge.blocks)
    if (block.type === "section" && block.text) expect(block.text.text.length).toBeLessThanOrEqual(3000);
});

test("webhook: the message as body, Idempotency-Key, and an HMAC-SHA256 signature of the exact body when a secret is set", () => {
  const m = message();
  const request = webhookRequest("https://hooks.example/x", m, "key-1", "s3cret");
  expect(JSON.parse(request.body) as NotificationMessage).toEqual(m);
  expect(request.headers["idempotency-key"]).toBe("key-1");
  expect(request.headers["x-faultline-event"]).toBe("triaged");
  expect(request.headers["x-faultline-signature"]).toBe(
    `sha256=${createHmac("sha256", "s3cret").update(request.body).digest("hex")}`,
  );
  expect(signBody("s3cret", request.body)).toBe(request.headers["x-faultline-signature"] ?? "");
  expect(
    webhookRequest("https://hooks.example/x", m, "key-1", undefined).headers["x-faultline-signature"],
  ).toBeUndefined();
});

test("alertmanager: /api/v2/alerts below the base URL; a cluster-scoped object has no namespace label", () => {
  expect(alertsUrl("http://am:9093")).toBe("http://am:9093/api/v2/alerts");
  expect(alertsUrl("http://am:9093/prefix/")).toBe("http://am:9093/prefix/api/v2/alerts");
  expect(alertsUrl("http://am:9093/api/v2/alerts")).toBe("http://am:9093/api/v2/alerts");
  const node = buildMessage(
    {
      trigger: "failed",
      incident: {
        ...INCIDENT,
        resource: { apiVersion: "v1", kind: "Node", name: "n1", namespace: null, uid: null },
      },
      run: { ...RUN, status: "failed", exit_code: 1, output: null },
    },
    {},
    undefined,
  );
  const [alert] = JSON.parse(alertmanagerRequest("http://am:9093", node, "k").body);
  expect(alert.labels).toEqual({
    alertname: "FaultlineIncident",
    cluster: "prod-east",
    fault_type: "CrashLoop",
    severity: "warning",
    resource: "Node/n1",
    incident_id: INCIDENT.id,
  });
  expect(alert.annotations).toEqual({ summary: "CrashLoop on Node n1 (prod-east)", status: "failed" });
  expect(alert.generatorURL).toBeUndefined();
});

test("Retry-After: seconds or an HTTP date, never negative, at most an hour", () => {
  const now = Date.parse("2026-10-21T07:27:00Z");
  expect(parseRetryAfter("2", now)).toBe(2000);
  expect(parseRetryAfter("Wed, 21 Oct 2026 07:28:00 GMT", now)).toBe(60_000);
  expect(parseRetryAfter("Wed, 21 Oct 2026 07:00:00 GMT", now)).toBe(0);
  expect(parseRetryAfter("999999", now)).toBe(MAX_RETRY_AFTER_MS);
  expect(parseRetryAfter("soon", now)).toBeNull();
  expect(parseRetryAfter(null, now)).toBeNull();
});

test("error texts never carry the sink's URL, its token path or its credentials", () => {
  const url = "https://user:pw-123@hooks.slack.com/services/T0/B0/XYZ?token=abc";
  const text = `failed https://user:pw-123@hooks.slack.com/services/T0/B0/XYZ?token=abc and /services/T0/B0/XYZ?token=abc pw-123`;
  const out = redact(text, url);
  expect(out).not.toContain("XYZ");
  expect(out).not.toContain("pw-123");
  expect(out).toContain("<url>");
});

test("backoffDelay: doubles from initial per attempt, never above max, up to 20 % jitter", () => {
  expect([0, 1, 2, 3, 9].map((n) => backoffDelay(n, 1000, 5000, () => 0))).toEqual([
    1000, 2000, 4000, 5000, 5000,
  ]);
  expect(backoffDelay(0, 1000, 5000, () => 0.999)).toBe(1200);
});
