/** @jsxImportSource hono/jsx */
/**
 * The status page (hono JSX, server-rendered, no script): `GET /` (clusters and recent incidents, with
 * filters), `GET /ui/incidents/:id` (one incident, its report rendered), `GET /ui/style.css`, and with
 * `health.auth_token` the login form (`GET`/`POST /ui/login`) and `POST /ui/logout`. Every page is sent
 * with a strict Content-Security-Policy (no script at all, styles from this origin only) and reloads
 * itself with a `<meta http-equiv="refresh">`. Links are relative, so it works behind a path prefix.
 */
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { setCookie } from "hono/cookie";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Registry } from "../cluster/registry.ts";
import { tokenMatches } from "../http/auth.ts";
import { singleValues } from "../http/incidents.ts";
import { overallStatus } from "../http/overall.ts";
import { newSession, SESSION_COOKIE, sessionCookieOptions } from "../http/session.ts";
import { parseIncidentFilter } from "../incidents/filter.ts";
import { type IncidentFilter, StoreError } from "../incidents/model.ts";
import type { IncidentStore } from "../incidents/store-api.ts";
import { VERSION } from "../version.ts";
import { Dashboard } from "./dashboard.tsx";
import { IncidentPage } from "./incident-page.tsx";
import { documentOf, Frame } from "./layout.tsx";
import { LoginPage } from "./login.tsx";
import { STYLESHEET } from "./style.ts";

/** Headers of every page: nothing may run, load from elsewhere, frame it or post it elsewhere. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

/** Largest login form body read (bytes). */
const MAX_LOGIN_BYTES = 16 * 1024;

/** What the status page reads. */
export interface StatusPageDeps {
  registry: Registry;
  store: IncidentStore;
  startedAt: Date;
  /** `health.auth_token`: enables the login form and the logout button. */
  authToken?: string | null | undefined;
}

/**
 * The status page's routes; mount them with `app.route("/", statusPageRoutes(deps))` behind the token
 * middleware (auth.ts), which lets the login form, logout and stylesheet through.
 *
 * @example
 * ```ts
 * app.route("/", statusPageRoutes({ registry, store, startedAt, authToken }));
 * // open http://127.0.0.1:8080/ in a browser
 * ```
 */
export function statusPageRoutes(deps: StatusPageDeps): Hono {
  const app = new Hono();
  const token = deps.authToken || null;
  const loggedIn = token !== null;

  app.get("/", async (c) => {
    const values = singleValues(c.req.queries());
    const asked = typeof values === "string" ? {} : values;
    const filter = typeof values === "string" ? values : parseIncidentFilter(withoutEmpty(values));
    const counts = await deps.store.countsByCluster();
    const clusters = deps.registry.list().map((cluster) => ({
      ...cluster,
      incidents: counts.get(cluster.name) ?? {},
    }));
    const accepted: IncidentFilter | null = typeof filter === "string" ? null : filter;
    const incidents = accepted === null ? null : await deps.store.list(accepted);
    const page = (
      <Dashboard
        overall={overallStatus(clusters)}
        version={VERSION}
        uptimeMs={Date.now() - deps.startedAt.getTime()}
        clusters={clusters}
        incidents={incidents}
        asked={{ cluster: asked.cluster, status: asked.status }}
        filterError={typeof filter === "string" ? filter : null}
        loggedIn={loggedIn}
        nowMs={Date.now()}
      />
    );
    return html(c, page, accepted === null ? 400 : 200);
  });

  app.get("/ui/incidents/:id", async (c) => {
    const id = c.req.param("id");
    const detail = await deps.store.get(id);
    if (detail === null) return html(c, <Problem root="../../" message={`No incident ${id}.`} />, 404);
    return html(c, <IncidentPage detail={detail} loggedIn={loggedIn} nowMs={Date.now()} />);
  });

  app.get("/ui/style.css", (c) =>
    c.body(STYLESHEET, 200, {
      "content-type": "text/css; charset=utf-8",
      "cache-control": "max-age=300",
      "x-content-type-options": "nosniff",
    }),
  );

  app.get("/ui/login", (c) => (token ? html(c, <LoginPage failed={false} />) : c.redirect("../", 303)));
  app.post(
    "/ui/login",
    bodyLimit({ maxSize: MAX_LOGIN_BYTES, onError: (c) => c.text("login form too large", 413) }),
    async (c) => {
      if (!token) return c.redirect("../", 303);
      const offered = (await c.req.parseBody()).token;
      if (typeof offered !== "string" || !tokenMatches(offered, token)) {
        return html(c, <LoginPage failed={true} />, 401);
      }
      setCookie(c, SESSION_COOKIE, newSession(token), sessionCookieOptions(isHttps(c)));
      return c.redirect("../", 303);
    },
  );
  app.post("/ui/logout", (c) => {
    setCookie(c, SESSION_COOKIE, "", sessionCookieOptions(isHttps(c), 0));
    return c.redirect(token ? "login" : "../", 303);
  });

  app.onError((error, c) =>
    html(c, <Problem root="./" message={error.message} />, error instanceof StoreError ? 503 : 500),
  );
  return app;
}

/** Sends `page` as an HTML document with {@link PAGE_HEADERS}. */
function html(c: Context, page: unknown, status: ContentfulStatusCode = 200): Response {
  return c.html(documentOf(page), status, PAGE_HEADERS);
}

/** A page saying what went wrong. */
function Problem(props: { root: string; message: string }) {
  return (
    <Frame title="faultline — problem" root={props.root} refresh={false} loggedIn={false}>
      <div class="banner">{props.message}</div>
      <p>
        <a href={props.root}>← the status page</a>
      </p>
    </Frame>
  );
}

/** The query without its empty values (a form's "all clusters" / "any status" sends `cluster=`). */
function withoutEmpty(values: Record<string, string | undefined>): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== ""));
}

/** True when the browser reached faultline over https (directly or through a proxy that says so). */
function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === "https:" || c.req.header("x-forwarded-proto") === "https";
}
