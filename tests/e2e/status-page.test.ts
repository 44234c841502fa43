/**
 * The status page in a real headless Chromium, JavaScript off, against a real faultline fleet (simulator,
 * workers, agent processes) with `health.auth_token` set: the login form lets the browser in, the front
 * page lists the clusters and the incident, the filter form works, the incident's page shows the agent's
 * summary and rendered report — and the XSS probes in the report, the pod name and the event context
 * are inert: no script, image or handler in the DOM, nothing changed the title or set a global, and the
 * browser never even had to block one. A screenshot of each page is written to the temp dir.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "puppeteer-core";
import { chromiumPath, launchChromium } from "../helpers/chromium.ts";
import { type Fleet, startFleet } from "../helpers/fleet.ts";
import { tempDir } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

const TOKEN = "status-page-token-4242";
const POD = `api-<img src=x onerror="window.__xss=3;document.title='pwned'">`;
/** An agent whose report and summary carry XSS probes; the probes would set window.__xss or the title. */
const AGENT = `#!/bin/sh
cat > /dev/null
cat > report.md <<'MD'
# Triage of the crash loop

The container exits with **code 1**: DB_URL is not set.
<script>window.__xss = 1; document.title = 'pwned'</script>
<img src=x onerror="window.__xss=2;document.title='pwned'">

| check | result |
|---|---|
| secret db-creds | missing |

\`\`\`sh
kubectl -n shop get secret db-creds
\`\`\`
MD
cat > summary.json <<'JSON'
{"summary":"DB_URL is missing: secret db-creds was deleted <script>window.__xss=5</script>","confidence":"high","actions":["Restore secret db-creds"]}
JSON
`;

/** The browser globals the page functions below use: they run in Chromium, not in this process. */
declare const document: {
  title: string;
  body: { textContent: string };
  querySelectorAll(selector: string): Iterable<{ tagName: string; getAttributeNames(): string[] }>;
};
declare const window: { __xss?: unknown };

const chromium = chromiumPath();
if (!chromium) console.warn("status page browser test skipped: no chromium (apt-get install -y chromium)");

const shots = tempDir("faultline-page-shots-");
let fleet: Fleet;
let browser: Browser;
let url: string;
let incidentId: string;

beforeAll(async () => {
  if (!chromium) return;
  fleet = await startFleet({
    clusters: ["prod-east", "staging"],
    agentScript: AGENT,
    healthExtra: `auth_token: ${TOKEN}`,
  });
  url = fleet.app.http?.url ?? "";
  await fleet.waitActive();
  fleet.sim.inject("prod-east", {
    name: POD,
    namespace: "shop",
    faultType: "CrashLoop",
    severity: "critical",
    context: "last words: <script>window.__xss=4</script>",
  });
  const incident = await waitFor(
    "the prod-east incident triaged",
    async () =>
      (await fleet.app.store.list({ cluster: "prod-east" })).find((i) => i.status === "succeeded") ?? null,
    20_000,
  );
  incidentId = incident.id;
  browser = await launchChromium(chromium);
}, 40_000);

afterAll(async () => {
  await browser?.close();
  await fleet?.stop();
  shots.cleanup();
});

/** A page with JavaScript off that records every console message (a CSP refusal would be one). */
async function openPage(): Promise<{ page: Page; console: string[] }> {
  const page = await browser.newPage();
  await page.setJavaScriptEnabled(false);
  await page.setViewport({ width: 1280, height: 900 });
  const messages: string[] = [];
  page.on("console", (message) => messages.push(`${message.type()}: ${message.text()}`));
  return { page, console: messages };
}

/** What in the page's DOM could run: scripts, images, frames, and `on*` attributes. */
async function activeElements(page: Page): Promise<string[]> {
  return await page.evaluate(() => {
    const found: string[] = [];
    for (const element of document.querySelectorAll("*")) {
      const tag = element.tagName.toLowerCase();
      if (["script", "img", "iframe", "object", "embed", "svg"].includes(tag)) found.push(tag);
      for (const attribute of element.getAttributeNames()) {
        if (attribute.startsWith("on")) found.push(`${tag}[${attribute}]`);
      }
    }
    return found;
  });
}

/** The probes' effects: the global they set and the title they change. */
async function probeEffects(page: Page): Promise<{ xss: unknown; title: string }> {
  return await page.evaluate(() => ({
    xss: window.__xss ?? null,
    title: document.title,
  }));
}

test.skipIf(!chromium)(
  "in Chromium without JavaScript: login, clusters, filters, the incident with its rendered report; the XSS probes are inert",
  async () => {
    const { page, console: messages } = await openPage();

    // Without the cookie the front page sends the browser to the login form.
    const first = await page.goto(`${url}/`);
    expect(page.url()).toBe(`${url}/ui/login`);
    expect(first?.status()).toBe(200);
    await page.type("input[name=token]", TOKEN);
    await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
    expect(page.url()).toBe(`${url}/`);
    const cookies = await browser.cookies();
    const session = cookies.find((cookie) => cookie.name === "faultline_session");
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe("Strict");

    // The front page: the clusters and the incident.
    const clusterNames = await page.$$eval("section.card table tbody tr td:first-child a", (links) =>
      links.map((link) => link.textContent),
    );
    expect(clusterNames.slice(0, 2)).toEqual(["prod-east", "staging"]);
    expect(await page.$eval("h1 .badge", (badge) => badge.textContent)).toBe("ok");
    const incidentLinks = await page.$$eval("a[href^='./ui/incidents/']", (links) =>
      links.map((link) => link.textContent),
    );
    expect(incidentLinks).toContain(incidentId);
    expect(await page.$eval("meta[http-equiv=refresh]", (meta) => meta.getAttribute("content"))).toBe("10");
    const frontText = await page.evaluate(() => document.body.textContent);
    expect(frontText).toContain(`Pod/shop/${POD}`);
    await page.screenshot({ path: join(shots.path, "front.png"), fullPage: true });

    // The filter form is a plain GET form: it works with JavaScript off.
    await page.select("select[name=status]", "skipped");
    await Promise.all([page.waitForNavigation(), page.click("form.filters button[type=submit]")]);
    expect(page.url()).toBe(`${url}/?cluster=&status=skipped#incidents`);
    expect(await page.$$eval("a[href^='./ui/incidents/']", (links) => links.length)).toBe(0);
    expect(
      await page.$eval("select[name=status]", (select) => (select as unknown as { value: string }).value),
    ).toBe("skipped");

    // The incident's page, reached by its link from the unfiltered list.
    await page.goto(`${url}/`);
    await Promise.all([page.waitForNavigation(), page.click(`a[href='./ui/incidents/${incidentId}']`)]);
    const response = await page.reload();
    expect(response?.status()).toBe(200);
    expect(response?.headers()["content-security-policy"]).toContain("default-src 'none'");
    expect(page.url()).toBe(`${url}/ui/incidents/${incidentId}`);
    expect(await page.$eval(".summary", (p) => p.textContent)).toBe(
      "DB_URL is missing: secret db-creds was deleted <script>window.__xss=5</script>",
    );
    expect(await page.$eval(".report h1", (h) => h.textContent)).toBe("Triage of the crash loop");
    expect(await page.$eval(".report strong", (s) => s.textContent)).toBe("code 1");
    expect(await page.$$eval(".report table td", (cells) => cells.map((c) => c.textContent))).toEqual([
      "secret db-creds",
      "missing",
    ]);
    expect(await page.$eval(".report pre code", (c) => c.textContent)).toContain(
      "kubectl -n shop get secret",
    );
    const reportText = await page.$eval(".report", (r) => r.textContent);
    expect(reportText).toContain("<script>window.__xss = 1; document.title = 'pwned'</script>");
    expect(await page.$eval("pre.context", (p) => p.textContent)).toContain(
      "<script>window.__xss=4</script>",
    );
    await page.screenshot({ path: join(shots.path, "incident.png"), fullPage: true });

    // Inert: nothing that could run is in the DOM, and nothing ran (checked with JavaScript on, below).
    expect(await activeElements(page)).toEqual([]);
    expect(messages.filter((m) => /Content Security Policy|Refused/i.test(m))).toEqual([]);
    for (const name of ["front.png", "incident.png"]) {
      const png = readFileSync(join(shots.path, name));
      expect(png.subarray(1, 4).toString()).toBe("PNG");
      expect(png.length).toBeGreaterThan(10_000);
    }
    await page.close();
  },
  60_000,
);

test.skipIf(!chromium)(
  "with JavaScript on, the probes still never run: no global set, the title unchanged, no CSP refusal needed",
  async () => {
    const { page, console: messages } = await openPage();
    await page.setJavaScriptEnabled(true);
    await page.setExtraHTTPHeaders({ authorization: `Bearer ${TOKEN}` });
    await page.goto(`${url}/`);
    expect(await probeEffects(page)).toEqual({ xss: null, title: "faultline — ok" });
    await page.goto(`${url}/ui/incidents/${incidentId}`);
    const effects = await probeEffects(page);
    expect(effects.xss).toBeNull();
    expect(effects.title).toStartWith("CrashLoop Pod/shop/api-<img");
    expect(await activeElements(page)).toEqual([]);
    expect(messages.filter((m) => /Content Security Policy|Refused/i.test(m))).toEqual([]);
    await page.close();
  },
  30_000,
);
