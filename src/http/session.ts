/**
 * The status page's login session: a browser cannot send `Authorization: Bearer`, so the login form
 * (`POST /ui/login`) takes `health.auth_token` once and sets an HttpOnly, SameSite=Strict cookie. The
 * cookie never holds the token: it holds an expiry time and the HMAC-SHA256 of that time keyed by the
 * token, so it proves the token was known, expires by itself, and dies with the token when it changes.
 * The cookie grants reading (GET, HEAD) only; every other method still needs the bearer token.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** The cookie's name. */
export const SESSION_COOKIE = "faultline_session";
/** How long a login lasts (12 hours). */
export const SESSION_SECONDS = 12 * 60 * 60;
/** Longest cookie value looked at. */
const MAX_SESSION_LENGTH = 256;

/** The proof for `expires` (epoch seconds) under `token`. */
function proof(token: string, expires: number): string {
  return createHmac("sha256", token).update(`faultline status page session ${expires}`).digest("base64url");
}

/** SHA-256 of `text`, so values of any length compare in constant time. */
function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/**
 * A fresh session value for `token`: `<expiry in epoch seconds>.<proof>`.
 *
 * @example
 * ```ts
 * setCookie(c, SESSION_COOKIE, newSession(token), sessionCookieOptions(secure));
 * ```
 */
export function newSession(token: string, nowMs: number = Date.now()): string {
  const expires = Math.floor(nowMs / 1000) + SESSION_SECONDS;
  return `${expires}.${proof(token, expires)}`;
}

/** True when `value` is an unexpired session made with `token` (the proof compared in constant time). */
export function sessionValid(value: string | undefined, token: string, nowMs: number = Date.now()): boolean {
  if (!value || value.length > MAX_SESSION_LENGTH) return false;
  const match = /^([0-9]{1,12})\.([A-Za-z0-9_-]{1,100})$/.exec(value);
  const expires = Number(match?.[1] ?? 0);
  const expected = proof(token, expires);
  const same = timingSafeEqual(digest(match?.[2] ?? ""), digest(expected));
  return same && match !== null && expires * 1000 > nowMs;
}

/**
 * The cookie's attributes: HttpOnly, SameSite=Strict, the whole site, {@link SESSION_SECONDS} long,
 * and Secure when the page was reached over https.
 */
export function sessionCookieOptions(secure: boolean, maxAge: number = SESSION_SECONDS) {
  return { httpOnly: true, sameSite: "Strict", path: "/", maxAge, secure } as const;
}
