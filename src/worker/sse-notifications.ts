/**
 * Logging notifications taken straight off the event stream. Every fault arrives as one
 * `notifications/message` on the standalone SSE stream; left to the MCP SDK, each would be decoded and
 * parsed by its SSE stream pipeline, then checked twice with zod (as a JSON-RPC message, then as a
 * logging notification) before reaching faultline's own validation (valibot, in `events/normalise.ts`).
 * This reads such an event once, checks what the SDK's schema would (JSON-RPC 2.0, the method, no id,
 * params with a valid `level` and an optional string `logger`) and hands the params on; anything else
 * (requests, answers, other notifications, anything malformed) goes to the SDK unchanged, which reports
 * what it cannot parse as before.
 */
import { LoggingLevelSchema } from "@modelcontextprotocol/sdk/types.js";
import type { TakeEvent } from "./wire-bounds.ts";

const LOGGING_LEVELS: ReadonlySet<string> = new Set(LoggingLevelSchema.options);
const decoder = new TextDecoder();

/**
 * A {@link TakeEvent} for an event stream (see `boundSseStream`): takes each SSE event that carries a
 * valid `notifications/message` and calls `deliver` with its params, synchronously, and the length of
 * the JSON text they were parsed from (no string in them is longer); leaves the rest.
 *
 * @example
 * ```ts
 * boundSseStream(body, bounds, onRefused, takeLoggingNotifications((params, chars) => feed.notified(params, chars)));
 * ```
 */
export function takeLoggingNotifications(deliver: (params: unknown, textChars: number) => void): TakeEvent {
  return (event) => {
    const data = messageData(decoder.decode(event));
    if (data === null) return false;
    let message: unknown;
    try {
      message = JSON.parse(data);
    } catch {
      return false; // the SDK reports it (unparsable)
    }
    const params = loggingParams(message);
    if (params === null) return false;
    deliver(params, data.length);
    return true;
  };
}

/**
 * The data of an SSE `message` event (its `data:` lines joined by newlines), or null for an event of
 * another type or without data.
 */
export function messageData(event: string): string | null {
  // The usual stream ends its lines in LF alone: walk them with indexOf, no array of lines, no regex.
  const text = event.includes("\r") ? event.replace(/\r\n?/g, "\n") : event;
  let data: string | null = null;
  const length = text.length;
  for (let start = 0; start < length; ) {
    const newline = text.indexOf("\n", start);
    const end = newline < 0 ? length : newline;
    if (text.startsWith("data:", start)) {
      const value = text.slice(text.charCodeAt(start + 5) === 0x20 ? start + 6 : start + 5, end);
      data = data === null ? value : `${data}\n${value}`;
    } else if (text.startsWith("event:", start)) {
      const from = text.charCodeAt(start + 6) === 0x20 ? start + 7 : start + 6;
      if (end - from !== 7 || !text.startsWith("message", from)) return null;
    }
    start = end + 1;
  }
  return data;
}

/** The params of a valid logging notification (as the SDK's schema checks it), else null. */
function loggingParams(message: unknown): Record<string, unknown> | null {
  if (typeof message !== "object" || message === null || Array.isArray(message)) return null;
  const { jsonrpc, method, params } = message as Record<string, unknown>;
  if (jsonrpc !== "2.0" || method !== "notifications/message" || "id" in message) return null;
  if (typeof params !== "object" || params === null || Array.isArray(params)) return null;
  const { level, logger } = params as Record<string, unknown>;
  if (typeof level !== "string" || !LOGGING_LEVELS.has(level)) return null;
  if (logger !== undefined && typeof logger !== "string") return null;
  return params as Record<string, unknown>;
}
