/** One MCP session of a simulated cluster: its transport and server, log level, subscriptions and stream. */
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { LoggingLevel } from "@modelcontextprotocol/sdk/types.js";
import type { Subscription } from "./subscriptions.ts";
import type { WireTap } from "./wire.ts";

/** A live MCP session; notifications go to its standalone SSE stream. */
export interface SimSession {
  /** Session id (empty until the SDK has initialized the session). */
  id: string;
  /** The session's Streamable HTTP transport. */
  readonly transport: WebStandardStreamableHTTPServerTransport;
  /** The session's MCP server. */
  readonly server: Server;
  /** Level set by `logging/setLevel`; null (nothing is sent) until then. */
  level: LoggingLevel | null;
  /** Active subscriptions, by id. */
  readonly subscriptions: Map<string, Subscription>;
  /** The GET request carrying the standalone SSE stream, or null when none is open. */
  stream: Request | null;
  /** Raw writes onto the standalone stream (hostile payloads), or null when none is open. */
  wire: WireTap | null;
}

/** Makes `request` the session's standalone stream until the client goes away (or another replaces it). */
export function trackStream(session: SimSession, request: Request): void {
  session.stream = request;
  request.signal.addEventListener(
    "abort",
    () => {
      if (session.stream === request) session.stream = null;
    },
    { once: true },
  );
}
