/**
 * One simulated kubernetes-mcp-server: its own loopback HTTP listener serving MCP Streamable HTTP at `/mcp`,
 * its sessions (log level, subscriptions, standalone SSE stream), its tools and its counters.
 */
import { randomUUID } from "node:crypto";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListToolsRequestSchema,
  type LoggingLevel,
  PingRequestSchema,
  SetLevelRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { refusal, type SimAuth } from "./auth.ts";
import { EventLog } from "./event-log.ts";
import { faultPayload, type ResolvedFault, resolveFault } from "./faults.ts";
import { type Hostile, hostileChunks } from "./hostile.ts";
import { type Listener, listen } from "./listen.ts";
import { type SimSession, trackStream } from "./session.ts";
import { matchesFilters, type Subscription } from "./subscriptions.ts";
import {
  EXTENSION_TOOLS,
  EXTENSION_TOOLS_WITHOUT_LIST,
  listSubscriptions,
  STOCK_TOOLS,
  subscribe,
  textResult,
  unsubscribe,
} from "./tools.ts";
import {
  EVENT_LOGGER,
  FAULT_LOGGER,
  type SimClusterOptions,
  type SimClusterStats,
  type SimFault,
  SUBSCRIPTION_ERROR_LOGGER,
} from "./types.ts";
import {
  acceptsLevel,
  JsonRpcError,
  jsonRpcErrorResponse,
  SERVER_INFO,
  schemaValidator,
  sseMessage,
  WireTap,
} from "./wire.ts";

interface RequestExtra {
  sessionId?: string;
}

type Counters = Omit<SimClusterStats, "up" | "sessions" | "streams" | "subscriptions">;

/** One simulated cluster; `listen` starts it, `down` stops it (the port is kept for `listen` again). */
export class SimCluster {
  readonly name: string;
  readonly serverClusterName: string;
  readonly eventsSubscribe: boolean;
  /** Event streams opened from now on send their headers with their first event only (see `holdHeaders`). */
  holdHeaders: boolean;
  private readonly listSubscriptions: boolean;
  private readonly auth: SimAuth;
  private readonly tls: SimClusterOptions["tls"];
  private readonly hostname: string;
  private port: number;
  private listener: Listener | null = null;
  private readonly sessions = new Map<string, SimSession>();
  private readonly eventLog: EventLog;
  private faultSequence = 0;
  private readonly counters: Counters = {
    setLevelCalls: 0,
    subscribeCalls: 0,
    unsubscribeCalls: 0,
    deletes: 0,
    delivered: 0,
    refused: 0,
    listSubscriptionsCalls: 0,
    listEventsCalls: 0,
    pings: 0,
  };

  constructor(options: SimClusterOptions, hostname: string) {
    this.name = options.name;
    this.serverClusterName = options.serverClusterName ?? options.name;
    this.eventsSubscribe = options.eventsSubscribe ?? true;
    this.listSubscriptions = options.listSubscriptions ?? true;
    this.holdHeaders = options.holdHeaders ?? false;
    this.auth = { bearerToken: options.bearerToken ?? null, headers: options.requiredHeaders ?? {} };
    this.tls = options.tls;
    this.hostname = hostname;
    this.port = options.port ?? 0;
    this.eventLog = new EventLog(options.eventsFile);
  }

  /** MCP endpoint: `http://HOST:PORT/mcp` (`https://` with TLS). */
  get endpoint(): string {
    return `${this.tls ? "https" : "http"}://${this.hostname}:${this.port}/mcp`;
  }

  /** Requires `token` as bearer token from now on (null: none). */
  setBearerToken(token: string | null): void {
    this.auth.bearerToken = token;
  }

  /** Cancels every subscription silently (no notification, the sessions stay); returns how many. */
  cancelSubscriptions(): number {
    let cancelled = 0;
    for (const session of this.sessions.values()) {
      cancelled += session.subscriptions.size;
      session.subscriptions.clear();
    }
    return cancelled;
  }

  /** Starts the listener (on the kept port after the first time); no-op when up. */
  listen(): void {
    if (this.listener) return;
    this.listener = listen({
      hostname: this.hostname,
      port: this.port,
      ...(this.tls ? { tls: this.tls } : {}),
      fetch: this.handleHttp,
      error: (error) => jsonRpcErrorResponse(500, ErrorCode.InternalError, error.message),
    });
    this.port = this.listener.port;
  }

  /** Stops the listener, abruptly closing every connection, and forgets all sessions. */
  async down(): Promise<void> {
    const listener = this.listener;
    if (!listener) return;
    this.listener = null;
    const stopping = listener.stop();
    this.closeAllSessions();
    await stopping;
  }

  /** Forgets all sessions (their ids get 404) and ends their SSE streams; the listener stays up. */
  closeAllSessions(): void {
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    for (const session of sessions) void session.server.close().catch(ignoreError);
  }

  /** Ids of the live MCP sessions (a client that kept its session keeps its id). */
  sessionIds(): string[] {
    return [...this.sessions.keys()];
  }

  /** Current counters. */
  stats(): SimClusterStats {
    let streams = 0;
    let subscriptions = 0;
    for (const session of this.sessions.values()) {
      if (session.stream) streams++;
      subscriptions += session.subscriptions.size;
    }
    return {
      up: this.listener !== null,
      sessions: this.sessions.size,
      streams,
      subscriptions,
      ...this.counters,
    };
  }

  /** Records a fault's event and pushes it to every matching subscription; returns how many. */
  inject(fault: SimFault): number {
    const resolved = resolveFault(this.name, fault, ++this.faultSequence);
    resolved.event = this.eventLog.record(resolved.event);
    let delivered = 0;
    for (const session of this.sessions.values()) {
      for (const subscription of session.subscriptions.values()) {
        if (!matchesFilters(subscription.filters, resolved.event)) continue;
        const [logger, data] = this.payloadFor(subscription, resolved);
        if (this.send(session, "warning", logger, data)) delivered++;
      }
    }
    return delivered;
  }

  /** Sends a raw warning notification to every session with an open stream; returns how many. */
  injectRaw(logger: string, data: unknown): number {
    let delivered = 0;
    for (const session of this.sessions.values()) {
      if (this.send(session, "warning", logger, data)) delivered++;
    }
    return delivered;
  }

  /**
   * Writes a hostile payload (see hostile.ts) straight onto every open standalone stream; resolves with
   * how many streams took it whole.
   */
  async injectHostile(payload: Hostile): Promise<number> {
    const writes = [...this.sessions.values()].map((session) =>
      session.wire ? session.wire.write(hostileChunks(payload)) : Promise.resolve(false),
    );
    return (await Promise.all(writes)).filter(Boolean).length;
  }

  /** Sends `kubernetes/subscription_error` for every subscription; returns how many. */
  subscriptionError(error: string): number {
    let delivered = 0;
    for (const session of this.sessions.values()) {
      for (const subscription of session.subscriptions.values()) {
        const data = {
          subscriptionId: subscription.id,
          cluster: this.serverClusterName,
          error,
          degraded: true,
        };
        if (this.send(session, "error", SUBSCRIPTION_ERROR_LOGGER, data)) delivered++;
      }
    }
    return delivered;
  }

  private payloadFor(subscription: Subscription, fault: ResolvedFault): [string, object] {
    const cluster = this.serverClusterName;
    if (subscription.mode === "events") {
      return [EVENT_LOGGER, { subscriptionId: subscription.id, cluster, event: fault.event }];
    }
    return [FAULT_LOGGER, faultPayload(fault, subscription.id, cluster)];
  }

  /**
   * Writes a logging notification to the session's standalone stream (without a related request id):
   * framed here, onto the stream's tap, in the bytes the SDK's transport writes (`event: message`, then
   * `data:` with the message as the SDK's `notification` builds it; the simulator keeps no event store,
   * so no `id:`). Through the SDK each notification cost four schema parses of the outgoing message (is
   * it a response?), about half the simulator's CPU in a burst, and the simulator's one core set the
   * bench's burst rate. The SDK still sends it when the tap cannot take it now (a raw write under way).
   */
  private send(session: SimSession, level: LoggingLevel, logger: string, data: unknown): boolean {
    if (!session.stream || !acceptsLevel(session.level, level)) return false;
    const params = { level, logger, data };
    if (!session.wire?.frame(sseMessage({ method: "notifications/message", params, jsonrpc: "2.0" })))
      session.server.sendLoggingMessage(params).catch(ignoreError);
    this.counters.delivered++;
    return true;
  }

  // --- HTTP ------------------------------------------------------------------------------------------------------

  private readonly handleHttp = async (request: Request): Promise<Response> => {
    if (new URL(request.url).pathname !== "/mcp") return new Response("404 page not found", { status: 404 });
    const refused = refusal(request, this.auth);
    if (refused) {
      this.counters.refused++;
      return refused;
    }
    const sessionId = request.headers.get("mcp-session-id");
    if (sessionId === null) return this.handleSessionless(request);
    const session = this.sessions.get(sessionId);
    if (!session) return jsonRpcErrorResponse(404, -32001, "Session not found");
    const response = await session.transport.handleRequest(request);
    if (request.method !== "GET" || response.status !== 200 || !response.body) return response;
    trackStream(session, request);
    const wire = new WireTap(!this.holdHeaders);
    session.wire = wire;
    request.signal.addEventListener("abort", () => {
      if (session.wire === wire) session.wire = null;
    });
    return new Response(wire.stream(response.body), {
      status: response.status,
      headers: response.headers,
    });
  };

  /** A request without a session id: an initialize request opens a session, anything else is rejected. */
  private async handleSessionless(request: Request): Promise<Response> {
    if (request.method !== "POST") {
      return jsonRpcErrorResponse(400, -32000, "Bad Request: Mcp-Session-Id header is required");
    }
    const session = await this.openSession();
    const response = await session.transport.handleRequest(request);
    if (session.id === "") void session.server.close().catch(ignoreError);
    return response;
  }

  // --- MCP -------------------------------------------------------------------------------------------------------

  private async openSession(): Promise<SimSession> {
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      onsessioninitialized: (id) => {
        session.id = id;
        this.sessions.set(id, session);
      },
      onsessionclosed: () => {
        this.counters.deletes++;
      },
    });
    const server = new Server(SERVER_INFO, {
      capabilities: { logging: {}, tools: {} },
      jsonSchemaValidator: schemaValidator(),
    });
    const session: SimSession = {
      id: "",
      transport,
      server,
      level: null,
      subscriptions: new Map(),
      stream: null,
      wire: null,
    };
    server.setRequestHandler(PingRequestSchema, () => {
      this.counters.pings++;
      return {};
    });
    server.setRequestHandler(SetLevelRequestSchema, this.handleSetLevel);
    server.setRequestHandler(ListToolsRequestSchema, this.handleListTools);
    server.setRequestHandler(CallToolRequestSchema, this.handleCallTool);
    server.onclose = () => this.forgetSession(session);
    await server.connect(transport);
    return session;
  }

  private forgetSession(session: SimSession): void {
    session.stream = null;
    if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
  }

  private sessionOf(extra: RequestExtra): SimSession {
    const session = extra.sessionId === undefined ? undefined : this.sessions.get(extra.sessionId);
    if (!session) throw new JsonRpcError(ErrorCode.InvalidRequest, "session not found");
    return session;
  }

  private readonly handleSetLevel = (request: { params: { level: LoggingLevel } }, extra: RequestExtra) => {
    this.counters.setLevelCalls++;
    this.sessionOf(extra).level = request.params.level;
    return {};
  };

  private readonly handleListTools = () => ({
    tools: !this.eventsSubscribe
      ? STOCK_TOOLS
      : this.listSubscriptions
        ? EXTENSION_TOOLS
        : EXTENSION_TOOLS_WITHOUT_LIST,
  });

  private readonly handleCallTool = (
    request: { params: { name: string; arguments?: Record<string, unknown> } },
    extra: RequestExtra,
  ): CallToolResult => {
    const { name, arguments: args = {} } = request.params;
    if (name === "events_list") {
      this.counters.listEventsCalls++;
      return this.listEvents(args);
    }
    if (this.eventsSubscribe && name === "events_subscribe")
      return this.subscribe(this.sessionOf(extra), args);
    if (this.eventsSubscribe && name === "events_unsubscribe") {
      return this.unsubscribe(this.sessionOf(extra), args);
    }
    if (this.eventsSubscribe && this.listSubscriptions && name === "events_list_subscriptions") {
      this.counters.listSubscriptionsCalls++;
      return listSubscriptions(this.sessionOf(extra).subscriptions);
    }
    throw new JsonRpcError(ErrorCode.InvalidParams, `unknown tool "${name}"`);
  };

  private listEvents(args: Record<string, unknown>): CallToolResult {
    const namespace =
      typeof args.namespace === "string" && args.namespace !== "" ? args.namespace : undefined;
    const fieldSelector = typeof args.fieldSelector === "string" ? args.fieldSelector : "";
    const text = this.eventLog.listText(namespace, fieldSelector);
    return text === null
      ? { isError: true, content: [{ type: "text", text: `field selector not supported: ${fieldSelector}` }] }
      : textResult(text);
  }

  private subscribe(session: SimSession, args: Record<string, unknown>): CallToolResult {
    this.counters.subscribeCalls++;
    return subscribe(
      {
        subscriptions: session.subscriptions,
        serverClusterName: this.serverClusterName,
        serverSubscriptions: () => this.stats().subscriptions,
      },
      args,
    );
  }

  private unsubscribe(session: SimSession, args: Record<string, unknown>): CallToolResult {
    this.counters.unsubscribeCalls++;
    return unsubscribe(session.subscriptions, args);
  }
}

function ignoreError(): void {}
