/**
 * One cluster's MCP connection and its whole lifecycle: initialize → logging/setLevel → start a
 * feed (push or poll, see feed.ts) → active, then watch for loss (event stream ended or broke, ping
 * failed, session unknown) and start over after an exponential backoff. Knows nothing of other
 * clusters: a failure here never touches another connection.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import { type JSONRPCMessage, LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { fieldOf } from "../config/connection-check.ts";
import { DEFAULT_LIMITS } from "../config/schema.ts";
import type { LimitsConfig } from "../config/types.ts";
import { errorMessage, type Logger, logger } from "../log.ts";
import { Backoff } from "../runtime/backoff.ts";
import { deadline, fulfilsWithin } from "../runtime/deadline.ts";
import { redactUrl, type Scrubber, scrubbingLogger } from "../runtime/redact.ts";
import { sleep } from "../runtime/sleep.ts";
import { VERSION } from "../version.ts";
import { type Feed, type FeedContext, type FeedSession, now } from "./feed.ts";
import { Flow } from "./flow.ts";
import { initializeSession, type OpenedSession } from "./handshake.ts";
import { describeFailure, type FailureTarget, sharedSchemaValidator, watchEventStream } from "./mcp.ts";
import { type PingTarget, ping } from "./ping.ts";
import { PollFeed } from "./poll-feed.ts";
import {
  boundReport,
  type ClusterSpec,
  type ConnectionMessage,
  type ConnectionSettings,
  type ConnectionStatus,
  type FeedMode,
  type SourceDropReason,
  type StatusMessage,
} from "./protocol.ts";
import { MissingEventsSubscribe, PushFeed } from "./push-feed.ts";
import { type SessionTarget, sessionRequest } from "./session-request.ts";
import { SharedClock } from "./shared-clock.ts";
import { StartupGate } from "./startup-gate.ts";
import { insecureWarning, openClusterTransport, specScrubber } from "./transport.ts";
import type { Refusal } from "./wire-bounds.ts";

/**
 * The longest wait, after `logging/setLevel` answered, for the event stream's headers before subscribing
 * anyway (see {@link streamOpenGraceMs} for the wait itself). A server that flushes them (the Go server)
 * has answered the stream's GET by then, since it went out first; one that holds them until its first
 * event (the MCP TypeScript SDK's server on Bun) never will, and its connection would otherwise wait here
 * for nothing.
 */
export const STREAM_OPEN_GRACE_MS = 250;

/** The shortest wait for the event stream's headers (timer and scheduling jitter on a fast link). */
export const MIN_STREAM_OPEN_GRACE_MS = 20;

/** The wait for the event stream's headers, in round trips of this connection's `logging/setLevel`. */
export const STREAM_OPEN_GRACE_ROUND_TRIPS = 2;

/**
 * How long to wait for the event stream's headers once `logging/setLevel` answered after `roundTripMs`.
 * The stream's GET went out before setLevel, so a server that flushes its headers sends them about one
 * round trip after the GET: they are due by the time setLevel answers (measured against the simulator:
 * 97-100% of streams are open by then, at 100 and 1000 clusters), and two round trips more cover a GET
 * that paid a connection's handshake setLevel did not. While a worker is busy starting many connections
 * its round trips grow with its queue, and so does the wait. Bounded by {@link MIN_STREAM_OPEN_GRACE_MS}
 * and {@link STREAM_OPEN_GRACE_MS}. A server whose headers come later anyway is subscribed without proof
 * and backfilled (see {@link UNCONFIRMED_BACKFILL_MS}): no event is lost, one list call is spent.
 *
 * @example
 * ```ts
 * streamOpenGraceMs(1); // 20: on loopback a server holding its headers costs 20 ms, not 250
 * streamOpenGraceMs(40); // 80
 * streamOpenGraceMs(500); // 250
 * ```
 */
export function streamOpenGraceMs(roundTripMs: number): number {
  const scaled = roundTripMs > 0 ? STREAM_OPEN_GRACE_ROUND_TRIPS * roundTripMs : 0;
  return Math.min(STREAM_OPEN_GRACE_MS, Math.max(MIN_STREAM_OPEN_GRACE_MS, scaled));
}

/**
 * When the stream was not seen open before subscribing, the push feed lists what the server sent since
 * the attempt began once the stream opens or this long after subscribing, whichever comes first.
 */
export const UNCONFIRMED_BACKFILL_MS = 2000;

/** How long closing the session at shutdown may take. */
const SESSION_CLOSE_WAIT_MS = 2000;

/** Lost sessions remembered for ending later (older ones are left to the server's own expiry). */
const MAX_LOST_SESSIONS = 16;

/** Messages the server sends with the handshake's answers, kept until the SDK's transport takes them. */
const MAX_EARLY_MESSAGES = 16;

/** A connection reports that it is alive (an `alive` message) at most this often. */
export const ALIVE_REPORT_MS = 2000;

/** Supervises one cluster's MCP session, reporting through `emit`. */
export class ClusterConnection {
  readonly #spec: ClusterSpec;
  readonly #settings: ConnectionSettings;
  /** What this cluster's server may send. */
  readonly #limits: LimitsConfig;
  readonly #emit: (message: ConnectionMessage) => void;
  readonly #backoff: Backoff;
  /** Shared by the worker's connections: bounds concurrent connection handshakes. */
  readonly #gate: StartupGate;
  /** Shared by the worker's connections: holds event streams while the main thread catches up. */
  readonly #flow: Flow;
  /** Shared by the worker's connections: one timer for all their pings. */
  readonly #clock: SharedClock;
  readonly #log: Logger;
  readonly #timeoutMs: number;
  /** This cluster's secrets (URL credentials, token, header values), kept out of logs and errors. */
  readonly #scrubber: Scrubber;
  /** Where requests go, as errors name it (credentials replaced by `***`). */
  readonly #target: FailureTarget;
  /** The latest connection attempt's fetch (headers, token, TLS), for ending lost sessions. */
  #send: FetchLike | null = null;
  /** Aborted by {@link stop}: ends the retry loop and any wait in it. */
  readonly #stopping = new AbortController();
  #loop: Promise<void> | null = null;
  #client: Client | null = null;
  #transport: StreamableHTTPClientTransport | null = null;
  /** The feeds this connection may use (see {@link chooseFeeds}); kept across sessions. */
  readonly #feeds: FeedChoice;
  /** The feed being started or running: it gets the session's notifications. */
  #feed: Feed;
  /** When the connection last proved alive (active, ping, poll, event). */
  #lastAliveMs = 0;
  /** When it last sent an `alive` message. */
  #lastAliveReportMs = 0;
  /** Sessions lost without being ended on the server (see #endLostSessions). */
  readonly #lostSessions: string[] = [];
  #status: ConnectionStatus = "disconnected";

  constructor(
    spec: ClusterSpec,
    settings: ConnectionSettings,
    emit: (message: ConnectionMessage) => void,
    gate: StartupGate = new StartupGate(settings.connect_concurrency),
    flow: Flow = new Flow(),
    clock: SharedClock = new SharedClock(),
  ) {
    this.#gate = gate;
    this.#flow = flow;
    this.#clock = clock;
    this.#spec = spec;
    this.#settings = settings;
    this.#scrubber = specScrubber(spec);
    this.#limits = settings.limits ?? DEFAULT_LIMITS;
    this.#emit = (message) => emit(boundReport(scrubMessage(message, this.#scrubber)));
    this.#backoff = new Backoff(
      settings.reconnect.initial_seconds * 1000,
      settings.reconnect.max_seconds * 1000,
    );
    this.#log = scrubbingLogger(logger({ cluster: spec.name }), this.#scrubber);
    this.#timeoutMs = settings.ping.timeout_seconds * 1000;
    this.#target = { endpoint: redactUrl(spec.mcp_endpoint), field: (name) => fieldOf(spec, name) };
    const insecure = insecureWarning(spec);
    if (insecure) this.#log.warn(insecure);
    this.#feeds = chooseFeeds({
      cluster: spec,
      subscribe: settings.subscribe,
      timeoutMs: this.#timeoutMs,
      target: this.#target,
      maxStringChars: this.#limits.max_string_chars,
      report: this.#emit,
      alive: () => this.#markAlive(),
      log: this.#log,
      clock,
    });
    this.#feed = this.#feeds.preferred;
    if (spec.resume) this.#resume(spec.resume);
  }

  /** The current status. */
  get status(): ConnectionStatus {
    return this.#status;
  }

  /** Starts connecting; retries on its own until {@link stop}. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /**
   * Stops the feed (unsubscribes), closes the session (HTTP DELETE), ends the sessions it lost before
   * (bounded) and stops retrying.
   */
  async stop(): Promise<void> {
    if (this.#stopping.signal.aborted) return this.#loop ?? undefined;
    this.#stopping.abort();
    const { preferred, fallback } = this.#feeds;
    await Promise.all([preferred.stop(), fallback?.stop()]);
    const wasActive = this.#status === "active";
    await this.#closeSession(true);
    // Closed cleanly: the next faultline has no session to end, only the gap from now to backfill.
    if (wasActive) {
      this.#lastAliveMs = Date.now();
      this.#reportAlive(null);
    }
    await this.#loop;
    await deadline(this.#endLostSessions(), SESSION_CLOSE_WAIT_MS, "ending lost sessions timed out").catch(
      () => {},
    );
    this.#setStatus("disconnected", null, null);
  }

  async #run(): Promise<void> {
    while (!this.#stopping.signal.aborted) {
      let reason: string;
      // A server slower than its peers gives its slot back early: the gate bounds the handshakes in
      // flight (however slow they all are now), it never queues behind one server (see startup-gate.ts).
      const slot = await this.#gate.acquire();
      try {
        reason = await this.#session(slot.answered);
      } catch (error) {
        reason = this.#describe(error);
      } finally {
        slot.done();
      }
      await this.#closeSession(false);
      if (this.#stopping.signal.aborted) return;
      const delay = this.#backoff.next();
      this.#setStatus("failed", reason, delay);
      await sleep(delay, this.#stopping.signal);
    }
  }

  /**
   * One session from connect to loss; resolves with why it was lost. `attempted` frees the gate slot once
   * `initialize` has answered: the gate spreads the handshakes, and the rest of a session needs no slot.
   */
  async #session(attempted: () => void): Promise<string> {
    const sessionEnded = new AbortController();
    try {
      // Stopping ends it too: a request still waiting for its answer (initialize) is given up at once.
      return await this.#attempt(attempted, AbortSignal.any([sessionEnded.signal, this.#stopping.signal]));
    } finally {
      sessionEnded.abort();
    }
  }

  /** {@link #session}'s work; `ended` is aborted once it is over (answers still being read are then closed). */
  async #attempt(attempted: () => void, ended: AbortSignal): Promise<string> {
    const attemptStartedMs = Date.now();
    this.#setStatus("connecting", null, null);
    const lost = Promise.withResolvers<string>();
    const streamOpen = Promise.withResolvers<void>();
    // Read the credentials for this attempt (a rotated token file is picked up here).
    const cluster = openClusterTransport(this.#spec, this.#scrubber);
    this.#send = cluster.fetch();
    const guard = {
      limits: this.#limits,
      onRefused: (reason: Refusal, detail: string) => this.#drop(reason, detail),
      onNotification: (params: unknown, textChars?: number) => this.#notified(params, textChars),
    };
    const client = new Client(
      { name: "faultline", version: VERSION },
      { capabilities: {}, jsonSchemaValidator: sharedSchemaValidator },
    );
    client.onclose = () => lost.resolve("connection closed");
    client.onerror = (error) => {
      // The SDK reports a stream message it cannot parse (JSON, then JSON-RPC) here and goes on: count it.
      if (isUnparsable(error)) this.#drop("unparsable", `message is not JSON-RPC: ${errorMessage(error)}`);
      else this.#log.debug("transport error", { error: this.#describe(error) });
    };
    // The event stream's notifications come straight from the wire (guard.onNotification); the SDK
    // still hands on any that arrive another way (with the answer to a request).
    client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
      this.#notified(notification.params);
    });
    this.#client = client;
    const step = <T>(work: Promise<T>): Promise<T> =>
      Promise.race([
        work,
        lost.promise.then((reason) => {
          throw new Error(reason);
        }),
      ]);
    // initialize and setLevel go out without the SDK's request machinery (see handshake.ts); what else
    // the server sends with their answers reaches the SDK once its transport exists.
    const early: JSONRPCMessage[] = [];
    const url = new URL(this.#spec.mcp_endpoint);
    const send = cluster.fetch({ onRefused: lost.resolve });
    const requests = (session?: OpenedSession): SessionTarget => ({
      url,
      send,
      sessionId: session?.sessionId,
      protocolVersion: session?.protocolVersion,
      timeoutMs: this.#timeoutMs,
      closed: ended,
      bounds: { maxBytes: this.#limits.max_message_bytes, maxDepth: this.#limits.max_event_depth },
      onRefused: guard.onRefused,
      deliver: (message) => {
        if (this.#transport) this.#transport.onmessage?.(message);
        else if (early.length < MAX_EARLY_MESSAGES) early.push(message);
      },
      unparsable: (error) => client.onerror?.(error),
    });
    const session = await step(initializeSession(requests(), { name: "faultline", version: VERSION }));
    attempted();
    const transport = new StreamableHTTPClientTransport(url, {
      fetch: watchEventStream(streamOpen.resolve, lost.resolve, this.#flow, guard, send),
      // The session initialize opened ("" from a server without sessions: no session header is sent).
      sessionId: session.sessionId ?? "",
      // The connection, not the transport, decides when and how to reconnect.
      reconnectionOptions: {
        maxRetries: 0,
        initialReconnectionDelay: 1000,
        maxReconnectionDelay: 1000,
        reconnectionDelayGrowFactor: 1,
      },
    });
    transport.setProtocolVersion(session.protocolVersion);
    this.#transport = transport;
    // With a session already open, the client connects without a request.
    await step(client.connect(transport, { timeout: this.#timeoutMs }));
    for (const message of early.splice(0)) transport.onmessage?.(message);
    // Accepted, `initialized` makes the transport open the standalone event stream (its GET).
    await step(transport.send({ jsonrpc: "2.0", method: "notifications/initialized" }));
    this.#setStatus("connected", null, null);
    // Events travel on the standalone stream (its GET went out with `initialized`): see it open before
    // subscribing, so none is missed. setLevel needs no stream, so it goes out meanwhile, and its round
    // trip says how long the stream's headers may take on this link now.
    const setLevelSentMs = performance.now();
    await step(sessionRequest(requests(session), "logging/setLevel", { level: "info" }));
    const graceMs = streamOpenGraceMs(performance.now() - setLevelSentMs);
    const opened = await fulfilsWithin(streamOpen.promise, graceMs);
    // A server may hold the stream's headers until its first event: subscribe without proof, and let
    // the feed list what the server sent meanwhile (where it has events_list).
    const unconfirmed = opened ? undefined : { sinceMs: attemptStartedMs, settled: settledSoon(streamOpen) };
    if (unconfirmed)
      this.#log.debug("event stream not confirmed open; subscribing anyway", { grace_ms: graceMs });
    this.#setStatus("subscribing", null, null);
    const feed = await step(this.#startFeed({ client, lose: lost.resolve, unconfirmed }));
    this.#backoff.reset();
    this.#setStatus("active", null, null, feed.mode);
    this.#markAlive(true);
    void this.#endLostSessions();

    const pingTarget: PingTarget = requests(session);
    // A subscription check sent since the ping fell due is a request on the session as the ping is, with
    // the same timeout: it stands for that ping (its answer proves the session alive, none loses it).
    // Checks run on the same clock and mostly fall due with a ping: one request instead of two.
    const stopPinging = this.#clock.every(this.#settings.ping.interval_seconds * 1000, (dueMs) => {
      (feed.sentSince?.(dueMs) ?? ping(pingTarget)).then(
        () => this.#markAlive(),
        (error: unknown) => lost.resolve(`ping failed: ${this.#describe(error)}`),
      );
    });
    try {
      return await lost.promise;
    } finally {
      stopPinging();
      feed.ended(this.#lastAliveMs);
    }
  }

  /** A logging notification's params: to the feed. Nothing a server sends may end the worker. */
  #notified(params: unknown, textChars?: number): void {
    try {
      this.#feed.notified(params, textChars);
    } catch (error) {
      this.#drop("malformed", `notification could not be handled: ${errorMessage(error)}`);
    }
  }

  /** Picks up where a previous faultline left: its session is ended once the server answers, its gap backfilled. */
  #resume(resume: NonNullable<ClusterSpec["resume"]>): void {
    const since = Date.parse(resume.since);
    if (resume.session_id) this.#lostSessions.push(resume.session_id);
    if (!Number.isFinite(since)) return;
    const seen = new Map(resume.seen);
    const lastAlive = Date.parse(resume.last_alive);
    const aliveMs = Number.isFinite(lastAlive) ? lastAlive : since;
    this.#feeds.preferred.resume(since, seen, aliveMs);
    this.#feeds.fallback?.resume(since, seen, aliveMs);
  }

  /** The connection proved alive now; tells the main thread so (at most every {@link ALIVE_REPORT_MS}, unless `force`). */
  #markAlive(force = false): void {
    this.#lastAliveMs = Date.now();
    if (force || this.#lastAliveMs - this.#lastAliveReportMs >= ALIVE_REPORT_MS) {
      // A server without sessions has the id "" (see #attempt): no session to resume.
      this.#reportAlive(this.#transport?.sessionId || null);
    }
  }

  /**
   * Reports the connection alive at its last proof, or at the start of a gap its feed still owes a
   * backfill of, whichever is earlier (see {@link Feed.owedSince}).
   */
  #reportAlive(sessionId: string | null): void {
    this.#lastAliveReportMs = Date.now();
    const aliveMs = this.#lastAliveMs || this.#lastAliveReportMs;
    const owed = this.#feed.owedSince?.() ?? null;
    this.#emit({
      type: "alive",
      cluster: this.#spec.name,
      at: new Date(owed === null ? aliveMs : Math.min(aliveMs, owed)).toISOString(),
      session_id: sessionId,
    });
  }

  /**
   * Starts the preferred feed or, when the server lacks `events_subscribe` and the mode allows it
   * (auto), the fallback; any other failure fails the attempt.
   */
  async #startFeed(session: FeedSession): Promise<Feed> {
    const { preferred, fallback } = this.#feeds;
    this.#feed = preferred;
    try {
      await preferred.start(session);
      return preferred;
    } catch (error) {
      if (!fallback || !(error instanceof MissingEventsSubscribe)) throw error;
      this.#log.info("server has no events_subscribe: polling events_list", {
        interval_seconds: this.#settings.subscribe.poll_interval_seconds,
      });
      this.#feed = fallback;
      await fallback.start(session);
      return fallback;
    }
  }

  /**
   * A lost session may still live on the server with its subscription (servers cap them, and a
   * silently dead peer never heard of the loss). Once the server answers again, end them, and at
   * {@link stop} (a connection stopped while it waited to reconnect would leave them); best effort.
   * Resolves when every request has settled.
   */
  #endLostSessions(): Promise<void> {
    const send = this.#send ?? fetch;
    const ends = this.#lostSessions.splice(0).map((sessionId) =>
      send(this.#spec.mcp_endpoint, {
        method: "DELETE",
        headers: { "mcp-session-id": sessionId },
        signal: AbortSignal.timeout(this.#timeoutMs),
      }).then(
        (response) => response.body?.cancel(),
        () => {},
      ),
    );
    return Promise.all(ends).then(() => {});
  }

  async #closeSession(terminate: boolean): Promise<void> {
    const client = this.#client;
    const transport = this.#transport;
    this.#client = null;
    this.#transport = null;
    if (!client || !transport) return;
    if (terminate) {
      await deadline(transport.terminateSession(), SESSION_CLOSE_WAIT_MS, "session close timed out").catch(
        () => {},
      );
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

  /** Reports something the server sent as dropped (fan-in counts it and logs it, throttled). */
  #drop(reason: SourceDropReason, detail: string): void {
    this.#emit({ type: "dropped", cluster: this.#spec.name, reason, detail });
  }

  /** A readable reason for a failure, for `last_error` (secrets scrubbed when the message is emitted). */
  #describe(error: unknown): string {
    return describeFailure(error, this.#target, this.#timeoutMs);
  }
}

/** `message` with the texts a server or an error may fill (error, detail) scrubbed of this cluster's secrets. */
function scrubMessage(message: ConnectionMessage, scrubber: Scrubber): ConnectionMessage {
  switch (message.type) {
    case "status":
    case "polled":
      return message.error === null ? message : { ...message, error: scrubber.scrub(message.error) };
    case "degraded":
      return { ...message, error: scrubber.scrub(message.error) };
    case "dropped":
      return { ...message, detail: scrubber.scrub(message.detail) };
    default:
      return message;
  }
}

/** Resolves when `streamOpen` does or {@link UNCONFIRMED_BACKFILL_MS} have passed, whichever is first. */
function settledSoon(streamOpen: PromiseWithResolvers<void>): Promise<void> {
  return fulfilsWithin(streamOpen.promise, UNCONFIRMED_BACKFILL_MS).then(() => {});
}

/** A JSON syntax error or a JSON-RPC schema error: what the SDK reports for an unusable stream message. */
function isUnparsable(error: unknown): boolean {
  return error instanceof Error && (error.name === "SyntaxError" || error.name === "ZodError");
}

/** The feeds a connection may use: the preferred one, and what to use where the server cannot push. */
interface FeedChoice {
  preferred: Feed;
  /** Started when the server lacks `events_subscribe`; null when the mode allows pushing only. */
  fallback: Feed | null;
}

/**
 * The feeds `subscribe.mode` allows: `auto` pushes where it can and polls where the server lacks
 * `events_subscribe`; `faults`/`events` only push, `poll` only polls.
 */
function chooseFeeds(context: FeedContext): FeedChoice {
  const { mode } = context.subscribe;
  switch (mode) {
    case "auto":
      return { preferred: new PushFeed(context, "faults"), fallback: new PollFeed(context) };
    case "poll":
      return { preferred: new PollFeed(context), fallback: null };
    default:
      return { preferred: new PushFeed(context, mode), fallback: null };
  }
}
