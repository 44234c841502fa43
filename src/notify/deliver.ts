/**
 * One delivery attempt: POSTs a {@link SinkRequest} with a timeout and says what to do next. A 2xx is
 * `sent`; 408, 429 and 5xx, a timeout, and an unreachable sink are retried (a `Retry-After` is
 * honoured, up to {@link MAX_RETRY_AFTER_MS}); a redirect or another 4xx is permanent (the request
 * itself is wrong: retrying cannot help). Error texts never contain the sink's URL, which is a secret.
 */
import { errorMessage } from "../log.ts";
import { errnoCode } from "../runtime/errno.ts";
import type { SinkRequest } from "./request.ts";

/** The longest `Retry-After` honoured (1 hour); a longer one waits this long. */
export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;
/** How much of an error response's body is kept for the error text. */
const ERROR_BODY_MAX = 300;

/** What one attempt came to. */
export type Delivery =
  | { outcome: "sent"; status: number }
  | { outcome: "retry"; error: string; retryAfterMs: number | null }
  | { outcome: "permanent"; error: string }
  /** faultline is stopping: the attempt does not count. */
  | { outcome: "stopped" };

/** Options for {@link deliver}. */
export interface DeliverOptions {
  timeoutMs: number;
  /** Aborting (faultline stops) ends the attempt as `stopped`. */
  signal: AbortSignal;
  /** The clock `Retry-After` dates are read against. */
  now?: () => number;
}

/** POSTs `request` once. Never throws. */
export async function deliver(request: SinkRequest, options: DeliverOptions): Promise<Delivery> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: "POST",
      headers: request.headers,
      body: request.body,
      redirect: "manual",
      signal: AbortSignal.any([options.signal, timeout]),
    });
  } catch (error) {
    if (options.signal.aborted) return { outcome: "stopped" };
    if (timeout.aborted) {
      return {
        outcome: "retry",
        error: `no answer within ${options.timeoutMs / 1000} s`,
        retryAfterMs: null,
      };
    }
    return {
      outcome: "retry",
      error: `unreachable: ${redact(describeFetchError(error), request.url)}`,
      retryAfterMs: null,
    };
  }
  const { status } = response;
  if (status >= 200 && status < 300) {
    await response.body?.cancel().catch(() => {});
    return { outcome: "sent", status };
  }
  const detail = redact(await bodySnippet(response), request.url);
  const error = `HTTP ${status}${detail ? `: ${detail}` : ""}`;
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfter = parseRetryAfter(response.headers.get("retry-after"), options.now?.() ?? Date.now());
    return { outcome: "retry", error, retryAfterMs: retryAfter };
  }
  if (status >= 300 && status < 400)
    return { outcome: "permanent", error: `${error} (redirects are not followed: check the url)` };
  return { outcome: "permanent", error };
}

/**
 * A `Retry-After` header in milliseconds from `nowMs`: delay-seconds or an HTTP date; null when
 * absent or unreadable; never negative, never above {@link MAX_RETRY_AFTER_MS}.
 *
 * @example
 * ```ts
 * parseRetryAfter("2", Date.now()); // 2000
 * parseRetryAfter("Wed, 21 Oct 2026 07:28:00 GMT", Date.parse("2026-10-21T07:27:00Z")); // 60000
 * ```
 */
export function parseRetryAfter(header: string | null, nowMs: number): number | null {
  if (header === null) return null;
  const text = header.trim();
  let ms: number;
  if (/^\d{1,10}$/.test(text)) ms = Number(text) * 1000;
  else {
    const at = Date.parse(text);
    if (Number.isNaN(at)) return null;
    ms = at - nowMs;
  }
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

/** The start of an error response's body, as one line of printable text. */
async function bodySnippet(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < ERROR_BODY_MAX) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // A body cut short still says what it said so far.
  } finally {
    await reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(Math.min(size, ERROR_BODY_MAX));
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk.subarray(0, bytes.length - at), at);
    at += Math.min(chunk.length, bytes.length - at);
  }
  const text = new TextDecoder().decode(bytes);
  return text.replace(/\p{Cc}+/gu, " ").trim();
}

function describeFetchError(error: unknown): string {
  const code = errnoCode(error);
  return code ? `${code}: ${errorMessage(error)}` : errorMessage(error);
}

/** `text` with the sink's URL (and its path, which usually holds the token) replaced by `<url>`. */
export function redact(text: string, url: string): string {
  let out = text.split(url).join("<url>");
  try {
    const { pathname, search, username, password } = new URL(url);
    for (const secret of [`${pathname}${search}`, username, password]) {
      if (secret.length > 1) out = out.split(secret).join("<url>");
    }
  } catch {
    // Not a URL: nothing more to hide.
  }
  return out;
}
