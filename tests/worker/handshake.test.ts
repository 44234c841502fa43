/** The handshake without the SDK's request machinery, against a loopback server answering as MCP servers do. */
import { afterEach, expect, test } from "bun:test";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { type JSONRPCMessage, LATEST_PROTOCOL_VERSION } from "@modelcontextprotocol/sdk/types.js";
import { initializeSession } from "../../src/worker/handshake.ts";
import type { SessionTarget } from "../../src/worker/session-request.ts";
import { type RpcAnswer, type SeenRequest, serveRpc, stopRpcServers } from "../helpers/rpc-server.ts";

afterEach(stopRpcServers);

/** A loopback server answering every POST with `answer`, and a target for it recording what it hands on. */
function serve(answer: RpcAnswer): {
  target: SessionTarget;
  seen: SeenRequest[];
  delivered: JSONRPCMessage[];
} {
  const { url, seen } = serveRpc(answer);
  const delivered: JSONRPCMessage[] = [];
  const target: SessionTarget = {
    url,
    send: fetch,
    sessionId: undefined,
    protocolVersion: undefined,
    timeoutMs: 2000,
    closed: new AbortController().signal,
    bounds: { maxBytes: 4096, maxDepth: 8 },
    onRefused: () => {},
    deliver: (message) => delivered.push(message),
    unparsable: () => {},
  };
  return { target, seen, delivered };
}

const sseAnswer = (sessionId: string, ...messages: unknown[]): Response =>
  new Response(messages.map((m) => `event: message\ndata: ${JSON.stringify(m)}\n\n`).join(""), {
    headers: { "content-type": "text/event-stream", "mcp-session-id": sessionId },
  });
const initializeResult = (protocolVersion: string) => ({
  protocolVersion,
  capabilities: { logging: {}, tools: {} },
  serverInfo: { name: "kubernetes-mcp-server", version: "0" },
});
const info = { name: "faultline", version: "1.0.0" };

test("initialize opens the session: its id from the answer's header, the protocol version from its result; other messages are handed on", async () => {
  const notice = { jsonrpc: "2.0", method: "notifications/message", params: { level: "info", data: "hi" } };
  const { target, seen, delivered } = serve(({ body }) =>
    sseAnswer("session-7", notice, { jsonrpc: "2.0", id: body.id, result: initializeResult("2025-06-18") }),
  );
  const session = await initializeSession(target, info);
  expect(session).toEqual({ sessionId: "session-7", protocolVersion: "2025-06-18" });
  expect(seen[0]?.body.method).toBe("initialize");
  expect(seen[0]?.body.params).toEqual({
    protocolVersion: LATEST_PROTOCOL_VERSION,
    capabilities: {},
    clientInfo: info,
  });
  expect(seen[0]?.headers.has("mcp-session-id")).toBe(false);
  expect(delivered).toEqual([notice as JSONRPCMessage]);
});

test("a protocol version the SDK does not support fails the handshake as the SDK's client fails it", async () => {
  const { target } = serve(({ body }) =>
    sseAnswer("s", { jsonrpc: "2.0", id: body.id, result: initializeResult("1999-01-01") }),
  );
  await expect(initializeSession(target, info)).rejects.toThrow(
    "Server's protocol version is not supported: 1999-01-01",
  );
});

test("a result without capabilities or server info is invalid", async () => {
  const { target } = serve(({ body }) =>
    sseAnswer("s", { jsonrpc: "2.0", id: body.id, result: { protocolVersion: "2025-06-18" } }),
  );
  await expect(initializeSession(target, info)).rejects.toThrow("Server sent invalid initialize result");
});

test("an HTTP error fails it with the SDK's StreamableHTTPError (describeFailure names its status)", async () => {
  const { target } = serve(() => new Response("nope", { status: 503 }));
  const error = await initializeSession(target, info).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(StreamableHTTPError);
  expect((error as StreamableHTTPError).code).toBe(503);
});
