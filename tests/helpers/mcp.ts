/** Raw MCP over Streamable HTTP, for tests that must see the wire (status codes, headers) themselves. */

/** An `initialize` request from a client called `clientName`. */
export function initializeRequest(clientName: string): Record<string, unknown> {
  return {
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: clientName, version: "0" },
    },
  };
}

/** POSTs one JSON-RPC message to `endpoint` with the headers Streamable HTTP requires. */
export function mcpPost(
  endpoint: string,
  message: Record<string, unknown>,
  options: { sessionId?: string; signal?: AbortSignal; tls?: { ca: string } } = {},
): Promise<Response> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
  };
  if (options.sessionId !== undefined) headers["mcp-session-id"] = options.sessionId;
  return fetch(endpoint, {
    method: "POST",
    headers,
    body: JSON.stringify(message),
    signal: options.signal,
    ...(options.tls ? { tls: options.tls } : {}),
  });
}
