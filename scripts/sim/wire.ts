/**
 * MCP wire details of a simulated server: its identity, log-level filtering, the shared JSON Schema
 * validator, verbatim JSON-RPC errors and the standalone SSE stream (its opening comment, raw writes).
 */
import { type LoggingLevel, LoggingLevelSchema } from "@modelcontextprotocol/sdk/types.js";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv";

/** `serverInfo` the simulated server reports at initialize. */
export const SERVER_INFO = { name: "kubernetes-mcp-server", version: "0.0.0-sim" };
const LOG_LEVELS: readonly LoggingLevel[] = LoggingLevelSchema.options;

/** Whether a session whose level is `sessionLevel` receives a message at `level` (no level set → nothing). */
export function acceptsLevel(sessionLevel: LoggingLevel | null, level: LoggingLevel): boolean {
  return sessionLevel !== null && LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(sessionLevel);
}

let sharedSchemaValidator: AjvJsonSchemaValidator | undefined;

/** One JSON Schema validator for every session's Server (the SDK would create an Ajv instance per Server). */
export function schemaValidator(): AjvJsonSchemaValidator {
  sharedSchemaValidator ??= new AjvJsonSchemaValidator();
  return sharedSchemaValidator;
}

/**
 * A JSON-RPC error whose message goes on the wire verbatim (the SDK's McpError would prefix "MCP error N: ",
 * which the real Go server does not).
 */
export class JsonRpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const STREAM_OPEN_COMMENT = new TextEncoder().encode(": stream open\n\n");

const encoder = new TextEncoder();

/**
 * `message` as one SSE event in the bytes the SDK's streamable HTTP server transport writes for it on a
 * standalone stream with no event store (its `writeSSEEvent`).
 *
 * @example
 * ```ts
 * sseMessage({ method: "notifications/message", params: { level: "info", data: 1 }, jsonrpc: "2.0" });
 * // the bytes of 'event: message\ndata: {"method":"notifications/message",…,"jsonrpc":"2.0"}\n\n'
 * ```
 */
export function sseMessage(message: object): Uint8Array {
  return encoder.encode(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
}

/**
 * A session's standalone SSE stream with a side door: {@link WireTap.stream} passes the SDK's body on
 * after an opening SSE comment, {@link WireTap.write} writes raw bytes between its messages (hostile
 * payloads). While a write is under way the SDK's chunks wait, so neither splits the other's events.
 *
 * The opening comment: Bun.serve sends a streamed response's headers only with its first chunk, and the
 * SDK writes nothing until the first notification or keep-alive (15 s), so without it a client would not
 * see the GET answered. The Go server flushes the headers at once; the comment makes Bun do the same.
 * Without it (`flushHeaders` false) the stream behaves as the MCP TypeScript SDK's server on Bun does.
 */
export class WireTap {
  /** Whether the stream starts with the opening comment (its headers are then sent at once). */
  readonly #flushHeaders: boolean;
  #controller: TransformStreamDefaultController<Uint8Array> | null = null;
  #writing: Promise<void> = Promise.resolve();
  #busy = false;
  #held: Uint8Array[] = [];

  /** A tap whose stream starts with the opening comment unless `flushHeaders` is false. */
  constructor(flushHeaders = true) {
    this.#flushHeaders = flushHeaders;
  }

  /** `body` with the opening comment first (when flushing headers) and room for {@link write}. */
  stream(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
    return body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        start: (controller) => {
          this.#controller = controller;
          if (this.#flushHeaders) controller.enqueue(STREAM_OPEN_COMMENT);
        },
        transform: (chunk, controller) => {
          if (this.#busy) this.#held.push(chunk);
          else controller.enqueue(chunk);
        },
        flush: () => {
          this.#controller = null;
        },
      }),
    );
  }

  /**
   * Enqueues one whole SSE event at once, as the SDK's own writes are; false when the stream is gone or a
   * {@link write} is under way (the caller then sends through the SDK, whose chunks wait for it).
   */
  frame(bytes: Uint8Array): boolean {
    if (!this.#controller || this.#busy) return false;
    this.#controller.enqueue(bytes);
    return true;
  }

  /** Writes `chunks` onto the stream, yielding between chunks; resolves false when the stream is gone. */
  write(chunks: Iterable<Uint8Array>): Promise<boolean> {
    const done = this.#writing.then(async () => {
      this.#busy = true;
      try {
        for (const chunk of chunks) {
          if (!this.#controller) return false;
          this.#controller.enqueue(chunk);
          await new Promise((resolve) => setImmediate(resolve));
        }
        return true;
      } catch {
        return false;
      } finally {
        this.#busy = false;
        for (const chunk of this.#held.splice(0)) this.#controller?.enqueue(chunk);
      }
    });
    this.#writing = done.then(() => {});
    return done;
  }
}

/** A JSON-RPC error response with no request id. */
export function jsonRpcErrorResponse(status: number, code: number, message: string): Response {
  return Response.json({ jsonrpc: "2.0", error: { code, message }, id: null }, { status });
}
