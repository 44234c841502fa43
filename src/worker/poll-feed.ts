/**
 * The poll feed, for servers without `events_subscribe`: `events_list` on each fresh session (the
 * first list ever is the baseline; later ones, after a reconnect too, report what is new), then again
 * every `poll_interval_seconds`. A server answering with an error degrades the feed (a `polled`
 * message with the error); no answer at all loses the session.
 */
import {
  type Feed,
  type FeedContext,
  type FeedSession,
  now,
  reportEvents,
  reportNotification,
} from "./feed.ts";
import { describeFailure, eventsLister, ListAnswerError } from "./mcp.ts";
import { EventsPoller, type ListEvents } from "./poller.ts";
import { SharedClock } from "./shared-clock.ts";

/** Faults found by listing events periodically. */
export class PollFeed implements Feed {
  /** Always `poll`. */
  readonly mode = "poll";
  readonly #context: FeedContext;
  /** Turns event lists into new faults; kept across sessions so a reconnect reports what it missed. */
  readonly #poller: EventsPoller;
  /** The clock its polls run on. */
  readonly #clock: SharedClock;
  /** Stops the polls of the current session. */
  #stopPolls: (() => void) | undefined;
  /** A list is in flight (a slow server never gets a second one from the timer). */
  #polling = false;
  /** Set by {@link stop}: a list still in flight then reports nothing. */
  #stopped = false;

  /** A poll feed for `context`'s cluster, listing its configured namespaces. */
  constructor(context: FeedContext) {
    this.#context = context;
    this.#clock = context.clock ?? new SharedClock();
    this.#poller = new EventsPoller(context.cluster, context.subscribe.namespaces);
  }

  /** Lists once (rejecting if that fails: the session cannot carry the feed), then starts the timer. */
  async start(session: FeedSession): Promise<void> {
    const list = eventsLister(session.client, this.#context.timeoutMs, this.#context.cluster.context);
    await this.#poll(list);
    this.#stopPolls?.();
    this.#stopPolls = this.#clock.every(
      this.#context.subscribe.poll_interval_seconds * 1000,
      () => void this.#pollOnce(list, session),
    );
  }

  /** Reports what the notification carries (a poll-mode server normally sends none). */
  notified(params: unknown, textChars?: number): void {
    reportNotification(params, this.#context, undefined, textChars);
  }

  /** The first list reports the Warning events since `sinceMs` not stored already, instead of being a mere baseline. */
  resume(sinceMs: number, seen: ReadonlyMap<string, number>): void {
    this.#poller.resume(sinceMs, seen);
  }

  /** Stops the timer; the next session lists from where this one left off. */
  ended(): void {
    this.#stopPolls?.();
    this.#stopPolls = undefined;
  }

  /** Stops the timer for good; a list still in flight reports nothing. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.ended();
  }

  /** Lists events and reports the new faults and the poll. */
  async #poll(list: ListEvents): Promise<void> {
    const faults = await this.#poller.poll(list);
    if (this.#stopped) return;
    this.#context.alive();
    reportEvents(faults, this.#context);
    this.#context.report({ type: "polled", cluster: this.#context.cluster.name, at: now(), error: null });
  }

  /** One periodic poll. A server answering with an error degrades the feed; no answer loses the session. */
  async #pollOnce(list: ListEvents, session: FeedSession): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    const { cluster, timeoutMs, target } = this.#context;
    try {
      await this.#poll(list);
    } catch (error) {
      if (this.#stopped) return;
      if (error instanceof ListAnswerError) {
        this.#context.report({ type: "polled", cluster: cluster.name, at: now(), error: error.message });
      } else session.lose(`events_list failed: ${describeFailure(error, target, timeoutMs)}`);
    } finally {
      this.#polling = false;
    }
  }
}
