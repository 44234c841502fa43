/**
 * The pipeline's vocabulary: its stages, in the order a fault passes through them, and every reason an
 * event can be dropped, each owned by exactly one stage. Metrics (`faultline_events_dropped_total{reason}`)
 * and logs (`stage` and `reason` fields) use these names and no others. The contract is written down in
 * `docs/pipeline.md`.
 */
import { logger } from "../log.ts";

/**
 * The stages, source to dispatcher:
 * - `source`: a worker's cluster connection (push or poll feed) validates and normalises notifications;
 * - `fan-in`: worker messages → registry (status) and the bounded channel;
 * - `backpressure`: holds the workers' event streams while the channel or the store is behind;
 * - `route`: decides triage or skip for each event;
 * - `sink`: stores each batch in one transaction, with retry, before anything is dispatched for it;
 * - `dispatch`: runs the agents for queued incidents.
 */
export const STAGES = ["source", "fan-in", "backpressure", "route", "sink", "dispatch"] as const;
/** One of {@link STAGES}. */
export type Stage = (typeof STAGES)[number];

/** Why an event did not reach the store, and the stage that drops it for that reason. */
export const DROP_REASONS = {
  /** The notification could not be validated or normalised. */
  malformed: "source",
  /** The notification (one SSE event) was larger than `limits.max_event_bytes`: refused before parsing. */
  oversized: "source",
  /** The notification nested arrays/objects deeper than `limits.max_event_depth`: refused before parsing. */
  too_deep: "source",
  /** A message on the stream was not JSON, or not JSON-RPC. */
  unparsable: "source",
  /** A worker died of an uncaught error holding events it had accepted but not yet sent. */
  worker_crashed: "source",
  /** The fan-in channel was at its hard capacity (backpressure should have held the streams first). */
  channel_full: "fan-in",
  /** faultline stopped while the store was failing; the batch could not be written. */
  store_error: "sink",
  /**
   * A replica no longer holds the event's cluster (another took it over after a fence or an expired
   * lease): not stored here, its new owner's backfill lists it (replicas on PostgreSQL only).
   */
  not_owner: "sink",
} as const satisfies Record<string, Stage>;
/** One of the keys of {@link DROP_REASONS}. */
export type DropReason = keyof typeof DROP_REASONS;

/** Events dropped so far, by reason (read by metrics at scrape time). */
export type DropCounts = Record<DropReason, number>;

/** Counts dropped events by reason and logs each drop with its stage and reason. */
export class Drops {
  /** The live counts; read at scrape time. */
  readonly counts: DropCounts = {
    malformed: 0,
    oversized: 0,
    too_deep: 0,
    unparsable: 0,
    worker_crashed: 0,
    channel_full: 0,
    store_error: 0,
    not_owner: 0,
  };
  /** When each throttled log key last wrote a line, and the drops it has not logged since. */
  readonly #throttled = new Map<string, { loggedAtMs: number; unlogged: number }>();
  readonly #log = logger();

  /**
   * Counts `events` dropped for `reason` and logs `msg` at `level` with the stage, the reason and `fields`.
   *
   * @example
   * ```ts
   * drops.record("channel_full", 1, "event dropped: fan-in channel full", { cluster: "prod-east" });
   * ```
   */
  record(
    reason: DropReason,
    events: number,
    msg: string,
    fields: Record<string, unknown> = {},
    level: "warn" | "error" = "error",
  ): void {
    this.counts[reason] += events;
    this.#log[level](msg, { stage: DROP_REASONS[reason], reason, ...fields });
  }

  /**
   * Counts like {@link record}, but logs at most one line per `key` (e.g. cluster and reason) per
   * `intervalMs`; that line carries `dropped_since_last_log`, the drops counted since the previous one.
   * A hostile server cannot flood the log.
   */
  recordThrottled(
    key: string,
    reason: DropReason,
    events: number,
    msg: string,
    fields: Record<string, unknown> = {},
    nowMs: number = Date.now(),
    intervalMs: number = DROP_LOG_INTERVAL_MS,
  ): void {
    this.counts[reason] += events;
    const entry = this.#throttled.get(key);
    if (entry && nowMs - entry.loggedAtMs < intervalMs) {
      entry.unlogged += events;
      return;
    }
    const dropped = (entry?.unlogged ?? 0) + events;
    this.#throttled.set(key, { loggedAtMs: nowMs, unlogged: 0 });
    this.#log.warn(msg, { stage: DROP_REASONS[reason], reason, ...fields, dropped_since_last_log: dropped });
  }
}

/** Throttled drops (see {@link Drops.recordThrottled}) are logged once a minute per key at most. */
export const DROP_LOG_INTERVAL_MS = 60_000;
