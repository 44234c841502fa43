/**
 * The outbox worker: delivers the notification outbox (`src/incidents/outbox.ts`) to the configured
 * sinks. Each sink has its own loop, rate limit and backoff, so a slow, failing or unreachable sink
 * never holds another, and nothing here ever waits on (or holds up) triage. A message is sent at least
 * once: it stays `pending` until its sink accepts it (a crash before that sends it again, with the
 * same `Idempotency-Key`), is retried with backoff (a `Retry-After` honoured), and goes to `dead`
 * after the sink's `max_attempts` or a permanent error. Logs name the sink, never its URL.
 */
import type { NotifySinkConfig } from "../config/types.ts";
import type { AttemptResult } from "../incidents/outbox.ts";
import type { OutboxStore } from "../incidents/store-api.ts";
import { errorMessage, logger } from "../log.ts";
import { backoffDelay } from "../runtime/backoff.ts";
import { deliver } from "./deliver.ts";
import type { NotificationMessage } from "./message.ts";
import { RateLimiter } from "./rate-limit.ts";
import { renderRequest } from "./request.ts";
import { Wake } from "./wake.ts";

const log = logger({ component: "notifier" });

/** With nothing pending, a sink's loop looks at the outbox again after this long (it is woken sooner). */
const IDLE_MS = 60_000;
/** After a store failure, a sink's loop tries again after this long. */
const STORE_RETRY_MS = 1000;

/** What happened to delivery attempts, counted per sink since start. */
export const ATTEMPT_STATUSES = ["sent", "failed", "dead"] as const;
/** One of {@link ATTEMPT_STATUSES}: `failed` is an attempt that will be retried. */
export type AttemptStatus = (typeof ATTEMPT_STATUSES)[number];

/** Options for {@link Notifier}. */
export interface NotifierOptions {
  sinks: readonly NotifySinkConfig[];
  outbox: OutboxStore;
  /** Jitter source for backoff (tests pin it). */
  random?: () => number;
}

/** Delivers the outbox, one loop per sink. */
export class Notifier {
  readonly #options: NotifierOptions;
  readonly #wakes = new Map<string, Wake>();
  readonly #totals = new Map<string, Record<AttemptStatus, number>>();
  readonly #stopping = new AbortController();
  #loops: Promise<void>[] = [];

  constructor(options: NotifierOptions) {
    this.#options = options;
    for (const sink of options.sinks) {
      this.#wakes.set(sink.name, new Wake());
      this.#totals.set(sink.name, { sent: 0, failed: 0, dead: 0 });
    }
  }

  /**
   * Dead-letters pending messages of sinks no longer configured, then starts every sink's loop
   * (pending messages left by a previous run, even one that was killed, go out first).
   */
  start(): void {
    const buried = this.#buryUnknownSinks();
    this.#loops = this.#options.sinks.map(async (sink) => {
      await buried;
      await this.#run(sink);
    });
  }

  /** Dead-letters the pending messages of sinks no longer configured (logged; never rejects). */
  async #buryUnknownSinks(): Promise<void> {
    try {
      const buried = await this.#options.outbox.buryUnknownSinks(new Set(this.#wakes.keys()));
      for (const [sink, messages] of buried) {
        log.warn("notifications for a sink no longer configured moved to dead-letter", { sink, messages });
      }
    } catch (error) {
      log.error("cannot check the outbox for removed sinks", { error: errorMessage(error) });
    }
  }

  /** Something may have been added to the outbox: every sink looks now. */
  kick(): void {
    for (const wake of this.#wakes.values()) wake.wake();
  }

  /** Delivery attempts so far, per sink and {@link AttemptStatus}. */
  totals(): ReadonlyMap<string, Readonly<Record<AttemptStatus, number>>> {
    return this.#totals;
  }

  /** Stops every loop; an attempt in flight is abandoned (its message stays pending for the next start). */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await Promise.all(this.#loops);
  }

  async #run(sink: NotifySinkConfig): Promise<void> {
    const { signal } = this.#stopping;
    const wake = this.#wakes.get(sink.name) ?? new Wake();
    const limiter = new RateLimiter(sink.max_per_minute);
    while (!signal.aborted) {
      try {
        const waitMs = await this.#deliverNext(sink, limiter);
        if (waitMs > 0) await wake.wait(waitMs, signal);
      } catch (error) {
        log.error("cannot read or update the notification outbox", {
          sink: sink.name,
          error: errorMessage(error),
        });
        await wake.wait(STORE_RETRY_MS, signal);
      }
    }
  }

  /** Delivers the sink's next due message, if any; resolves to how long to wait before looking again. */
  async #deliverNext(sink: NotifySinkConfig, limiter: RateLimiter): Promise<number> {
    const { outbox } = this.#options;
    const { signal } = this.#stopping;
    const due = await outbox.nextDue(sink.name, Date.now());
    if (due === null) {
      const next = await outbox.nextAttemptAt(sink.name);
      return next === null ? IDLE_MS : Math.max(1, next - Date.now());
    }
    await limiter.take(signal);
    if (signal.aborted) return 0;
    let message: NotificationMessage;
    try {
      message = JSON.parse(due.message) as NotificationMessage;
    } catch (error) {
      await outbox.recordAttempt(due.id, {
        outcome: "dead",
        error: `unreadable message: ${errorMessage(error)}`,
      });
      this.#count(sink.name, "dead");
      return 0;
    }
    const request = renderRequest(sink, message, due.idempotency_key);
    const delivery = await deliver(request, { timeoutMs: sink.timeout_seconds * 1000, signal });
    if (delivery.outcome === "stopped") return 0;
    const attempts = due.attempts + 1;
    const fields = {
      sink: sink.name,
      cluster: message.incident.cluster,
      incident_id: message.incident.id,
      trigger: message.event,
      attempts,
    };
    let result: AttemptResult;
    if (delivery.outcome === "sent") {
      result = { outcome: "sent" };
      log.info("notification sent", fields);
    } else if (delivery.outcome === "retry" && attempts < sink.max_attempts) {
      const backoff = backoffDelay(
        attempts - 1,
        sink.retry.initial_seconds * 1000,
        sink.retry.max_seconds * 1000,
        this.#options.random,
      );
      const delay = Math.max(backoff, delivery.retryAfterMs ?? 0);
      result = { outcome: "retry", error: delivery.error, retryAtMs: Date.now() + delay };
      log.warn("notification not delivered, will retry", {
        ...fields,
        error: delivery.error,
        retry_in_ms: delay,
      });
    } else {
      const why =
        delivery.outcome === "retry"
          ? `${delivery.error} (gave up after ${attempts} attempts)`
          : delivery.error;
      result = { outcome: "dead", error: why };
      log.error("notification moved to dead-letter", { ...fields, error: why });
    }
    await outbox.recordAttempt(due.id, result);
    this.#count(sink.name, result.outcome === "retry" ? "failed" : result.outcome);
    return 0;
  }

  #count(sink: string, status: AttemptStatus): void {
    const totals = this.#totals.get(sink);
    if (totals) totals[status] += 1;
  }
}
