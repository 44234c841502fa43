/**
 * One JSON-RPC request on an MCP session, sent without the MCP SDK's request machinery: the keep-alive
 * ping, and the start-up requests of a connection (initialize, logging/setLevel). Through the SDK, each
 * answer (an SSE stream from most servers) went through our bounds as a JavaScript stream, then the SDK's
 * text decoder and SSE parser streams, and two zod parses: at 1000 idle clusters pinged every 15 s, that
 * was most of faultline's idle CPU, and at start-up a good share of a worker's CPU per connection (README,
 * Performance). Here one POST is sent with the headers the SDK's transport sends (session id, protocol
 * version), and its answer is read chunk by chunk: bounded exactly as the edge bounds every answer
 * (wire-bounds.ts), the request's own answer taken by its id, and any other message the server put on the
 * same stream handed on as it would have arrived at the SDK's transport (notifications, requests), its
 * unparsable data reported the same way. Failures are the errors the SDK raised (timeout, HTTP status,
 * JSON-RPC error), so `describeFailure` names them as before.
 */
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { type FetchLike, fetchWithinOrigin } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  ErrorCode,
  type JSONRPCMessage,
  JSONRPCMessageSchema,
  McpError,
} from "@modelcontextprotocol/sdk/types.js";
import { messageData } from "./sse-notifications.ts";
import {
  type BodyOutput,
  MAX_ERROR_BODY_BYTES,
  type OnRefused,
  readBoundedJson,
  SseFramer,
  type StreamBounds,
  truncateBody,
} from "./wire-bounds.ts";

const decoder = new TextDecoder();
let requests = 0;

/** Where a request goes and what it may receive. */
export interface SessionTarget {
  /** The MCP endpoint. */
  url: URL;
  /** The cluster's fetch (its headers, token and TLS; reports refused credentials). */
  send: FetchLike;
  /** The session's id and protocol version, as the SDK's transport holds them (none before initialize). */
  sessionId: string | undefined;
  protocolVersion: string | undefined;
  /** How long the answer may take. */
  timeoutMs: number;
  /** Aborted when the session ends: an answer's stream still open is then closed (as the SDK's transport closes it). */
  closed: AbortSignal;
  /** The bounds of an answer (`limits.max_message_bytes`, `limits.max_event_depth`). */
  bounds: StreamBounds;
  /** An answer (or one of its events) refused by the bounds. */
  onRefused: OnRefused;
  /** Any other message the server sent with the answer: to the SDK (its transport's `onmessage`). */
  deliver(message: JSONRPCMessage): void;
  /** Data that is not a JSON-RPC message: to the SDK's error handler (its transport's `onerror`). */
  unparsable(error: Error): void;
}

/** A request's answer: its result, and the session id the server gave with it (initialize's answer). */
export interface SessionAnswer {
  result: Record<string, unknown>;
  sessionId: string | null;
}

/**
 * Sends `method` (with `params`) on the session; resolves with the server's result once it answers,
 * rejects as the SDK's `client.request` would (McpError RequestTimeout, StreamableHTTPError, McpError of a
 * JSON-RPC error, the fetch's own error, BodyRefused).
 *
 * @example
 * ```ts
 * await sessionRequest(target, "logging/setLevel", { level: "info" });
 * ```
 */
export async function sessionRequest(
  target: SessionTarget,
  method: string,
  params?: Record<string, unknown>,
): Promise<SessionAnswer> {
  const id = `faultline-${method}-${++requests}`;
  const abort = new AbortController();
  const answered = Promise.withResolvers<SessionAnswer>();
  const timer = setTimeout(() => {
    answered.reject(
      McpError.fromError(ErrorCode.RequestTimeout, "Request timed out", { timeout: target.timeoutMs }),
    );
    abort.abort();
  }, target.timeoutMs);
  // The answer's stream is read to its end even after the answer (later messages still reach the SDK).
  let settled = false;
  const request = { jsonrpc: "2.0", id, method, ...(params ? { params } : {}) };
  void exchange(target, request, AbortSignal.any([abort.signal, target.closed]), answered).then(
    () => {
      if (!settled)
        answered.reject(new Error(`the server ended its answer to ${method} without answering it`));
    },
    (error: unknown) => answered.reject(error),
  );
  try {
    return await answered.promise;
  } finally {
    settled = true;
    clearTimeout(timer);
  }
}

/** POSTs the request and reads its answer; `answered` settles once the request's own answer is read. */
async function exchange(
  target: SessionTarget,
  request: { id: string; method: string },
  signal: AbortSignal,
  answered: PromiseWithResolvers<SessionAnswer>,
): Promise<void> {
  const headers = new Headers({
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
  });
  if (target.sessionId) headers.set("mcp-session-id", target.sessionId);
  if (target.protocolVersion) headers.set("mcp-protocol-version", target.protocolVersion);
  const response = await fetchWithinOrigin(target.send)(target.url, {
    method: "POST",
    headers,
    body: JSON.stringify(request),
    signal,
  });
  const body = response.body;
  if (!response.ok) {
    const text = body ? await new Response(truncateBody(body, MAX_ERROR_BODY_BYTES)).text() : "";
    throw new StreamableHTTPError(response.status, `Error POSTing to endpoint: ${text}`);
  }
  if (!body) throw new Error(`the server answered ${request.method} without a body`);
  const sessionId = response.headers.get("mcp-session-id");
  const type = response.headers.get("content-type") ?? "";
  const take = (message: unknown): void => {
    if (isAnswerTo(message, request.id)) settle(message, request.method, sessionId, answered);
    else deliver(message, target);
  };
  if (type.includes("text/event-stream")) return readEvents(body, target, take);
  if (!type.includes("application/json")) {
    await body.cancel().catch(() => {});
    throw new StreamableHTTPError(-1, `Unexpected content type: ${type}`);
  }
  const bytes = await readBoundedJson(body, target.bounds, target.onRefused);
  const data: unknown = JSON.parse(decoder.decode(bytes));
  for (const message of Array.isArray(data) ? data : [data]) take(message);
}

/** Reads an SSE answer to its end, each bounded event's message to `take` as it completes. */
async function readEvents(
  body: ReadableStream<Uint8Array>,
  target: SessionTarget,
  take: (message: unknown) => void,
): Promise<void> {
  const framer = new SseFramer(target.bounds, target.onRefused, (event) => {
    const data = messageData(decoder.decode(event));
    if (data === null) return true;
    try {
      take(JSON.parse(data));
    } catch (error) {
      target.unparsable(error instanceof Error ? error : new Error(String(error)));
    }
    return true;
  });
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    framer.push(value, IGNORED);
  }
}

/** Where the framer would pass the events it does not take: it takes them all. */
const IGNORED: BodyOutput = { enqueue: () => {}, error: () => {}, terminate: () => {} };

/** Whether `message` is the answer (result or error) to the request `id`. */
function isAnswerTo(message: unknown, id: string): message is Record<string, unknown> {
  if (typeof message !== "object" || message === null) return false;
  const answer = message as Record<string, unknown>;
  return answer.id === id && ("result" in answer || "error" in answer);
}

/** Settles the request with its answer: a result resolves it, an error rejects it as the SDK would. */
function settle(
  answer: Record<string, unknown>,
  method: string,
  sessionId: string | null,
  answered: PromiseWithResolvers<SessionAnswer>,
): void {
  const { result, error } = answer;
  if (typeof error === "object" && error !== null) {
    const { code, message, data } = error as Record<string, unknown>;
    answered.reject(new McpError(Number(code), String(message), data));
  } else if (typeof result === "object" && result !== null && !Array.isArray(result)) {
    answered.resolve({ result: result as Record<string, unknown>, sessionId });
  } else answered.reject(new Error(`the server answered ${method} with a malformed result`));
}

/** Hands a message that is not the request's answer to the SDK, parsed as its transport parses it. */
function deliver(message: unknown, target: SessionTarget): void {
  const parsed = JSONRPCMessageSchema.safeParse(message);
  if (parsed.success) target.deliver(parsed.data);
  else target.unparsable(parsed.error);
}
