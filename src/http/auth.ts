/**
 * Token protection of the HTTP API (`health.auth_token` / `health.auth_token_file`): every route
 * except {@link OPEN_ROUTES} requires `Authorization: Bearer <token>`, compared in constant time, or —
 * for reading (GET, HEAD) only — the status page's login cookie (session.ts); anything else gets 401,
 * and a browser asking for a page of the status page is sent to its login form instead. A client
 * address that keeps sending a wrong token (bearer or login form) is slowed down: see
 * failed-auth-throttle.ts.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { logger } from "../log.ts";
import type { ClientInfo } from "../runtime/http-server.ts";
import { FailedAuthThrottle } from "./failed-auth-throttle.ts";
import { SESSION_COOKIE, sessionValid } from "./session.ts";

const log = logger({ component: "http" });

/**
 * Routes that answer without a token: the probes (orchestrators probe them without credentials), and
 * the status page's login form, logout and stylesheet (they show nothing of faultline's state).
 */
export const OPEN_ROUTES: ReadonlySet<string> = new Set([
  "/livez",
  "/readyz",
  "/ui/login",
  "/ui/logout",
  "/ui/style.css",
]);

/** True for the status page's own pages (`/` and `/ui/...`): without credentials they go to the login form. */
export function isPagePath(path: string): boolean {
  return path === "/" || path.startsWith("/ui/");
}

/** The path of the login form relative to `path`, so links work behind a proxy that adds a prefix. */
export function loginLocation(path: string): string {
  const depth = Math.max(0, path.split("/").length - 2);
  return `./${"../".repeat(depth)}ui/login`;
}

/** Longest Authorization header looked at (a longer one is refused unread). */
const MAX_AUTHORIZATION_LENGTH = 8192;

/** SHA-256 of `text`: equal-length digests make the comparison's time independent of the token's length. */
function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** True when `header` is `Bearer <token>` (scheme case-insensitive), compared in constant time. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  if (!header || header.length > MAX_AUTHORIZATION_LENGTH) return false;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  // Compared even when malformed, so a malformed header takes as long as a wrong token.
  return tokenMatches(match?.[1] ?? "", token) && match !== null;
}

/** True when `offered` is `token`, compared in constant time whatever the lengths. */
export function tokenMatches(offered: string, token: string): boolean {
  return timingSafeEqual(digest(offered), digest(token));
}

/**
 * Middleware answering 401 to a request for any route but {@link OPEN_ROUTES} without the token (or,
 * to read, a valid login cookie); a GET of a status page goes to the login form (303) instead.
 *
 * @example
 * ```ts
 * app.use("*", requireToken(token));
 * // curl -H "Authorization: Bearer $TOKEN" localhost:8080/health
 * ```
 */
export function requireToken(token: string, throttle = new FailedAuthThrottle()): MiddlewareHandler {
  const expected = token;
  return async (c, next) => {
    const reading = c.req.method === "GET" || c.req.method === "HEAD";
    // The login form takes the token too: it is throttled like a bearer header.
    const login = c.req.method === "POST" && c.req.path === "/ui/login";
    if (OPEN_ROUTES.has(c.req.path) && !login) {
      await next();
      return;
    }
    const client = clientAddress(c);
    const waitMs = throttle.retryAfterMs(client);
    if (waitMs > 0) return tooManyFailures(c, waitMs);
    if (login) {
      await next();
      if (c.res.status === 401) failedFrom(client, throttle);
      return;
    }
    const authorization = c.req.header("authorization");
    if (
      bearerMatches(authorization, expected) ||
      (reading && sessionValid(getCookie(c, SESSION_COOKIE), expected))
    ) {
      await next();
      return;
    }
    // A wrong bearer token is a guess; no credentials at all (a browser on its way to the login form)
    // is not, nor is a stale login cookie (guessing one means forging an HMAC).
    if (authorization !== undefined) failedFrom(client, throttle);
    if (reading && isPagePath(c.req.path)) return c.redirect(loginLocation(c.req.path), 303);
    return c.json({ error: "unauthorized: send Authorization: Bearer <health.auth_token>" }, 401, {
      "www-authenticate": 'Bearer realm="faultline"',
    });
  };
}

/** The client's address as the server saw it (see runtime/http-server.ts), or "unknown". */
function clientAddress(c: Context): string {
  const env = c.env as Partial<ClientInfo> | undefined;
  return env?.remoteAddress ?? "unknown";
}

/** Counts a failed attempt from `client`; says so once its budget is spent. */
function failedFrom(client: string, throttle: FailedAuthThrottle): void {
  throttle.failed(client);
  const waitMs = throttle.retryAfterMs(client);
  if (waitMs > 0) {
    log.warn("too many failed token attempts: refusing this address for a while", {
      client,
      retry_after_s: Math.ceil(waitMs / 1000),
    });
  }
}

/** 429 with `Retry-After`: a page's form gets text, the API JSON. */
function tooManyFailures(c: Context, waitMs: number): Response {
  const seconds = Math.ceil(waitMs / 1000);
  const message = `too many failed attempts from this address: try again in ${seconds} s`;
  const headers = { "retry-after": String(seconds) };
  return isPagePath(c.req.path) ? c.text(message, 429, headers) : c.json({ error: message }, 429, headers);
}
