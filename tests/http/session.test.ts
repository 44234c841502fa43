/** The status page's login cookie: it proves the token without holding it, expires, and dies with the token. */
import { expect, test } from "bun:test";
import { newSession, SESSION_SECONDS, sessionValid } from "../../src/http/session.ts";

const T0 = Date.parse("2026-11-25T03:00:00Z");

test("a session is valid for its token until it expires", () => {
  const session = newSession("t0ken", T0);
  expect(session).not.toContain("t0ken");
  expect(sessionValid(session, "t0ken", T0)).toBe(true);
  expect(sessionValid(session, "t0ken", T0 + (SESSION_SECONDS - 1) * 1000)).toBe(true);
  expect(sessionValid(session, "t0ken", T0 + SESSION_SECONDS * 1000)).toBe(false);
  expect(sessionValid(session, "other", T0)).toBe(false);
});

test("a changed expiry, a cut proof or garbage is refused", () => {
  const [expires, proof] = newSession("t0ken", T0).split(".");
  expect(sessionValid(`${Number(expires) + 60}.${proof}`, "t0ken", T0)).toBe(false);
  expect(sessionValid(`${expires}.${proof?.slice(1)}`, "t0ken", T0)).toBe(false);
  for (const garbage of [
    undefined,
    "",
    ".",
    `${expires}`,
    `x.${proof}`,
    `${expires}.${proof}.x`,
    "9".repeat(300),
  ]) {
    expect(sessionValid(garbage, "t0ken", T0)).toBe(false);
  }
});
