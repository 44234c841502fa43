/**
 * MCP plumbing the cluster connection and its feeds need and the SDK does not give: a fetch that
 * watches the standalone event stream, calling `events_list`, and reading tool answers.
 */
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import type { jsonSchemaValidator } from "@modelcontextprotocol/sdk/validation";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv";
import { DEFAULT_LIMITS } from "../config/schema.ts";
import type { LimitsConfig } from "../config/types.ts";
import { errorMessage } from "../log.ts";
import { errnoCode } from "../runtime/errno.ts";
import { describeFetchError, withoutProgrammerAdvice } from "../runtime/fetch-errors.ts";
import type { Flow } from "./flow.ts";
import type { ListEvents } from "./poller.ts";
import { takeLoggingNotifications } from "./sse-notifications.ts";
import {
  boundSseStream,
  commentsOnly,
  MAX_ERROR_BODY_BYTES,
  type OnRefused,
  readBoundedJson,
  type SourceWatch,
  type StreamBounds,
  type TakeEvent,
  truncateBody,
} from "./wire-bounds.ts";

let ajv: AjvJsonSchemaValidator | null = null;

/**
 * One JSON-schema validator for every MCP client in this thread, built the first time a client needs
 * it. Left to itself, each SDK `Client` builds its own Ajv instance: measured, a quarter of the CPU
 * of opening 1000 connections, and memory per connection. faultline validates what it receives with
 * valibot and calls no tool whose output schema the SDK would check, so it is rarely built at all.
 */
export const sharedSchemaValidator: jsonSchemaValidator = {
  getValidator: (schema) => {
    ajv ??= new AjvJsonSchemaValidator();
    return ajv.getValidator(schema);
  },
};

/** The edge's limits for one connection, and where refusals are reported. */
export interface EdgeGuard {
  limits: LimitsConfig;
  onRefused: OnRefused;
  /**
   * Where the event stream's logging notifications go, taken off the stream before the SDK parses them
   * (see sse-notifications.ts); without it they reach the client's notification handler.
   */
  onNotification?: (params: unknown, textChars?: number) => void;
}

/**
 * A fetch for the MCP transport that bounds everything the server answers (see wire-bounds.ts) and
 * watches the standalone event stream (the only GET the transport makes): reports when it opens and
 * when it ends, breaks or is refused. Events on that stream are bounded by `limits.max_event_bytes`;
 * answers to requests (JSON or SSE) by `limits.max_message_bytes`; both by `limits.max_event_depth`.
 * Requests go out through `send` (the cluster's own fetch, see transport.ts).
 */
export function watchEventStream(
  onOpen: () => void,
  onLost: (reason: string) => void,
  flow?: Flow,
  guard: EdgeGuard = { limits: DEFAULT_LIMITS, onRefused: () => {} },
  send: FetchLike = fetch,
): FetchLike {
  const { limits, onRefused } = guard;
  const depth = limits.max_event_depth;
  return async (url, init) => {
    const response = await send(url, init);
    if ((init?.method ?? "GET") !== "GET") {
      return bounded(response, { maxBytes: limits.max_message_bytes, maxDepth: depth }, onRefused);
    }
    if (!response.ok) {
      const why =
        response.status === 404
          ? " (session unknown to the server)"
          : response.status === 405
            ? " (the server offers no event stream)"
            : "";
      onLost(`event stream refused: HTTP ${response.status}${why}`);
      return bounded(response, { maxBytes: limits.max_message_bytes, maxDepth: depth }, onRefused);
    }
    if (!response.body) return response;
    onOpen();
    const events = { maxBytes: limits.max_event_bytes, maxDepth: depth };
    const notifications = guard.onNotification ? takeLoggingNotifications(guard.onNotification) : undefined;
    // Keep-alive comments (a server's every 15 s or so, per stream) stop here: the SDK would parse them for nothing.
    const take: TakeEvent = (event) => commentsOnly(event) || (notifications?.(event) ?? false);
    const body = boundSseStream(response.body, events, onRefused, take, watchBody(onLost, flow));
    return withBody(response, body);
  };
}

/**
 * `response` with its body bounded: an error answer cut short, an SSE answer event by event, any other
 * (JSON) answer read whole here (rejects with BodyRefused when it is too large or too deep).
 */
async function bounded(response: Response, bounds: StreamBounds, onRefused: OnRefused): Promise<Response> {
  const body = response.body;
  if (!body) return response;
  if (!response.ok) return withBody(response, truncateBody(body, MAX_ERROR_BODY_BYTES));
  const type = response.headers.get("content-type") ?? "";
  if (type.includes("text/event-stream")) return withBody(response, boundSseStream(body, bounds, onRefused));
  if (response.status === 202) return response; // accepted (a notification): no body, and the SDK cancels it
  return withBody(response, await readBoundedJson(body, bounds, onRefused));
}

/** `response` with another body, same status and headers. */
function withBody(response: Response, body: ReadableStream<Uint8Array> | Uint8Array): Response {
  return new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

/**
 * How the event stream's body is read: only while `flow` allows (held, the socket fills and the server
 * waits), and `onEnd` told when it ends or breaks.
 */
function watchBody(onEnd: (reason: string) => void, flow?: Flow): SourceWatch {
  return {
    ready: () => flow?.ready(),
    ended: () => onEnd("event stream ended by the server"),
    broke: (error) => onEnd(`event stream broke: ${withoutProgrammerAdvice(errorMessage(error))}`),
  };
}

/** True when `text` says the server has no tool named `tool`. */
export function mentionsMissingTool(text: string, tool = "events_subscribe"): boolean {
  return text.includes(tool) && /unknown tool|not found|no such tool/i.test(text);
}

/** `events_list` answered, with an error (the server cannot list events): a feed is degraded, not lost. */
export class ListAnswerError extends Error {
  constructor(reason: string) {
    super(`events_list failed: ${reason.trim() || "(no reason given)"}`);
    this.name = "ListAnswerError";
  }
}

/** What `events_list` is asked for: faults are Warning events, so the server filters out the rest. */
export const WARNINGS_ONLY = "type=Warning";

/**
 * `events_list` through `client`, Warning events only (its `fieldSelector` argument, passed on to the
 * Kubernetes API): the text of its answer; an answer with `isError` rejects with {@link ListAnswerError},
 * no answer within `timeoutMs` with the SDK's timeout error.
 */
export function eventsLister(client: Client, timeoutMs: number, context?: string): ListEvents {
  return async (namespace) => {
    const result = await client.callTool(
      {
        name: "events_list",
        arguments: toolArguments(
          context,
          namespace ? { namespace, fieldSelector: WARNINGS_ONLY } : { fieldSelector: WARNINGS_ONLY },
        ),
      },
      undefined,
      { timeout: timeoutMs },
    );
    const text = textContent(result.content);
    if (result.isError) throw new ListAnswerError(text);
    return text;
  };
}

/**
 * A tool call's arguments with the kubeconfig `context` of a multi-cluster server added (every tool
 * call faultline makes carries it when the cluster sets one).
 */
export function toolArguments(
  context: string | undefined,
  args: Record<string, unknown>,
): Record<string, unknown> {
  return context === undefined ? args : { ...args, context };
}

/** The text of a tool answer's text contents, joined by newlines. */
export function textContent(content: unknown): string {
  if (!Array.isArray(content)) return "";
  return content
    .map((item: unknown) => (stringField(item, "type") === "text" ? (stringField(item, "text") ?? "") : ""))
    .join("\n");
}

/** Finds the JSON object embedded in the subscribe answer and reads its `subscriptionId`. */
export function findSubscriptionId(text: string): string | null {
  const start = text.indexOf("{");
  const end = text.lastIndexOf("}");
  if (start >= 0 && end > start) {
    try {
      const subscriptionId = stringField(JSON.parse(text.slice(start, end + 1)), "subscriptionId");
      if (subscriptionId) return subscriptionId;
    } catch {
      // fall through to the pattern below
    }
  }
  return /"subscriptionId"\s*:\s*"([^"]+)"/.exec(text)?.[1] ?? null;
}

/** Where a failed request went, for {@link describeFailure}. */
export interface FailureTarget {
  /** The endpoint as shown: credentials replaced by `***`. */
  endpoint: string;
  /** The config field `name` of this cluster (`clusters[2].tls.ca_file`), for hints. */
  field(name: string): string;
}

/** Certificate verification failures (OpenSSL's codes, as Bun's fetch reports them). */
const UNTRUSTED_CERTIFICATE = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_UNTRUSTED",
  "CERT_SIGNATURE_FAILURE",
  "CERT_CHAIN_TOO_LONG",
  "INVALID_CA",
]);

/**
 * A readable reason for a failed request (for `last_error`): a lost session, an HTTP status, no answer
 * within `timeoutMs`, a refused connection, a certificate not trusted or not valid for the host (with
 * the `tls` field to set), a failed TLS handshake, else the error's own message.
 */
export function describeFailure(error: unknown, target: FailureTarget, timeoutMs: number): string {
  const { endpoint } = target;
  if (error instanceof StreamableHTTPError) {
    if (error.code === 404) return "session unknown to the server (HTTP 404): starting over";
    return `HTTP ${error.code} from ${endpoint}: ${error.message}`;
  }
  if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) {
    return `no answer within ${timeoutMs / 1000}s from ${endpoint}`;
  }
  const code = errnoCode(error) ?? "";
  if (code === "ConnectionRefused" || code === "ECONNREFUSED") return `connection refused by ${endpoint}`;
  if (UNTRUSTED_CERTIFICATE.has(code)) {
    return `TLS certificate of ${endpoint} not trusted (${code}: ${errorMessage(error)}): set ${target.field("tls.ca_file")} to the CA that issued it`;
  }
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    return `TLS certificate of ${endpoint} not valid for its host name (${code}): set ${target.field("tls.server_name")} to a name the certificate is issued for`;
  }
  if (code === "CERT_HAS_EXPIRED" || code === "CERT_NOT_YET_VALID") {
    return `TLS certificate of ${endpoint} not valid now (${code})`;
  }
  if (code === "ERR_SSL_TLSV1_ALERT_CERTIFICATE_REQUIRED") {
    return `TLS handshake with ${endpoint} failed (${code}): the server requires a client certificate: set ${target.field("tls.cert_file")} and ${target.field("tls.key_file")}`;
  }
  if (code === "EPROTO" || code.startsWith("ERR_SSL_")) {
    return `TLS handshake with ${endpoint} failed (${code}): is it an https server, and does it require a client certificate (${target.field("tls.cert_file")})?`;
  }
  // Bun's fetch errors (reset, DNS, TLS…) in words for operators, never "pass `verbose: true` to fetch()".
  return describeFetchError(error, endpoint);
}

/** `value[key]` when `value` is an object whose `key` holds a string, else undefined. */
function stringField(value: unknown, key: string): string | undefined {
  if (typeof value !== "object" || value === null || !(key in value)) return undefined;
  const field: unknown = Reflect.get(value, key);
  return typeof field === "string" ? field : undefined;
}
