/**
 * The push feed: `events_subscribe` on each fresh session, faults arrive as logging notifications.
 * Push servers replay nothing after a reconnect, so when a session comes back after an outage (or
 * after faultline itself restarted: {@link PushFeed.resume}) the feed lists events once and reports
 * the Warning events it missed (the backfill), skipping objects whose fault was pushed already. A
 * server also cancels a subscription without notice when one notification cannot be delivered: where
 * it offers `events_list_subscriptions`, the feed checks every `subscribe.check_interval_seconds` that
 * its subscription still exists, and subscribes again and backfills when it is gone.
 */
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { DEFAULT_CHECK_INTERVAL_SECONDS } from "../config/schema.ts";
import { describeResource, type FaultEvent } from "../events/fault.ts";
import { errorMessage } from "../log.ts";
import type { Feed, FeedContext, FeedSession } from "./feed.ts";
import { now, reportEvents, reportNotification } from "./feed.ts";
import { eventsLister, findSubscriptionId, mentionsMissingTool, textContent, toolArguments } from "./mcp.ts";
import { backfill } from "./poller.ts";
import { RecentTimes } from "./recent-times.ts";
import { SharedClock } from "./shared-clock.ts";
import { answeredAnyway, checkSubscription } from "./subscription-check.ts";

/** The `last_error` shown when a server lacks the events extension. */
export const MISSING_EVENTS_SUBSCRIBE =
  "server has no events_subscribe tool (a kubernetes-mcp-server without the events extension), so it " +
  "cannot push faults; set subscribe.mode to auto or poll to poll its events_list instead";

/** How long unsubscribing at shutdown may take. */
const UNSUBSCRIBE_TIMEOUT_MS = 2000;

/** The most recent objects whose last pushed fault time is always remembered for backfill (see {@link RecentTimes}). */
const MAX_PUSHED_REMEMBERED = 256;

/** Why a push feed lists events: what it may have missed. */
type BackfillReason = "outage" | "subscription vanished" | "stream unconfirmed";

/**
 * A stretch of time whose faults the feed may not have reported yet: listed from `sinceMs`; until that
 * listing succeeded, the connection reports the cluster alive no later than `aliveMs` (see
 * {@link PushFeed.owedSince}).
 */
interface Gap {
  sinceMs: number;
  aliveMs: number;
}

/** A gap from `ms` that holds the reported liveness at `ms` too. */
function gapFrom(ms: number): Gap {
  return { sinceMs: ms, aliveMs: ms };
}

/** The gap covering both (`a` may be null: no gap yet). */
function joinGaps(a: Gap | null, b: Gap): Gap {
  if (!a) return b;
  return { sinceMs: Math.min(a.sinceMs, b.sinceMs), aliveMs: Math.min(a.aliveMs, b.aliveMs) };
}

/** The window each backfill covers, as its log line names it. */
const BACKFILL_WINDOWS: Record<BackfillReason, string> = {
  outage: "the outage",
  "subscription vanished": "the time the subscription vanished",
  "stream unconfirmed": "the moments before the event stream was confirmed open",
};

/** The server has no `events_subscribe` tool: this session cannot carry a push feed. */
export class MissingEventsSubscribe extends Error {
  constructor() {
    super(MISSING_EVENTS_SUBSCRIBE);
    this.name = "MissingEventsSubscribe";
  }
}

/** Faults pushed by the server over `events_subscribe` subscriptions. */
export class PushFeed implements Feed {
  /** Always `push`. */
  readonly mode = "push";
  readonly #context: FeedContext;
  /** What to subscribe to: normalised faults or raw Kubernetes events. */
  readonly #subscribeMode: "faults" | "events";
  /** The session subscribed on, while it stands. */
  #session: FeedSession | null = null;
  #subscriptionId: string | null = null;
  /**
   * Per object (`kind/namespace/name`), the time of its last fault reported (pushed, or listed by a
   * backfill): backfill skips those.
   */
  readonly #pushedAt = new RecentTimes(MAX_PUSHED_REMEMBERED);
  /**
   * Per object, the time of its newest fault stored before a restart or hand-over ({@link resume}), whole
   * (bounded by the store's look, not by {@link #pushedAt}'s capacity: a storm before the crash may have
   * stored more objects than it holds): backfills skip those too. Once one covering the resume point
   * succeeded, only the faults of the seconds just before the resume stay: every later gap starts after
   * the resume, and a hand-over's previous holder may have stored one in the second the taker resumed.
   */
  #stored: StoredBeforeResume | null = null;
  /**
   * Per object and fault type, the time of the last fault a backfill listed: the push of the same
   * occurrence can arrive after the listing's answer (two connections, no order between them), and
   * carries another id (the server's own), so it is recognised by object, type and time instead.
   */
  readonly #listedAt = new RecentTimes(MAX_PUSHED_REMEMBERED);
  /** Set when a session was lost (or a backfill failed): what to backfill once the next one is subscribed. */
  #lost: Gap | null = null;
  /** Gaps being listed now, and a not yet confirmed stream's gap waiting for its listing. */
  readonly #listing = new Set<Gap>();
  /** The clock its subscription checks run on. */
  readonly #clock: SharedClock;
  /** Stops the subscription checks of the current session. */
  #stopChecks: (() => void) | undefined;
  /** A check is in flight (a slow server never gets a second one from the timer). */
  #checking = false;
  /** When the subscription was last known to exist (subscribed, or found by a check). */
  #confirmedAtMs = 0;
  /** The latest check: when it was sent (`performance.now()` time) and whether the server answered it. */
  #lastCheck: { sentAt: number; answered: Promise<void> } | null = null;
  /**
   * Set by {@link stop}: a backfill still listing then reports nothing (the cluster was removed here,
   * maybe to be taken again at once: a late report would reach the store after the new resume's read).
   */
  #stopped = false;

  /** {@link listedAlready}, bound once (not a closure per notification). */
  readonly #reported = (event: FaultEvent): boolean => this.#listedAlready(event);

  /** A push feed for `context`'s cluster, subscribing in `subscribeMode`. */
  constructor(context: FeedContext, subscribeMode: "faults" | "events") {
    this.#context = context;
    this.#clock = context.clock ?? new SharedClock();
    this.#subscribeMode = subscribeMode;
  }

  /**
   * Subscribes; then, after an outage, backfills in the background. Rejects with
   * {@link MissingEventsSubscribe} when the server lacks the tool, or with the server's reason.
   */
  async start(session: FeedSession): Promise<void> {
    this.#subscriptionId = await this.#subscribe(session.client);
    this.#confirmedAtMs = Date.now();
    this.#session = session;
    void this.#backfillAfterOutage(session.client);
    const { unconfirmed } = session;
    if (unconfirmed) {
      // Owed from now: events the server sent before the stream was attached are only in its listing.
      const gap = gapFrom(unconfirmed.sinceMs);
      this.#listing.add(gap);
      void unconfirmed.settled.then(() => {
        if (this.#session === session) return this.#fill(session.client, gap, "stream unconfirmed");
        this.#listing.delete(gap);
        this.#owe(gap, session.client);
      });
    }
    this.#stopChecks?.();
    const seconds = this.#context.subscribe.check_interval_seconds ?? DEFAULT_CHECK_INTERVAL_SECONDS;
    this.#stopChecks = this.#clock.every(seconds * 1000, () => void this.#check(session));
  }

  /** Reports what the notification carries and remembers pushed faults for the next backfill. */
  notified(params: unknown, textChars?: number): void {
    const event = reportNotification(params, this.#context, this.#reported, textChars);
    if (event) this.#rememberPushed(event);
  }

  /**
   * Backfills from `sinceMs` on the first session, skipping objects whose faults up to `seen` are stored;
   * until that listing succeeded the cluster is reported alive no later than `aliveMs` (the stored moment
   * `sinceMs` was derived from).
   */
  resume(sinceMs: number, seen: ReadonlyMap<string, number>, aliveMs = sinceMs): void {
    this.#lost = { sinceMs, aliveMs: Math.max(sinceMs, aliveMs) };
    this.#stored = seen.size > 0 ? { sinceMs, resumedAtMs: Date.now(), times: seen } : null;
  }

  /**
   * The earliest moment whose faults may not all be reported yet: a backfill (after a resume, an outage,
   * a vanished subscription, a stream not confirmed open) in flight, failed, or waiting for the next
   * session; null when none is owed. See {@link Feed.owedSince}.
   */
  owedSince(): number | null {
    let owed = this.#lost?.aliveMs ?? null;
    for (const gap of this.#listing) owed = owed === null ? gap.aliveMs : Math.min(owed, gap.aliveMs);
    return owed;
  }

  /** The latest subscription check, if it was sent at or after `sinceMs`: see {@link Feed.sentSince}. */
  sentSince(sinceMs: number): Promise<void> | null {
    const check = this.#lastCheck;
    return check !== null && check.sentAt >= sinceMs ? check.answered : null;
  }

  /** Forgets the subscription and remembers since when the next session has to backfill. */
  ended(lastAliveMs: number): void {
    this.#stopChecks?.();
    this.#lastCheck = null;
    this.#session = null;
    this.#subscriptionId = null;
    this.#lost ??= gapFrom(lastAliveMs);
  }

  /** Unsubscribes (best effort, bounded) while the session still stands. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopChecks?.();
    const session = this.#session;
    const subscriptionId = this.#subscriptionId;
    this.#session = null;
    this.#subscriptionId = null;
    if (!session || !subscriptionId) return;
    await session.client
      .callTool(
        {
          name: "events_unsubscribe",
          arguments: toolArguments(this.#context.cluster.context, { subscriptionId }),
        },
        undefined,
        { timeout: UNSUBSCRIBE_TIMEOUT_MS },
      )
      .catch((error: unknown) =>
        this.#context.log.debug("unsubscribe failed", { error: errorMessage(error) }),
      );
  }

  /** Calls `events_subscribe` with the configured filters; resolves with the subscription id. */
  async #subscribe(client: Client): Promise<string> {
    const { namespaces, label_selector } = this.#context.subscribe;
    const args: Record<string, unknown> = { mode: this.#subscribeMode };
    if (namespaces) args.namespaces = namespaces;
    if (label_selector) args.labelSelector = label_selector;
    let result: Awaited<ReturnType<Client["callTool"]>>;
    try {
      result = await client.callTool(
        { name: "events_subscribe", arguments: toolArguments(this.#context.cluster.context, args) },
        undefined,
        { timeout: this.#context.timeoutMs },
      );
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
    this.#context.log.debug("subscribed", { subscription_id: subscriptionId, mode: this.#subscribeMode });
    return subscriptionId;
  }

  /**
   * One check that the subscription still exists. Gone: subscribe again on the same session and
   * backfill since it was last known to exist. A server without `events_list_subscriptions` is not
   * checked again on this session; a check without an answer is left to the ping to judge.
   */
  async #check(session: FeedSession): Promise<void> {
    const subscriptionId = this.#subscriptionId;
    if (this.#checking || this.#session !== session || !subscriptionId) return;
    this.#checking = true;
    const { cluster, timeoutMs, log, report } = this.#context;
    // The check is a request on the session as a ping is: whether the server answered it (see sentSince).
    const answered = Promise.withResolvers<void>();
    answered.promise.catch(() => {}); // nobody may ask; the connection reads it when it does
    this.#lastCheck = { sentAt: performance.now(), answered: answered.promise };
    try {
      const found = await checkSubscription(session.client, subscriptionId, timeoutMs, cluster.context).then(
        (outcome) => {
          answered.resolve();
          return outcome;
        },
        (error: unknown) => {
          if (answeredAnyway(error)) answered.resolve();
          else answered.reject(error);
          throw error;
        },
      );
      if (this.#session !== session) return;
      if (found === "unsupported") {
        this.#stopChecks?.();
        log.debug("server has no events_list_subscriptions: subscription not checked");
        return;
      }
      const checkedAtMs = Date.now();
      if (found === "gone") {
        log.warn("subscription vanished on the server: subscribing again", {
          subscription_id: subscriptionId,
        });
        this.#subscriptionId = await this.#subscribe(session.client);
        void this.#fill(session.client, gapFrom(this.#confirmedAtMs), "subscription vanished");
      }
      this.#confirmedAtMs = checkedAtMs;
      // A listing that failed on this session (a timeout, a 5xx) is tried again, once a check.
      if (this.#lost !== null && this.#listing.size === 0) void this.#backfillAfterOutage(session.client);
      report({
        type: "subscription_checked",
        cluster: cluster.name,
        at: now(),
        resubscribed: found === "gone",
      });
    } catch (error) {
      log.warn("subscription check failed", { error: errorMessage(error) });
    } finally {
      this.#checking = false;
    }
  }

  /**
   * After an outage (or a resume): list once and report the Warning events since the connection was last
   * alive (since the resume point).
   */
  async #backfillAfterOutage(client: Client): Promise<void> {
    const gap = this.#lost;
    if (gap === null) return;
    this.#lost = null;
    await this.#fill(client, gap, "outage");
  }

  /**
   * Lists `gap` on `client`; it stays owed (the reported liveness held at its start) until the listing
   * succeeded. One that fails (the session dropped again, the feed stopped) leaves it to the next
   * session's backfill, which then starts there (or earlier), not at the later moment the dropped session
   * was last alive: the gap since a takeover's or restart's resume point is never skipped, and a replica
   * that takes the cluster over meanwhile resumes from it. Listed when another session is already up.
   */
  async #fill(client: Client, gap: Gap, why: BackfillReason): Promise<void> {
    this.#listing.add(gap);
    let listed = false;
    try {
      listed = await this.#backfillSince(client, gap.sinceMs, why);
    } finally {
      this.#listing.delete(gap);
    }
    if (!listed) this.#owe(gap, client);
  }

  /**
   * `gap` was not listed on `client`'s session: it is owed to the next backfill, at once when another
   * session is up already (its own backfill has run), else when the next one starts or, while this
   * session stays up, at its next successful subscription check.
   */
  #owe(gap: Gap, client: Client): void {
    this.#lost = joinGaps(this.#lost, gap);
    const current = this.#session;
    if (current && current.client !== client && !this.#stopped)
      void this.#backfillAfterOutage(current.client);
  }

  /**
   * Lists once and reports the Warning events since `since` that were not pushed already; false when the
   * listing failed or the feed was stopped meanwhile (a server without `events_list` is not a failure:
   * there is nothing to retry).
   */
  async #backfillSince(client: Client, since: number, why: BackfillReason): Promise<boolean> {
    const { cluster, subscribe, timeoutMs, log } = this.#context;
    try {
      const listed = await backfill(
        eventsLister(client, timeoutMs, cluster.context),
        cluster,
        subscribe.namespaces,
        new Date(since),
      );
      // Stopped (the cluster was removed here): not reported, so still owed by whoever resumes it.
      if (this.#stopped) return false;
      // Skip what was reported already, or stored before the resume: per object, up to its newest time.
      const stored = this.#stored;
      const faults = listed.filter((e) => {
        const key = describeResource(e.resource);
        const known = Math.max(this.#pushedAt.get(key) ?? -1, stored?.times.get(key) ?? -1);
        return known < Date.parse(e.timestamp);
      });
      if (stored && since <= stored.sinceMs) this.#stored = laterListable(stored);
      // Oldest first, whatever order the server lists in: reported in time order, and the newest (the ones a
      // late push can still bring) are remembered last, so the bounded memory drops the oldest first.
      faults.sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
      reportEvents(faults, this.#context);
      // Reported now: neither a backfill soon after (a session dropped again) nor their push arriving
      // late may report them a second time.
      for (const fault of faults) {
        this.#rememberPushed(fault);
        this.#listedAt.remember(listedKey(fault), Date.parse(fault.timestamp));
      }
      // A stream not confirmed open is the rule with some servers: say so only when it mattered.
      const quiet = why === "stream unconfirmed" && faults.length === 0;
      (quiet ? log.debug : log.info)(`backfilled events from ${BACKFILL_WINDOWS[why]}`, {
        since: new Date(since).toISOString(),
        events: faults.length,
      });
      return true;
    } catch (error) {
      const message = errorMessage(error);
      if (mentionsMissingTool(message, "events_list")) {
        log.debug(`no events_list: ${why} not backfilled`);
        return true;
      }
      log.warn(`backfill after ${why} failed`, { error: message });
      return false;
    }
  }

  /** Remembers when `event`'s object last had a fault reported (bounded: see {@link RecentTimes}). */
  #rememberPushed(event: FaultEvent): void {
    this.#pushedAt.remember(describeResource(event.resource), Date.parse(event.timestamp));
  }

  /**
   * Whether a backfill listed `event` already: same object and fault type, in its second or later. The
   * stock server lists whole seconds (`10:00:05 +0000 UTC`) where its push carries milliseconds: a listed
   * time covers its whole second, or a push that comes after the listing answer would be reported twice.
   */
  #listedAlready(event: FaultEvent): boolean {
    if (this.#listedAt.size === 0) return false; // nothing listed yet (the rule): no key to build
    const listed = this.#listedAt.get(listedKey(event));
    return listed !== undefined && listed >= Math.floor(Date.parse(event.timestamp) / 1000) * 1000;
  }
}

/** What a previous holder stored, as {@link PushFeed.resume} got it: per object, its newest fault's time. */
interface StoredBeforeResume {
  /** The resume point: the backfill from here (or earlier) is the resume's own. */
  sinceMs: number;
  /** When the resume was applied (local clock). */
  resumedAtMs: number;
  times: ReadonlyMap<string, number>;
}

/** How long before a resume a stored fault's time may be and a later backfill still list it (clock skew). */
const STORED_KEPT_MS = 5000;

/**
 * What of the faults stored before a resume a backfill after the resume's own may list again: those from
 * {@link STORED_KEPT_MS} before the resume's second on (a later gap never starts before the resume); null
 * when none.
 */
function laterListable(stored: StoredBeforeResume): StoredBeforeResume | null {
  const from = Math.floor(stored.resumedAtMs / 1000) * 1000 - STORED_KEPT_MS;
  const times = new Map([...stored.times].filter(([, at]) => at >= from));
  return times.size > 0 ? { ...stored, times } : null;
}

/** The key of a fault's occurrence in {@link PushFeed}'s memory of listed faults: object and type. */
function listedKey(event: FaultEvent): string {
  return `${describeResource(event.resource)}\u0000${event.fault_type}`;
}
