/**
 * The keep-alive ping of an established session: one `ping` request sent without the MCP SDK's request
 * machinery (see session-request.ts), its answer bounded and read as every answer is.
 */
import { type SessionTarget, sessionRequest } from "./session-request.ts";

/** Where a ping goes and what it may receive (a session's request target). */
export type PingTarget = SessionTarget;

/**
 * Sends one `ping` on the session; resolves once the server answers it, rejects as the SDK's
 * `client.ping` would (McpError RequestTimeout, StreamableHTTPError, McpError of a JSON-RPC error,
 * the fetch's own error, BodyRefused).
 *
 * @example
 * ```ts
 * await ping({ url, send, sessionId: transport.sessionId, protocolVersion: transport.protocolVersion, ... });
 * ```
 */
export async function ping(target: PingTarget): Promise<void> {
  await sessionRequest(target, "ping");
}
