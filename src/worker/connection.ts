/**
 * One cluster's MCP connection and its whole lifecycle: initialize → logging/setLevel →
 * events_subscribe → active, then watch for loss (event stream ended or broke, ping failed,
 * session unknown) and start over after an exponential backoff. Knows nothing of other clusters:
 * a failure here never touches another connection.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ErrorCode, LoggingMessageNotificationSchema, McpError } from "@modelcontextprotocol/sdk/types.js";
import { describeResource, type FaultEvent } from "../events/fault.ts";
import { classifyNotification } from "../events/normalise.ts";
import { errorMessage, type Logger, logger } from "../log.ts";
import { Backoff } from "../runtime/backoff.ts";
import { Gate } from "../runtime/gate.ts";
import { sleep } from "../runtime/sleep.ts";
import { VERSION } from "../version.ts";
import { Flow } from "./flow.ts";
import {
  findSubscriptionId,
  mentionsMissingTool,
  sharedSchemaValidator,
  textContent,
  watchEventStream,
  withTimeout,
} from "./mcp.ts";
import { backfill, EventsPoller, type ListEvents } from "./poller.ts";
import type {
  ClusterSpec,
  ConnectionMessage,
  ConnectionSettings,
  ConnectionStatus,
  FeedMode,
  StatusMessage,
} from "./protocol.ts";

/** The `last_error` shown when a server lacks the events extension. */
export const MISSING_EVENTS_SUBSCRIBE =
  "server has no events_subscribe tool (a kubernetes-mcp-server without the events extension), so it " +
  "cannot push faults; set subscribe.mode to auto or poll to poll its events_list instead";

/** How long to wait for the event stream's headers before subscribing anyway. */
const STREAM_OPEN_WAIT_MS = 2000;

/** How long one connection attempt may hold its start-up gate slot. */
export const GATE_SLOT_MAX_MS = 1000;

/** Objects whose last pushed fault time is remembered for backfill (see #rememberPushed). */
const MAX_PUSHED_REMEMBERED = 256;

/** Lost sessions remembered for ending later (older ones are left to the server's own expiry). */
const MAX_LOST_SESSIONS = 16;

/** Supervises one cluster's MCP session, reporting through `emit`. */
export class ClusterConnection {
  readonly #spec: ClusterSpec;
  readonly #settings: ConnectionSettings;
  readonly #emit: (message: ConnectionMessage) => void;
  readonly #backoff: Backoff;
  /** Shared by the worker's connections: bounds concurrent connection attempts. */
  readonly #gate: Gate;
  /** Shared by the worker's connections: holds event streams while the main thread catches up. */
  readonly #flow: Flow;
  readonly #log: Logger;
  readonly #timeoutMs: number;
  /** Aborted by {@link stop}: ends the retry loop and any wait in it. */
  readonly #stopping = new AbortController();
  #loop: Promise<void> | null = null;
  #client: Client | null = null;
  #transport: StreamableHTTPClientTransport | null = null;
  #subscriptionId: string | null = null;
  /** Turns event lists into new faults; kept across sessions so a reconnect fires what it missed. */
  readonly #poller: EventsPoller;
  #polling = false;
  /** When the connection last proved alive (active, ping, poll, event). */
  #lastAliveMs = 0;
  /** Per object (`kind/namespace/name`), the time of its last pushed fault: backfill skips those. */
  readonly #pushedAt = new Map<string, number>();
  /** Set when a push feed was lost: since when to backfill once it is back. */
  #lostAtMs: number | null = null;
  /** Sessions lost without being ended on the server (see #endLostSessions). */
  readonly #lostSessions: string[] = [];
  #status: ConnectionStatus = "disconnected";

  constructor(
    spec: ClusterSpec,
    settings: ConnectionSettings,
    emit: (message: ConnectionMessage) => void,
    gate: Gate = new Gate(settings.connect_concurrency),
    flow: Flow = new Flow(),
  ) {
    this.#gate = gate;
    this.#flow = flow;
    this.#spec = spec;
    this.#settings = settings;
    this.#emit = emit;
    this.#backoff = new Backoff(
      settings.reconnect.initial_seconds * 1000,
      settings.reconnect.max_seconds * 1000,
    );
    this.#log = logger({ cluster: spec.name });
    this.#timeoutMs = settings.ping.timeout_seconds * 1000;
    this.#poller = new EventsPoller(spec, settings.subscribe.namespaces);
  }

  /** The current status. */
  get status(): ConnectionStatus {
    return this.#status;
  }

  /** Starts connecting; retries on its own until {@link stop}. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Unsubscribes, closes the session (HTTP DELETE) and stops retrying. */
  async stop(): Promise<void> {
    if (this.#stopping.signal.aborted) return this.#loop ?? undefined;
    this.#stopping.abort();
    const client = this.#client;
    const subscriptionId = this.#subscriptionId;
    if (client && subscriptionId) {
      await client
        .callTool({ name: "events_unsubscribe", arguments: { subscriptionId } }, undefined, { timeout: 2000 })
        .catch((error: unknown) => this.#log.debug("unsubscribe failed", { error: errorMessage(error) }));
    }
    await this.#closeSession(true);
    await this.#loop;
    this.#setStatus("disconnected", null, null);
  }

  async #run(): Promise<void> {
    while (!this.#stopping.signal.aborted) {
      let reason: string;
      const release = await this.#gate.acquire();
      // A slow server keeps its slot for a moment at most: the gate spreads start-up, it never queues behind one.
      const slotTimer = setTimeout(release, GATE_SLOT_MAX_MS);
      try {
        reason = await this.#session(release);
      } catch (error) {
        reason = this.#describe(error);
      } finally {
        clearTimeout(slotTimer);
        release();
      }
      await this.#closeSession(false);
      if (this.#stopping.signal.aborted) return;
      const delay = this.#backoff.next();
      this.#setStatus("failed", reason, delay);
      await sleep(delay, this.#stopping.signal);
    }
  }

  /** One session from connect to loss; resolves with why it was lost. `attempted` frees the gate slot once active. */
  async #session(attempted: () => void): Promise<string> {
    this.#setStatus("connecting", null, null);
    const lost = Promise.withResolvers<string>();
    const streamOpen = Promise.withResolvers<void>();
    const transport = new StreamableHTTPClientTransport(new URL(this.#spec.mcp_endpoint), {
      fetch: watchEventStream(streamOpen.resolve, lost.resolve, this.#flow),
      // The connection, not the transport, decides when and how to reconnect.
      reconnectionOptions: {
        maxRetries: 0,
        initialReconnectionDelay: 1000,
        maxReconnectionDelay: 1000,
        reconnectionDelayGrowFactor: 1,
      },
    });
    const client = new Client(
      { name: "faultline", version: VERSION },
      { capabilities: {}, jsonSchemaValidator: sharedSchemaValidator },
    );
    client.onclose = () => lost.resolve("connection closed");
    client.onerror = (error) => this.#log.debug("transport error", { error: errorMessage(error) });
    client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
      this.#onNotification(notification.params);
    });
    this.#client = client;
    this.#transport = transport;
    const step = <T>(work: Promise<T>): Promise<T> =>
      Promise.race([
        work,
        lost.promise.then((reason) => {
          throw new Error(reason);
        }),
      ]);

    await step(client.connect(transport, { timeout: this.#timeoutMs }));
    this.#setStatus("connected", null, null);
    // Events travel on the standalone stream: see it open before subscribing, so none is missed.
    // A server may hold the stream's headers until its first event; then go on without proof.
    // setLevel needs no stream, so it goes out meanwhile (one round trip less per connection).
    const [opened] = await step(
      Promise.all([
        withTimeout(
          streamOpen.promise.then(() => true),
          STREAM_OPEN_WAIT_MS,
          "",
        ).catch(() => false),
        client.setLoggingLevel("info", { timeout: this.#timeoutMs }),
      ]),
    );
    if (!opened) {
      this.#log.warn("event stream not confirmed open; subscribing anyway", {
        waited_ms: STREAM_OPEN_WAIT_MS,
      });
    }
    this.#setStatus("subscribing", null, null);
    const feed = await step(this.#startFeed(client));
    this.#backoff.reset();
    this.#lastAliveMs = Date.now();
    this.#setStatus("active", null, null, feed);
    attempted();
    this.#endLostSessions();
    if (feed === "push") void this.#backfillAfterOutage(client);

    const ping = setInterval(() => {
      client.ping({ timeout: this.#timeoutMs }).then(
        () => {
          this.#lastAliveMs = Date.now();
        },
        (error: unknown) => lost.resolve(`ping failed: ${this.#describe(error)}`),
      );
    }, this.#settings.ping.interval_seconds * 1000);
    const poll =
      feed === "poll"
        ? setInterval(
            () => void this.#pollOnce(client, lost.resolve),
            this.#settings.subscribe.poll_interval_seconds * 1000,
          )
        : undefined;
    try {
      return await lost.promise;
    } finally {
      clearInterval(ping);
      clearInterval(poll);
      this.#subscriptionId = null;
      // A push feed misses what happens while it is down: remember since when, for the backfill.
      if (feed === "push") this.#lostAtMs ??= this.#lastAliveMs;
    }
  }

  /** Subscribes (push) or, where the mode allows and the server lacks events_subscribe, starts polling. */
  async #startFeed(client: Client): Promise<FeedMode> {
    const { mode, poll_interval_seconds } = this.#settings.subscribe;
    if (mode === "poll") {
      await this.#poll(client);
      return "poll";
    }
    try {
      this.#subscriptionId = await this.#subscribe(client, mode === "auto" ? "faults" : mode);
      return "push";
    } catch (error) {
      if (!(error instanceof MissingEventsSubscribe) || mode !== "auto") throw error;
      this.#log.info("server has no events_subscribe: polling events_list", {
        interval_seconds: poll_interval_seconds,
      });
      await this.#poll(client);
      return "poll";
    }
  }

  /**
   * Lists events and reports the new faults and the poll. The first list sets the baseline; after a
   * reconnect it fires what is new since the last list.
   */
  async #poll(client: Client): Promise<void> {
    const faults = await this.#poller.poll(this.#lister(client));
    this.#lastAliveMs = Date.now();
    for (const event of faults) this.#emit({ type: "event", event });
    this.#emit({ type: "polled", cluster: this.#spec.name, at: now(), error: null });
  }

  /** One periodic poll. A server answering with an error degrades the feed; no answer loses the session. */
  async #pollOnce(client: Client, onLost: (reason: string) => void): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      await this.#poll(client);
    } catch (error) {
      if (error instanceof ListAnswerError) {
        this.#emit({ type: "polled", cluster: this.#spec.name, at: now(), error: error.message });
      } else onLost(`events_list failed: ${this.#describe(error)}`);
    } finally {
      this.#polling = false;
    }
  }

  /** After a push-mode outage: list once and feed the Warning events since the connection was last alive. */
  async #backfillAfterOutage(client: Client): Promise<void> {
    const since = this.#lostAtMs;
    if (since === null) return;
    this.#lostAtMs = null;
    try {
      const { namespaces } = this.#settings.subscribe;
      const listed = await backfill(this.#lister(client), this.#spec, namespaces, new Date(since));
      // A pushed fault carries the server's own id, a listed one a derived id: skip what was pushed already.
      const faults = listed.filter(
        (e) => (this.#pushedAt.get(describeResource(e.resource)) ?? -1) < Date.parse(e.timestamp),
      );
      for (const event of faults) this.#emit({ type: "event", event });
      this.#log.info("backfilled events from the outage", {
        since: new Date(since).toISOString(),
        events: faults.length,
      });
    } catch (error) {
      const why = errorMessage(error);
      if (mentionsMissingTool(why, "events_list")) this.#log.debug("no events_list: outage not backfilled");
      else this.#log.warn("backfill after outage failed", { error: why });
    }
  }

  /** Remembers when `event`'s object last had a pushed fault (bounded: the oldest entries go first). */
  #rememberPushed(event: FaultEvent): void {
    const key = describeResource(event.resource);
    const at = Date.parse(event.timestamp);
    if (!Number.isFinite(at)) return;
    this.#pushedAt.delete(key);
    this.#pushedAt.set(key, Math.max(at, this.#pushedAt.get(key) ?? 0));
    if (this.#pushedAt.size > MAX_PUSHED_REMEMBERED) {
      const oldest = this.#pushedAt.keys().next().value;
      if (oldest !== undefined) this.#pushedAt.delete(oldest);
    }
  }

  /** `events_list` through this session's client. */
  #lister(client: Client): ListEvents {
    return async (namespace) => {
      const result = await client.callTool(
        { name: "events_list", arguments: namespace ? { namespace } : {} },
        undefined,
        { timeout: this.#timeoutMs },
      );
      const text = textContent(result.content);
      if (result.isError)
        throw new ListAnswerError(`events_list failed: ${text.trim() || "(no reason given)"}`);
      return text;
    };
  }

  async #subscribe(client: Client, mode: "faults" | "events"): Promise<string> {
    const { namespaces, label_selector } = this.#settings.subscribe;
    const args: Record<string, unknown> = { mode };
    if (namespaces) args.namespaces = namespaces;
    if (label_selector) args.labelSelector = label_selector;
    let result: Awaited<ReturnType<Client["callTool"]>>;
    try {
      result = await client.callTool({ name: "events_subscribe", arguments: args }, undefined, {
        timeout: this.#timeoutMs,
      });
    } catch (error) {
      if (mentionsMissingTool(errorMessage(error))) throw new MissingEventsSubscribe();
      throw error;
    }
    const text = textContent(result.content);
    if (result.isError) {
      if (mentionsMissingTool(text)) throw new MissingEventsSubscribe();
      throw new Error(`events_subscribe refused: ${text.trim() || "(no reason given)"}`);
    }
    const subscriptionId = findSubscriptionId(text);
    if (!subscriptionId) {
      throw new Error(`events_subscribe answered without a subscriptionId: ${text.slice(0, 200)}`);
    }
    this.#log.debug("subscribed", { subscription_id: subscriptionId, mode });
    return subscriptionId;
  }

  /**
   * A lost session may still live on the server with its subscription (servers cap them, and a
   * silently dead peer never heard of the loss). Once the server answers again, end them; best effort.
   */
  #endLostSessions(): void {
    for (const sessionId of this.#lostSessions.splice(0)) {
      fetch(this.#spec.mcp_endpoint, {
        method: "DELETE",
        headers: { "mcp-session-id": sessionId },
        signal: AbortSignal.timeout(this.#timeoutMs),
      }).then(
        (response) => response.body?.cancel(),
        () => {},
      );
    }
  }

  #onNotification(params: unknown): void {
    const outcome = classifyNotification(params, this.#spec);
    switch (outcome.kind) {
      case "fault":
        this.#lastAliveMs = Date.now();
        this.#rememberPushed(outcome.event);
        this.#emit({ type: "event", event: outcome.event });
        return;
      case "subscription_error":
        this.#emit({ type: "degraded", cluster: this.#spec.name, error: outcome.error, at: now() });
        return;
      case "malformed":
        this.#emit({
          type: "dropped",
          cluster: this.#spec.name,
          reason: "malformed",
          detail: outcome.detail,
        });
        return;
      case "ignored":
        return;
    }
  }

  async #closeSession(terminate: boolean): Promise<void> {
    const client = this.#client;
    const transport = this.#transport;
    this.#client = null;
    this.#transport = null;
    if (!client || !transport) return;
    if (terminate) {
      await withTimeout(transport.terminateSession(), 2000, "session close timed out").catch(() => {});
    } else if (transport.sessionId) {
      this.#lostSessions.push(transport.sessionId);
      if (this.#lostSessions.length > MAX_LOST_SESSIONS) this.#lostSessions.shift();
    }
    await client.close().catch(() => {});
  }

  #setStatus(
    status: ConnectionStatus,
    error: string | null,
    retryInMs: number | null,
    mode?: FeedMode,
  ): void {
    if (status === this.#status && status !== "failed") return;
    this.#status = status;
    const message: StatusMessage = {
      type: "status",
      cluster: this.#spec.name,
      status,
      error,
      retry_in_ms: retryInMs,
      at: now(),
    };
    if (mode) message.mode = mode;
    this.#emit(message);
  }

  /** A readable reason for a failure, for `last_error`. */
  #describe(error: unknown): string {
    if (error instanceof StreamableHTTPError) {
      if (error.code === 404) return "session unknown to the server (HTTP 404): starting over";
      return `HTTP ${error.code} from ${this.#spec.mcp_endpoint}: ${error.message}`;
    }
    if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) {
      return `no answer within ${this.#timeoutMs / 1000}s from ${this.#spec.mcp_endpoint}`;
    }
    const code = (error as { code?: unknown } | null)?.code;
    if (code === "ConnectionRefused" || code === "ECONNREFUSED") {
      return `connection refused by ${this.#spec.mcp_endpoint}`;
    }
    return errorMessage(error);
  }
}

/** The server has no events_subscribe tool. */
class MissingEventsSubscribe extends Error {
  constructor() {
    super(MISSING_EVENTS_SUBSCRIBE);
  }
}

/** `events_list` answered, with an error (the server cannot list events): the feed is degraded, not lost. */
class ListAnswerError extends Error {}

function now(): string {
  return new Date().toISOString();
}
