/**
 * The status page through `app.request()` (no server): what it lists, its filters, an incident's page,
 * that every value from servers and agents comes out inert, its headers, and the token login.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { RunOutput } from "../../src/agent/output.ts";
import { Registry } from "../../src/cluster/registry.ts";
import type { ClusterConfig } from "../../src/config/types.ts";
import { createHealthApp } from "../../src/http/app.ts";
import { newSession, SESSION_COOKIE, SESSION_SECONDS } from "../../src/http/session.ts";
import type { Incident } from "../../src/incidents/model.ts";
import { SqliteStore } from "../../src/incidents/store.ts";
import { setLogSink } from "../../src/log.ts";
import { ingestOne, makeFault, makeOutcome } from "../helpers/fault.ts";
import { tempDir } from "../helpers/tmp.ts";

const TOKEN = "page-token-0123456789";
const XSS_POD = `<img src=x onerror="document.title='pwned'">`;
const XSS_LABEL = `<script>document.title='pwned'</script>`;
const REPORT = `# Triage

The pod crashes: <script>document.title='pwned'</script> and <img src=x onerror=alert(1)>.

- [runbook](https://runbooks.example/api) · [bad](javascript:alert(1))

\`\`\`sh
kubectl -n shop logs api
\`\`\`
`;
const OUTPUT: RunOutput = {
  report: REPORT,
  report_status: "ok",
  report_bytes: REPORT.length,
  report_truncated: false,
  report_error: null,
  summary: {
    summary: "DB_URL is missing <b>now</b>",
    root_cause: "secret db-creds deleted",
    confidence: "high",
    actions: ["Restore secret db-creds", "<script>x()</script>"],
  },
  summary_status: "ok",
  summary_error: null,
};

function cluster(name: string, labels: Record<string, string>): ClusterConfig {
  return {
    name,
    mcp_endpoint: "http://127.0.0.1:1/mcp",
    kubeconfig: `/tmp/${name}.kubeconfig`,
    enabled: true,
    labels,
    severity_threshold: "info",
    triage: true,
  };
}

const dir = tempDir("faultline-ui-");
const registry = new Registry([cluster("prod-east", { tier: XSS_LABEL }), cluster("staging", {})]);
let store: SqliteStore;
let crash: Incident;
let skipped: Incident;
let restoreSink: (line: string) => void;

beforeAll(() => {
  restoreSink = setLogSink(() => {});
  store = SqliteStore.open(join(dir.path, "state"), {});
  crash = ingestOne(
    store,
    makeFault({
      cluster: "prod-east",
      fault_id: "crash",
      labels: { tier: XSS_LABEL },
      resource: { name: XSS_POD },
      context: `last words: <script>document.title='pwned'</script>`,
    }),
    { action: "triage" },
  );
  const run = store.markRunning(crash.id, join(dir.path, "ws"));
  store.finishRun(run.id, { ...makeOutcome({ duration_ms: 1500 }), output: OUTPUT });
  skipped = ingestOne(
    store,
    makeFault({ cluster: "staging", fault_id: "node", fault_type: "NodeUnhealthy" }),
    {
      action: "skip",
      reason: "below_threshold",
    },
  );
});
afterAll(() => {
  store.close();
  dir.cleanup();
  setLogSink(restoreSink);
});

const open = () => createHealthApp({ registry, startedAt: new Date(), store });
const guarded = () => createHealthApp({ registry, startedAt: new Date(), store, authToken: TOKEN });

async function page(
  path: string,
  app = open(),
  init?: RequestInit,
): Promise<{ status: number; html: string }> {
  const response = await app.request(path, init);
  return { status: response.status, html: await response.text() };
}

/** True when `html` has an element or attribute that could run: a script, an image, an event handler. */
function hasActiveMarkup(html: string): boolean {
  return /<(script|img|iframe|svg|object|embed)|<[a-z][^>]*\son[a-z]+\s*=|(href|src)="?\s*javascript:/i.test(
    html,
  );
}

test("the inertness check itself finds active markup", () => {
  for (const active of ["<script>x</script>", '<p onclick="x">', '<a href="javascript:x">', "<IMG SRC=x>"]) {
    expect(hasActiveMarkup(active)).toBe(true);
  }
  expect(hasActiveMarkup("&lt;img src=x onerror=x&gt; javascript: is text")).toBe(false);
});

describe("GET /", () => {
  test("shows every cluster with its status, mode, labels and incident counts, and the recent incidents", async () => {
    const response = await open().request("/");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/html");
    const html = await response.text();
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html).toContain('<meta http-equiv="refresh" content="10"/>');
    for (const name of ["prod-east", "staging"]) expect(html).toContain(`>${name}</a>`);
    expect(html).toContain("disconnected");
    expect(html).toContain("1 succeeded");
    expect(html).toContain("1 skipped");
    expect(html).toContain(`href="./ui/incidents/${crash.id}"`);
    expect(html).toContain(`href="./ui/incidents/${skipped.id}"`);
    expect(html).toContain("below_threshold");
  });

  test("a <script> in a label or an <img onerror> in a pod name comes out as text", async () => {
    const { html } = await page("/");
    expect(hasActiveMarkup(html)).toBe(false);
    expect(html).toContain("tier=&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;");
    expect(html).toContain("&lt;img src=x onerror=&quot;document.title=&#39;pwned&#39;&quot;&gt;");
  });

  test("sends a Content-Security-Policy that allows no script, and no caching", async () => {
    const response = await open().request("/");
    const csp = response.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain("script-src");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("cache-control")).toBe("no-store");
  });

  test("filters by cluster and by status with a plain GET form; empty values mean all", async () => {
    const byCluster = await page("/?cluster=staging");
    expect(byCluster.html).toContain(skipped.id);
    expect(byCluster.html).not.toContain(crash.id);
    expect(byCluster.html).toContain('<option value="staging" selected="">staging</option>');
    const byStatus = await page("/?cluster=&status=succeeded");
    expect(byStatus.html).toContain(crash.id);
    expect(byStatus.html).not.toContain(skipped.id);
    expect(byStatus.html).toContain('<option value="succeeded" selected="">succeeded</option>');
    const both = await page("/?cluster=staging&status=succeeded");
    expect(both.html).toContain("No incident matches.");
    const all = await page("/?cluster=&status=");
    expect(all.html).toContain(crash.id);
    expect(all.html).toContain(skipped.id);
    expect(all.html).toContain('<form class="filters" method="get" action="./#incidents">');
  });

  test("a bad filter is answered 400 with the problem, escaped", async () => {
    const bad = await page("/?status=%3Cscript%3E");
    expect(bad.status).toBe(400);
    expect(bad.html).toContain("status: must be one of queued, running");
    expect(bad.html).not.toContain(crash.id);
    const unknown = await page("/?colour=red");
    expect(unknown.status).toBe(400);
    expect(unknown.html).toContain("colour: unknown query parameter");
    const twice = await page("/?cluster=a&cluster=b");
    expect(twice.status).toBe(400);
    expect(twice.html).toContain("cluster: given more than once");
    const hostile = await page(`/?cluster=${encodeURIComponent(XSS_LABEL)}`);
    expect(hostile.status).toBe(200);
    expect(hasActiveMarkup(hostile.html)).toBe(false);
  });
});

describe("GET /ui/incidents/:id", () => {
  test("shows the summary, the rendered report, the runs and the events", async () => {
    const { status, html } = await page(`/ui/incidents/${crash.id}`);
    expect(status).toBe(200);
    expect(html).toContain('<p class="summary">DB_URL is missing &lt;b&gt;now&lt;/b&gt;</p>');
    expect(html).toContain("secret db-creds deleted");
    expect(html).toContain("<li>Restore secret db-creds</li>");
    expect(html).toContain("<h1>Triage</h1>");
    expect(html).toContain('<code class="language-sh">kubectl -n shop logs api');
    expect(html).toContain(
      '<a href="https://runbooks.example/api" rel="noopener noreferrer nofollow">runbook</a>',
    );
    expect(html).toContain("last words:");
    expect(html).toContain(`href="../../incidents/${crash.id}"`);
    expect(html).toContain('<meta http-equiv="refresh" content="10"/>');
    expect(html).toContain('href="../../ui/style.css"');
  });

  test("the report's script, image and javascript: link, the context's and the summary's markup are inert", async () => {
    const { html } = await page(`/ui/incidents/${crash.id}`);
    expect(hasActiveMarkup(html)).toBe(false);
    expect(html).toContain("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;");
    expect(html).toContain('<a rel="noopener noreferrer nofollow">bad</a>');
  });

  test("an incident without runs says so; an unknown one is a 404 page", async () => {
    const { html } = await page(`/ui/incidents/${skipped.id}`);
    expect(html).toContain("No agent has run for this incident.");
    const missing = await page(`/ui/incidents/${encodeURIComponent("<script>x</script>")}`);
    expect(missing.status).toBe(404);
    expect(missing.html).toContain("No incident &lt;script&gt;x&lt;/script&gt;.");
    expect(hasActiveMarkup(missing.html)).toBe(false);
  });
});

test("the stylesheet is served as CSS", async () => {
  const response = await open().request("/ui/style.css");
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("text/css; charset=utf-8");
  expect(await response.text()).toContain(".badge");
});

describe("with health.auth_token", () => {
  const login = (token: string) =>
    guarded().request("/ui/login", {
      method: "POST",
      body: new URLSearchParams({ token }),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
  const sessionOf = (response: Response) =>
    /faultline_session=([^;]+)/.exec(response.headers.get("set-cookie") ?? "")?.[1] ?? "";

  test("a page without the token goes to the login form; the API still answers 401", async () => {
    const front = await guarded().request("/");
    expect(front.status).toBe(303);
    expect(front.headers.get("location")).toBe("./ui/login");
    const incident = await guarded().request(`/ui/incidents/${crash.id}`);
    expect(incident.headers.get("location")).toBe("./../../ui/login");
    expect((await guarded().request("/incidents")).status).toBe(401);
    const form = await page("/ui/login", guarded());
    expect(form.status).toBe(200);
    expect(form.html).toContain('<form method="post" action="login">');
    expect(form.html).not.toContain(crash.id);
    expect((await guarded().request("/ui/style.css")).status).toBe(200);
  });

  test("a wrong token is refused; the right one sets an HttpOnly SameSite=Strict cookie that holds no token", async () => {
    for (const wrong of ["", "nope", `${TOKEN}x`, TOKEN.slice(0, -1)]) {
      const refused = await login(wrong);
      expect(refused.status).toBe(401);
      expect(refused.headers.get("set-cookie")).toBeNull();
      expect(await refused.text()).toContain("That is not the token.");
    }
    const accepted = await login(TOKEN);
    expect(accepted.status).toBe(303);
    expect(accepted.headers.get("location")).toBe("../");
    const cookie = accepted.headers.get("set-cookie") ?? "";
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Strict");
    expect(cookie).toContain(`Max-Age=${SESSION_SECONDS}`);
    expect(cookie).not.toContain("Secure");
    expect(cookie).not.toContain(TOKEN);
    const session = sessionOf(accepted);
    const front = await page("/", guarded(), { headers: { cookie: `${SESSION_COOKIE}=${session}` } });
    expect(front.status).toBe(200);
    expect(front.html).toContain("log out");
    expect(front.html).toContain(crash.id);
  });

  test("over https (a proxy saying so) the cookie is Secure", async () => {
    const accepted = await guarded().request("/ui/login", {
      method: "POST",
      body: new URLSearchParams({ token: TOKEN }),
      headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-proto": "https" },
    });
    expect(accepted.headers.get("set-cookie")).toContain("Secure");
  });

  test("the cookie reads only: it does not open POST routes; forged, expired or foreign cookies are refused", async () => {
    const session = newSession(TOKEN);
    const withCookie = (value: string, method = "GET", path = "/") =>
      guarded().request(path, { method, headers: { cookie: `${SESSION_COOKIE}=${value}` } });
    expect((await withCookie(session, "GET", "/incidents")).status).toBe(200);
    expect((await withCookie(session, "POST", "/-/reload")).status).toBe(401);
    const [expires, proof] = session.split(".");
    const expired = newSession(TOKEN, Date.now() - (SESSION_SECONDS + 5) * 1000);
    for (const bad of [
      expired,
      `${Number(expires) + 3600}.${proof}`,
      newSession("another-token"),
      `${expires}.`,
      TOKEN,
      "x".repeat(5000),
    ]) {
      expect((await withCookie(bad)).status).toBe(303);
    }
  });

  test("the bearer header opens the pages too; logout clears the cookie", async () => {
    const front = await guarded().request("/", { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(front.status).toBe(200);
    const out = await guarded().request("/ui/logout", { method: "POST" });
    expect(out.status).toBe(303);
    expect(out.headers.get("location")).toBe("login");
    expect(out.headers.get("set-cookie")).toContain("Max-Age=0");
  });

  test("a login form larger than 16 KiB is refused unread", async () => {
    const response = await login("x".repeat(20_000));
    expect(response.status).toBe(413);
  });
});

test("without a token the login form is not needed", async () => {
  const response = await open().request("/ui/login");
  expect(response.status).toBe(303);
  expect(response.headers.get("location")).toBe("../");
});
