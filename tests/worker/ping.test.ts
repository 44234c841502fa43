import { afterEach, describe, expect, test } from "bun:test";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ErrorCode, type JSONRPCMessage, McpError } from "@modelcontextprotocol/sdk/types.js";
import { type PingTarget, ping } from "../../src/worker/ping.ts";
import { BodyRefused, type Refusal } from "../../src/worker/wire-bounds.ts";
import { serveRpc, stopRpcServers } from "../helpers/rpc-server.ts";
import { waitFor } from "../helpers/wait.ts";

const encoder = new TextEncoder();

afterEach(stopRpcServers);
const serve = serveRpc;

/** A ping target for `url`, recording what it delivers and refuses. */
function targetFor(url: URL, overrides: Partial<PingTarget> = {}) {
  const delivered: JSONRPCMessage[] = [];
  const unparsable: Error[] = [];
  const refused: Refusal[] = [];
  const target: PingTarget = {
    url,
    send: fetch,
    sessionId: "session-1",
    protocolVersion: "2025-06-18",
    timeoutMs: 2000,
    closed: new AbortController().signal,
    bounds: { maxBytes: 4096, maxDepth: 8 },
    onRefused: (reason) => refused.push(reason),
    deliver: (message) => delivered.push(message),
    unparsable: (error) => unparsable.push(error),
    ...overrides,
  };
  return { target, delivered, unparsable, refused };
}

const sse = (...events: string[]): Response =>
  new Response(events.join(""), { headers: { "content-type": "text/event-stream" } });
const message = (value: unknown): string => `event: message\ndata: ${JSON.stringify(value)}\n\n`;
const json = (value: unknown, status = 200): Response =>
  new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json" } });

describe("ping", () => {
  test("an SSE answer resolves it; a notification on the same stream reaches the SDK; the session's headers are sent", async () => {
    const notification = {
      jsonrpc: "2.0",
      method: "notifications/message",
      params: { level: "info", data: "x" },
    };
    const { url, seen } = serve(({ body }) =>
      sse(": comment\n\n", message(notification), message({ jsonrpc: "2.0", id: body.id, result: {} })),
    );
    const { target, delivered, unparsable } = targetFor(url);
    await ping(target);
    expect(seen[0]?.body.method).toBe("ping");
    expect(seen[0]?.headers.get("mcp-session-id")).toBe("session-1");
    expect(seen[0]?.headers.get("mcp-protocol-version")).toBe("2025-06-18");
    expect(seen[0]?.headers.get("accept")).toBe("application/json, text/event-stream");
    expect(delivered).toEqual([notification as JSONRPCMessage]);
    expect(unparsable).toEqual([]);
  });

  test("a JSON answer resolves it; unparsable data on the stream is reported, not fatal", async () => {
    const { url } = serve(({ body }) => json({ jsonrpc: "2.0", id: body.id, result: {} }));
    await ping(targetFor(url).target);
    const second = serve(({ body }) =>
      sse("event: message\ndata: {not json\n\n", message({ jsonrpc: "2.0", id: body.id, result: {} })),
    );
    const { target, unparsable } = targetFor(second.url);
    await ping(target);
    expect(unparsable.map((error) => error.name)).toEqual(["SyntaxError"]);
  });

  test("an answer that stays open after the ping is answered resolves at once, and closes with the session", async () => {
    let cancelled = false;
    const { url } = serve(({ body }) => {
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(encoder.encode(message({ jsonrpc: "2.0", id: body.id, result: {} })));
          // never closed: the server keeps the stream
        },
        cancel() {
          cancelled = true;
        },
      });
      return new Response(stream, { headers: { "content-type": "text/event-stream" } });
    });
    const session = new AbortController();
    const started = performance.now();
    await ping(targetFor(url, { timeoutMs: 3000, closed: session.signal }).target);
    expect(performance.now() - started).toBeLessThan(1500);
    await Bun.sleep(50);
    expect(cancelled).toBe(false);
    session.abort();
    await waitFor("the answer's stream closed", () => cancelled);
  });

  test("fails as the SDK's ping did: JSON-RPC error, HTTP status, no answer in time, another id only", async () => {
    const rpcError = serve(({ body }) =>
      json({ jsonrpc: "2.0", id: body.id, error: { code: -32601, message: "no" } }),
    );
    const error = await ping(targetFor(rpcError.url).target).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(-32601);
    await stopRpcServers();

    const gone = serve(() => new Response("unknown session", { status: 404 }));
    const http = await ping(targetFor(gone.url).target).catch((e: unknown) => e);
    expect(http).toBeInstanceOf(StreamableHTTPError);
    expect((http as StreamableHTTPError).code).toBe(404);
    await stopRpcServers();

    const silent = serve(
      () => new Response(new ReadableStream(), { headers: { "content-type": "text/event-stream" } }),
    );
    const timeout = await ping(targetFor(silent.url, { timeoutMs: 200 }).target).catch((e: unknown) => e);
    expect(timeout).toBeInstanceOf(McpError);
    expect((timeout as McpError).code).toBe(ErrorCode.RequestTimeout);
    await stopRpcServers();

    const other = serve(() => sse(message({ jsonrpc: "2.0", id: "someone-else", result: {} })));
    const { target, delivered } = targetFor(other.url);
    await expect(ping(target)).rejects.toThrow("without answering it");
    expect(delivered).toHaveLength(1);
  });

  test("an answer past the bounds is refused and fails the ping; an SSE event past them is dropped", async () => {
    const big = serve(({ body }) => json({ jsonrpc: "2.0", id: body.id, result: { pad: "x".repeat(8000) } }));
    const first = targetFor(big.url);
    expect(await ping(first.target).catch((e: unknown) => e)).toBeInstanceOf(BodyRefused);
    expect(first.refused).toEqual(["oversized"]);
    await stopRpcServers();

    const deep = serve(({ body }) =>
      sse(
        message({ jsonrpc: "2.0", method: "x", params: { a: [[[[[[[[[1]]]]]]]]] } }),
        message({ jsonrpc: "2.0", id: body.id, result: {} }),
      ),
    );
    const second = targetFor(deep.url);
    await ping(second.target);
    expect(second.refused).toEqual(["too_deep"]);
    expect(second.delivered).toEqual([]);
  });
});
