/**
 * The `webhook` sink: a JSON POST whose body is the {@link NotificationMessage} itself (documented in
 * the README), with `Idempotency-Key`, `X-Faultline-Event`, and — when the sink has a `secret` —
 * `X-Faultline-Signature: sha256=<hex>`, the HMAC-SHA256 of the exact body bytes under that secret.
 */
import { createHmac } from "node:crypto";
import type { NotificationMessage } from "./message.ts";
import { jsonHeaders, type SinkRequest } from "./request.ts";

/** The signature header a receiver checks. */
export const SIGNATURE_HEADER = "x-faultline-signature";

/**
 * `sha256=<hex>`: HMAC-SHA256 of `body` under `secret`.
 *
 * @example
 * ```ts
 * // A receiver: compare in constant time (crypto.timingSafeEqual) with the header it got.
 * const expected = signBody(process.env.FAULTLINE_WEBHOOK_SECRET, rawBody);
 * ```
 */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/** The webhook POST for `message`. */
export function webhookRequest(
  url: string,
  message: NotificationMessage,
  key: string,
  secret: string | undefined,
): SinkRequest {
  const body = JSON.stringify(message);
  const headers = { ...jsonHeaders(key), "x-faultline-event": message.event };
  return {
    url,
    headers: secret ? { ...headers, [SIGNATURE_HEADER]: signBody(secret, body) } : headers,
    body,
  };
}
