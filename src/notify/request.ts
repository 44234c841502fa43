/**
 * The HTTP request a sink gets for one message, and which sink type renders it: `slack.ts`,
 * `webhook.ts`, `alertmanager.ts` (one file each). Every request carries the message's
 * `Idempotency-Key`, the same on every attempt.
 */
import type { NotifySinkConfig } from "../config/types.ts";
import { alertmanagerRequest } from "./alertmanager.ts";
import type { NotificationMessage } from "./message.ts";
import { slackRequest } from "./slack.ts";
import { webhookRequest } from "./webhook.ts";

/** One POST to a sink. `url` is the sink's secret URL (or derived from it): never log it. */
export interface SinkRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** The POST that delivers `message` (with idempotency key `key`) to `sink`. */
export function renderRequest(
  sink: NotifySinkConfig,
  message: NotificationMessage,
  key: string,
): SinkRequest {
  switch (sink.type) {
    case "slack":
      return slackRequest(sink.url, message, key);
    case "webhook":
      return webhookRequest(sink.url, message, key, sink.secret);
    case "alertmanager":
      return alertmanagerRequest(sink.url, message, key);
  }
}

/** The headers every sink request has: a JSON body and the message's idempotency key. */
export function jsonHeaders(key: string): Record<string, string> {
  return { "content-type": "application/json", "idempotency-key": key, "user-agent": "faultline" };
}

/** `text` cut to at most `max` characters, ending in `…` when cut. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** `Kind namespace/name`, or `Kind name` for cluster-scoped objects. */
export function resourceText(resource: NotificationMessage["incident"]["resource"]): string {
  return `${resource.kind} ${resource.namespace ? `${resource.namespace}/` : ""}${resource.name}`;
}
