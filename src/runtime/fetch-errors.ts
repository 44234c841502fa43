/**
 * Errors from the runtime's `fetch` in words for people. Bun's own messages carry advice meant for
 * programmers ("For more information, pass `verbose: true` in the second argument to fetch()") or
 * questions ("Is the computer able to access the url?"); the error's `code` says what happened, so the
 * message is rebuilt from it, naming the address. Deno's `fetch` gives no code: its cause's message
 * (hyper's words, with the OS error) says the same, and is read as the code it stands for.
 */
import { errorMessage } from "../log.ts";
import { errnoCode } from "./errno.ts";

/** What each code means, with `{to}` replaced by the address the request went to. */
const BY_CODE: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connection refused by {to} (nothing listens there, or a firewall rejects it)",
  ConnectionRefused: "connection refused by {to} (nothing listens there, or a firewall rejects it)",
  ENOTFOUND: "host not found: the name in {to} does not resolve (DNS)",
  EAI_AGAIN: "host name lookup for {to} failed for now (DNS); will retry",
  ECONNRESET: "{to} closed the connection unexpectedly (the server or a proxy in between dropped it)",
  EPIPE: "{to} closed the connection while the request was being sent",
  ETIMEDOUT: "no answer from {to}: the connection timed out",
  EHOSTUNREACH: "{to} is unreachable (no route to the host)",
  ENETUNREACH: "{to} is unreachable (no route to the network)",
  EPROTO: "TLS handshake with {to} failed: does the server speak https on this port?",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the TLS certificate of {to} is not trusted (unknown issuer)",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "the TLS certificate of {to} is not trusted (unknown issuer)",
  SELF_SIGNED_CERT_IN_CHAIN: "the TLS certificate of {to} is not trusted (self-signed in its chain)",
  DEPTH_ZERO_SELF_SIGNED_CERT: "the TLS certificate of {to} is self-signed and not trusted",
  CERT_HAS_EXPIRED: "the TLS certificate of {to} has expired",
  ERR_TLS_CERT_ALTNAME_INVALID: "the TLS certificate of {to} does not name that host",
  ERR_INVALID_URL: "{to} is not a valid URL",
};

/** Deno's fetch failures (the message of the error's cause) by the code they stand for. */
const BY_DENO_MESSAGE: readonly (readonly [RegExp, string])[] = [
  [/tcp connect error: Connection refused/, "ECONNREFUSED"],
  [/dns error: failed to lookup address/, "ENOTFOUND"],
  [/connection closed before message completed|Connection reset by peer \(os error/, "ECONNRESET"],
  [/Broken pipe \(os error/, "EPIPE"],
  [/tcp connect error: No route to host/, "EHOSTUNREACH"],
  [/tcp connect error: Network is unreachable/, "ENETUNREACH"],
  [/tcp connect error: Connection timed out/, "ETIMEDOUT"],
];

/** The code of an error: its own, or the one its (Deno) message stands for. */
function codeOf(error: unknown): string | undefined {
  const code = errnoCode(error);
  if (code !== undefined || !(error instanceof Error)) return code;
  return BY_DENO_MESSAGE.find(([pattern]) => pattern.test(error.message))?.[1];
}

/** Bun's advice to programmers, cut from any message that still carries it. */
const PROGRAMMER_ADVICE =
  /\s*For more information, pass `verbose: true` in the second argument to fetch\(\)\.?/g;

/**
 * A fetch failure as an operator should read it; `to` names where the request went (a URL or
 * `host:port`). Unknown errors keep their message, minus Bun's programmer advice.
 *
 * @example
 * ```ts
 * describeFetchError(bunResetError, "http://10.0.0.5:8080/mcp");
 * // "http://10.0.0.5:8080/mcp closed the connection unexpectedly (the server or a proxy in between dropped it)"
 * ```
 */
export function describeFetchError(error: unknown, to: string): string {
  for (let current: unknown = error, depth = 0; current && depth < 4; depth++) {
    const code = codeOf(current);
    const text = code ? BY_CODE[code] : undefined;
    if (text) return text.replace("{to}", to);
    const name = current instanceof Error ? current.name : "";
    if (name === "TimeoutError") return `no answer from ${to} in time`;
    current = current instanceof Error ? current.cause : undefined;
  }
  return withoutProgrammerAdvice(errorMessage(error));
}

/** `text` without Bun's "pass `verbose: true` to fetch()" advice. */
export function withoutProgrammerAdvice(text: string): string {
  return text.replace(PROGRAMMER_ADVICE, "");
}
