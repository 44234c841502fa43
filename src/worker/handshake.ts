/**
 * A connection's MCP handshake without the SDK's request machinery (see session-request.ts): `initialize`,
 * whose answer gives the session id and the protocol version, checked as the SDK's `Client.connect`
 * checks them. The SDK's transport is then built with that session (it opens the event stream once
 * `notifications/initialized` is accepted), and its `Client` connects to it without a request.
 */
import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from "@modelcontextprotocol/sdk/types.js";
import { type SessionTarget, sessionRequest } from "./session-request.ts";

/** A session the server opened: its id (none from a server without sessions) and protocol version. */
export interface OpenedSession {
  sessionId: string | undefined;
  protocolVersion: string;
}

/** How faultline names itself to servers. */
export interface ClientInfo {
  name: string;
  version: string;
}

/** Longest part of an invalid `initialize` result quoted in the error. */
const MAX_QUOTED_CHARS = 200;

/**
 * Sends `initialize` to `target`'s server (no session yet); resolves with the session it opened. Rejects
 * as the SDK's `Client.connect` would: with the request's error (timeout, HTTP status, JSON-RPC error),
 * for a result without a protocol version, capabilities or server info, or for a protocol version the
 * SDK does not support.
 *
 * @example
 * ```ts
 * const session = await initializeSession(target, { name: "faultline", version: VERSION });
 * new StreamableHTTPClientTransport(url, { sessionId: session.sessionId, ... });
 * ```
 */
export async function initializeSession(
  target: SessionTarget,
  clientInfo: ClientInfo,
): Promise<OpenedSession> {
  const { result, sessionId } = await sessionRequest(target, "initialize", {
    protocolVersion: LATEST_PROTOCOL_VERSION,
    capabilities: {},
    clientInfo,
  });
  const { protocolVersion, capabilities, serverInfo } = result;
  if (typeof protocolVersion !== "string" || !isObject(capabilities) || !isObject(serverInfo)) {
    const quoted = JSON.stringify(result).slice(0, MAX_QUOTED_CHARS);
    throw new Error(`Server sent invalid initialize result: ${quoted}`);
  }
  if (!SUPPORTED_PROTOCOL_VERSIONS.includes(protocolVersion)) {
    throw new Error(
      `Server's protocol version is not supported: ${protocolVersion.slice(0, MAX_QUOTED_CHARS)}`,
    );
  }
  return { sessionId: sessionId ?? undefined, protocolVersion };
}

function isObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
