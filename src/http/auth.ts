/**
 * Bearer-token protection of the HTTP API (`health.auth_token` / `health.auth_token_file`): every route
 * except the probes (`/livez`, `/readyz`) requires `Authorization: Bearer <token>`, compared in
 * constant time; anything else gets 401.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";

/** Routes that answer without a token (orchestrators probe them without credentials). */
export const OPEN_ROUTES: ReadonlySet<string> = new Set(["/livez", "/readyz"]);

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
  const offered = match?.[1] ?? "";
  // Compared even when malformed, so a malformed header takes as long as a wrong token.
  return timingSafeEqual(digest(offered), digest(token)) && match !== null;
}

/**
 * Middleware answering 401 to a request for any route but {@link OPEN_ROUTES} without the token.
 *
 * @example
 * ```ts
 * app.use("*", requireBearerToken(token));
 * // curl -H "Authorization: Bearer $TOKEN" localhost:8080/health
 * ```
 */
export function requireBearerToken(token: string): MiddlewareHandler {
  const expected = token;
  return async (c, next) => {
    if (OPEN_ROUTES.has(c.req.path) || bearerMatches(c.req.header("authorization"), expected)) {
      await next();
      return;
    }
    return c.json({ error: "unauthorized: send Authorization: Bearer <health.auth_token>" }, 401, {
      "www-authenticate": 'Bearer realm="faultline"',
    });
  };
}
