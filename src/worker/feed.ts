/**
 * A feed: one way of receiving a cluster's faults over an MCP session. Push (`events_subscribe`, the
 * server sends faults as logging notifications) and poll (`events_list` on a timer) both implement
 * {@link Feed}; the connection keeps the session, its backoff and its status, and picks the feed.
 */
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { DEFAULT_LIMITS } from "../config/schema.ts";
import type { SubscribeConfig } from "../config/types.ts";
import { boundEvent } from "../events/bounds.ts";
import type { FaultEvent } from "../events/fault.ts";
import { classifyNotification } from "../events/normalise.ts";
import type { Logger } from "../log.ts";
import type { FailureTarget } from "./mcp.ts";
import type { ClusterSpec, ConnectionMessage, FeedMode } from "./protocol.ts";
import type { SharedClock } from "./shared-clock.ts";

/** What a feed is given once, by its connection, for all the sessions it runs on. */
export interface FeedContext {
  /** The cluster whose faults these are (they are tagged with its name and labels). */
  cluster: ClusterSpec;
  /** The `subscribe` settings (namespaces, label selector, poll interval). */
  subscribe: SubscribeConfig;
  /** How long one request to the server may take. */
  timeoutMs: number;
  /** The server as errors name it (credentials replaced by `***`). */
  target: FailureTarget;
  /** Longer strings in an event are cut, with a marker (`limits.max_string_chars`; its default when absent). */
  maxStringChars?: number;
  /** Where events, `degraded`, `polled` and `dropped` messages go. */
  report(message: ConnectionMessage): void;
  /** Called when the session proved alive (a fault arrived, a list was answered). */
  alive(): void;
  /** The connection's logger (it names the cluster). */
  log: Logger;
  /** The timer for periodic work (polls, subscription checks), shared by a worker's connections; one of its own when absent. */
  clock?: SharedClock;
}

/** One MCP session as a feed sees it. */
export interface FeedSession {
  /** The initialised client of this session. */
  client: Client;
  /** Gives the session up (the connection starts over), with why. */
  lose(reason: string): void;
  /**
   * Present when the session's event stream was not seen open before the feed starts (a server that
   * holds the stream's headers until its first event): events the server sent before the stream was
   * attached may be lost, so a push feed lists what happened since `sinceMs` once `settled` resolves
   * (the stream opened, or long enough has passed for it to be attached).
   */
  unconfirmed?: { sinceMs: number; settled: Promise<void> };
}

/**
 * A way of receiving faults. A feed lives as long as its connection and may run on many sessions
 * one after the other; what it learned on one (poll baseline, push outage) carries to the next.
 */
export interface Feed {
  /** How faults arrive: shown in health as the connection's mode. */
  readonly mode: FeedMode;
  /**
   * Starts on a fresh session; resolves once faults flow. Rejects, with a readable reason, when this
   * session cannot carry the feed (the connection then fails the attempt or tries another feed).
   */
  start(session: FeedSession): Promise<void>;
  /**
   * A `notifications/message` arrived on the session (its `params`; `textChars`, when known, the length
   * of the JSON text they were parsed from: see {@link reportNotification}).
   */
  notified(params: unknown, textChars?: number): void;
  /**
   * Before the first session: a previous faultline was last alive at `sinceMs` (epoch ms), and had
   * stored faults of the objects in `seen` up to the given times. The feed reports, on its first
   * session, what the server still lists from that gap (where it has `events_list`). `aliveMs` is the
   * stored moment `sinceMs` was derived from (see {@link owedSince}); `sinceMs` when absent.
   */
  resume(sinceMs: number, seen: ReadonlyMap<string, number>, aliveMs?: number): void;
  /**
   * The earliest moment (epoch ms) whose faults this feed may not all have reported yet (a backfill in
   * flight, failed, or waiting for the next session), or null. The connection reports the cluster alive
   * no later than it: the stored liveness is where a restart or a takeover resumes, so it must not pass a
   * gap nobody has listed yet. Absent: nothing is ever owed once the feed runs (a poll feed lists the gap
   * before its session is active).
   */
  owedSince?(): number | null;
  /** The session was lost (it is not to be used again); `lastAliveMs` is when it last proved alive. */
  ended(lastAliveMs: number): void;
  /** Stops for good while the session still stands: unsubscribes, releases timers. */
  stop(): Promise<void>;
  /**
   * A request of this feed's own sent on the session at or after `sinceMs` (`performance.now()` time),
   * if any: it settles as a ping would, resolving once the server answered it (any answer) and
   * rejecting when none came (no answer in time, an HTTP error). The connection lets it stand for the
   * ping due then (see ClusterConnection); null when there is none.
   */
  sentSince?(sinceMs: number): Promise<void> | null;
}

/**
 * Reports what a logging notification carries: a fault as an event (the session proved alive), a
 * `subscription_error` as `degraded`, a malformed payload as `dropped`; anything else is ignored.
 * Returns the fault, if it was one and reported. A fault `reported` says was reported already (by a
 * backfill) proves the session alive and is not reported again. `textChars`, when known, is the length
 * of the JSON text `params` were parsed from: no string in them is longer (a character of a JSON string
 * takes at least one character of its text), so when it is within the string limit the event's `raw` is
 * not walked for strings to cut.
 */
export function reportNotification(
  params: unknown,
  context: FeedContext,
  reported: (event: FaultEvent) => boolean = () => false,
  textChars = Number.POSITIVE_INFINITY,
): FaultEvent | null {
  const { cluster } = context;
  const outcome = classifyNotification(params, cluster);
  switch (outcome.kind) {
    case "fault": {
      context.alive();
      if (reported(outcome.event)) return null;
      const event = boundEvent(outcome.event, maxStringChars(context), textChars);
      context.report({ type: "event", event });
      return event;
    }
    case "subscription_error":
      context.report({ type: "degraded", cluster: cluster.name, error: outcome.error, at: now() });
      return null;
    case "malformed":
      context.report({ type: "dropped", cluster: cluster.name, reason: "malformed", detail: outcome.detail });
      return null;
    case "ignored":
      return null;
  }
}

/** Reports each of `events`, its strings bounded. */
export function reportEvents(events: readonly FaultEvent[], context: FeedContext): void {
  const max = maxStringChars(context);
  for (const event of events) context.report({ type: "event", event: boundEvent(event, max) });
}

function maxStringChars(context: FeedContext): number {
  return context.maxStringChars ?? DEFAULT_LIMITS.max_string_chars;
}

/** Now, as the RFC 3339 time messages carry. */
export function now(): string {
  return new Date().toISOString();
}
