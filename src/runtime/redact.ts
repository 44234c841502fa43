/**
 * Keeping secrets out of what faultline shows: endpoints with their credentials replaced by `***`, and
 * a scrubber that replaces every known secret (URL user-info, query values, tokens, header values) in
 * any text before it reaches a log line, `last_error` or a response.
 *
 * @example
 * ```ts
 * redactUrl("https://bot:pw@mcp.example/mcp?token=abc"); // "https://***:***@mcp.example/mcp?token=***"
 * const scrubber = new Scrubber(urlSecrets("https://bot:pw42@mcp.example/mcp"));
 * scrubber.add("my-bearer-token");
 * scrubber.scrub("401 for my-bearer-token"); // "401 for ***"
 * ```
 */

import type { LogFields, Logger } from "../log.ts";

/** What a secret is replaced by. */
export const REDACTED = "***";

/** Secrets shorter than this are not scrubbed from free text (they would mangle ordinary words). */
const MIN_SECRET_LENGTH = 3;

/**
 * `url` with its user-info and every query value replaced by {@link REDACTED}; a text that is no URL
 * is replaced whole.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return REDACTED;
  }
  const userinfo =
    parsed.username || parsed.password ? `${REDACTED}${parsed.password ? `:${REDACTED}` : ""}@` : "";
  const query = [...parsed.searchParams.keys()].map((key) => `${encodeURIComponent(key)}=${REDACTED}`);
  const search = query.length > 0 ? `?${query.join("&")}` : "";
  return `${parsed.protocol}//${userinfo}${parsed.host}${parsed.pathname}${search}`;
}

/** The secrets a URL carries: user name and password, query values (as written and decoded). */
export function urlSecrets(url: string): string[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [url];
  }
  const secrets = [
    parsed.username,
    parsed.password,
    ...decoded(parsed.username),
    ...decoded(parsed.password),
  ];
  for (const [, value] of parsed.searchParams) secrets.push(value, encodeURIComponent(value));
  for (const part of parsed.search.slice(1).split("&")) {
    const at = part.indexOf("=");
    if (at >= 0) secrets.push(part.slice(at + 1));
  }
  return secrets;
}

function decoded(text: string): string[] {
  try {
    return [decodeURIComponent(text)];
  } catch {
    return [];
  }
}

/** Replaces known secrets in text. Secrets can be added as they become known (a token file read later). */
export class Scrubber {
  #secrets: string[] = [];

  /** A scrubber for `secrets` (empty and very short ones are ignored). */
  constructor(secrets: Iterable<string> = []) {
    for (const secret of secrets) this.add(secret);
  }

  /** Scrubs `secret` from now on. */
  add(secret: string): void {
    if (secret.length < MIN_SECRET_LENGTH || this.#secrets.includes(secret)) return;
    this.#secrets.push(secret);
    // Longest first, so a secret containing another is replaced whole.
    this.#secrets.sort((a, b) => b.length - a.length);
  }

  /** `text` with every known secret replaced by {@link REDACTED}. */
  scrub(text: string): string {
    let out = text;
    for (const secret of this.#secrets) {
      if (out.includes(secret)) out = out.replaceAll(secret, REDACTED);
    }
    return out;
  }

  /** A copy of `fields` with every string value (one level deep, and in arrays) scrubbed. */
  scrubFields<T extends Record<string, unknown>>(fields: T): T {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(fields)) {
      out[key] =
        typeof value === "string"
          ? this.scrub(value)
          : Array.isArray(value)
            ? value.map((item) => (typeof item === "string" ? this.scrub(item) : item))
            : value;
    }
    return out as T;
  }
}

/** `log` with every message and string field scrubbed by `scrubber` first. */
export function scrubbingLogger(log: Logger, scrubber: Scrubber): Logger {
  const clean = (fields?: LogFields) => (fields ? scrubber.scrubFields(fields) : undefined);
  return {
    debug: (msg, fields) => log.debug(scrubber.scrub(msg), clean(fields)),
    info: (msg, fields) => log.info(scrubber.scrub(msg), clean(fields)),
    warn: (msg, fields) => log.warn(scrubber.scrub(msg), clean(fields)),
    error: (msg, fields) => log.error(scrubber.scrub(msg), clean(fields)),
    child: (fields) => scrubbingLogger(log.child(scrubber.scrubFields(fields)), scrubber),
  };
}
