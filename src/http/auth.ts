/**
 * Token protection of the HTTP API (`health.auth_token` / `health.auth_token_file`): every route
 * except {@link OPEN_ROUTES} requires `Authorization: Bearer <token>`, compared in constant time, or —
 * for reading (GET, HEAD) only — the status page's login cookie (session.ts); anything else gets 401,
 * and a browser asking for a page of the status page is sent to its login form instead.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { SESSION_COOKIE, sessionValid } from "./session.ts";

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
export function requireToken(token: string): MiddlewareHandler {
  const expected = token;
  return async (c, next) => {
    const reading = c.req.method === "GET" || c.req.method === "HEAD";
    if (
      OPEN_ROUTES.has(c.req.path) ||
      bearerMatches(c.req.header("authorization"), expected) ||
      (reading && sessionValid(getCookie(c, SESSION_COOKIE), expected))
    ) {
      await next();
      return;
    }
    if (reading && isPagePath(c.req.path)) return c.redirect(loginLocation(c.req.path), 303);
    return c.json({ error: "unauthorized: send Authorization: Bearer <health.auth_token>" }, 401, {
      "www-authenticate": 'Bearer realm="faultline"',
    });
  };
}
