/**
 * The sink stage: takes batches off the fan-in channel, routes them, and stores each batch in one
 * transaction **before** anything is dispatched for it (the ingest is awaited); then wakes the
 * dispatcher. One batch is stored at a time, in the order taken: the next is taken only once the
 * previous one's ingest has answered. Where the store has a journal (SQLite) every batch goes there
 * ({@link JOURNAL_LIMITS}): committed at once (durable), built into incidents later in bigger
 * transactions (a steady rate's every {@link JournalLimits.steadyBuildMs}, a burst's once it has passed
 * or too many wait), and dispatched only once built. While the store fails
 * (disk full, database locked…) the batch is kept, the event streams are held and the write is retried
 * with backoff: nothing accepted is dropped. Only when faultline stops does it give up on a batch
 * (counted and logged as `store_error`). A replica stores only the clusters it holds: events of a cluster
 * another replica took over are dropped (`not_owner`), the rest of their batch stored.
 */

import type { ClusterConfig } from "../config/types.ts";
import { describeResource, type FaultEvent } from "../events/fault.ts";
import { type IngestItem, type IngestResult, NotOwnerError } from "../incidents/model.ts";
import type { Awaitable, EventJournal, IncidentStore } from "../incidents/store-api.ts";
import { errorMessage, logEnabled, logger } from "../log.ts";
import { Backoff } from "../runtime/backoff.ts";
import { threadCollector } from "../runtime/quiet-collector.ts";
import { sleep } from "../runtime/sleep.ts";
import type { Backpressure } from "./backpressure.ts";
import type { Channel } from "./channel.ts";
import { routeBatch } from "./route.ts";
import type { Drops } from "./stages.ts";
import type { StoredMark } from "./stored-mark.ts";

/**
 * Events written to the store in one transaction, at most: a backlog commits in few, big transactions
 * (each commit rewrites the index pages it touched; measured in scripts/bench/store-bench.ts: 4096
 * stores ~1.3× the events per CPU second of 512). At low rates a batch is what is queued, far less.
 */
export const STORE_BATCH = 4096;

/**
 * How long after an event was received (its `received_at`, stamped by the worker) the sink waits for
 * more before it stores: at a low steady rate each event was otherwise its own transaction (~100 µs of
 * the main thread each). Counted from `received_at`, the worker's own wait (`EVENT_BATCH_MS`) is part
 * of it, and an event already late (the main thread was busy) waits for nothing: a bounded addition to
 * the fan-in latency, well inside its 10 ms p99 goal. Past {@link STORE_BATCH} events it stores at once.
 * Equal to `EVENT_BATCH_MS`: with one worker its batch arrives once this wait is over (no timer here);
 * with several, the batches of each that arrive within it share one commit.
 */
export const FAN_IN_LINGER_MS = 4;

/** When the sink builds what the journal holds ({@link JOURNAL_LIMITS}). */
export interface JournalLimits {
  /**
   * A burst: a batch of this many events or more, or this many per {@link FAN_IN_LINGER_MS} over the last
   * {@link JournalLimits.burstEndMs} (32: 8,000 events a second; a steady rate's batches are a few
   * events). While it lasts nothing is built, so that the burst is taken in at the journal's append
   * rate. Once a small batch is taken with the rate below it (or the channel has been empty for
   * {@link JournalLimits.quietMs}) the burst has passed, and what waits is built.
   */
  minBatch: number;
  /**
   * The window (ms) the intake rate is counted over. A lull inside a burst (the senders paused a few ms)
   * gives a small batch, and building then (up to 4096 events, ~0.1 s of the main thread) held the rest
   * of the burst back: the burst's batches in the window keep it a burst.
   */
  burstEndMs: number;
  /** Journaled events waiting to be built: past this many the sink builds before it takes more. */
  maxPending: number;
  /**
   * Their JSON text, summed (UTF-16 units, ~bytes): past this the sink builds before it takes more, so
   * that big events (up to `max_event_bytes` each) cannot hold more than about this much memory.
   */
  maxPendingChars: number;
  /** The channel empty this long (ms) and the journaled events are built: the burst (or a lone event) has passed. */
  quietMs: number;
  /**
   * At a steady rate (no burst: {@link JournalLimits.minBatch}) the journaled events are built once
   * the oldest has waited this long (ms), or once {@link JournalLimits.steadyBuildEvents} wait: that many
   * milliseconds of appends become incidents in one transaction. Measured: recording a steady rate's
   * few events per transaction cost ~2× per event what a few dozen do (cold caches), and the fan-in
   * latency goal (send → committed, p99 ≤ 10 ms) leaves no room to wait longer before the commit; the
   * append is the commit, the build can wait. 100 ms (it was 50): at 1000 faults a second ~9 % less CPU
   * in the steady phase (4 pairs), a build holding the main thread ~2-3 ms, the fan-in p99 not told
   * apart; an incident is built ~56 ms after its fault was sent at p50 (~31 ms before). 200 ms
   * (seventeenth pass): ~9 % less CPU at 100 clusters, none told apart at 1000, the fan-in p99 ~0.6 ms
   * higher (alternated runs), where this machine's slow spells already bring it to 10 ms: not kept.
   * 400 ms held the main thread 8-10 ms.
   */
  steadyBuildMs: number;
  /**
   * At a steady rate, this many journaled events are built at once, however short the oldest's wait: a
   * build holds the main thread (~20 µs an event), so its size is bounded at every rate under a burst's,
   * not only at the bench's 1000 a second (where `steadyBuildMs` comes first, ~100 events). Measured
   * (docs/performance.md, seventeenth pass): at 4000 faults a second, builds of ~400 events (every
   * 100 ms) put the fan-in p99 at 11.3-14.9 ms; of 200 (every ~50 ms) at 9.3-9.7, for ~10 % more CPU.
   */
  steadyBuildEvents: number;
  /** However long a burst lasts, a journaled event waits at most about this long (ms) for its incident. */
  maxWaitMs: number;
}

/** The limits `faultline run` uses (a test may pass its own: {@link SinkContext.journalLimits}). */
export const JOURNAL_LIMITS: Readonly<JournalLimits> = {
  minBatch: 32,
  burstEndMs: 20,
  maxPending: 32_768,
  maxPendingChars: 64 * 1024 * 1024,
  quietMs: 10,
  steadyBuildMs: 100,
  steadyBuildEvents: 200,
  maxWaitMs: 5000,
};

/** First wait before retrying a failed store write; it doubles up to {@link STORE_RETRY_MAX_MS}. */
export const STORE_RETRY_INITIAL_MS = 500;
/** Longest wait between store write retries. */
export const STORE_RETRY_MAX_MS = 30_000;

/** What the sink reads from and writes to. */
export interface SinkContext {
  channel: Channel<FaultEvent>;
  /** The clusters to route by; a config reload changes it in place. */
  clusters: ReadonlyMap<string, ClusterConfig>;
  store: IncidentStore;
  backpressure: Backpressure;
  drops: Drops;
  /** Whether an agent is configured now (route: `no_agent` otherwise); read for every batch. */
  agentConfigured: () => boolean;
  /**
   * Called after each stored batch with what it recorded (in batch order): the dispatcher may have work;
   * the notifier only when incidents were opened (the one change at ingest that fills the outbox).
   */
  stored(results: readonly IngestResult[]): void;
  /** Aborted when faultline stops: store retries give up. */
  stopping: AbortSignal;
  /** Advanced by each batch once stored (or given up on): what a hand-over waits for. */
  mark?: StoredMark;
  /** When to journal and build ({@link JOURNAL_LIMITS} unless given). */
  journalLimits?: Readonly<JournalLimits>;
}

const log = logger({ stage: "sink" });

/**
 * The main loop: runs until the channel is closed and drained.
 *
 * @example
 * ```ts
 * const done = runSink({ channel, clusters, store, backpressure, drops, agentConfigured: () => true, stored, stopping });
 * channel.close(); await done;
 * ```
 */
export async function runSink(context: SinkContext): Promise<void> {
  const { channel, clusters, drops, agentConfigured } = context;
  const journal = context.store.journal;
  const linger = { until: lingerUntil, maxMs: FAN_IN_LINGER_MS };
  const next = () => channel.take(STORE_BATCH, { gather: true, linger });
  const limits = context.journalLimits ?? JOURNAL_LIMITS;
  // Fewer events than a burst's rate over the last burstEndMs: no burst is going on.
  const intake = new IntakeRate(limits.burstEndMs, limits.minBatch);
  let steady = true;
  // False once a build gave up (faultline stopping while the store fails): the rest stays journaled.
  let building = true;
  // Where the store has a journal every batch is appended there (built later); otherwise ingested.
  const write =
    journal === undefined
      ? (some: IngestItem[]) => context.store.ingest(some)
      : (some: IngestItem[]) => {
          journal.append(some);
          return [];
        };
  for (;;) {
    const due =
      journal !== undefined &&
      building &&
      journal.pending > 0 &&
      (await journalBuildDue(journal, channel, limits, steady));
    if (due) {
      building = await buildJournaled(journal, context);
      continue;
    }
    const batch = await next();
    if (batch.length === 0) break;
    const items = routeBatch(batch, clusters, agentConfigured());
    steady = !intake.took(items.length, performance.now());
    const stored = await storeBatch(items, context, write);
    context.mark?.advance(batch.length);
    if (!stored.ok) {
      // Only what was still to store: events dropped as not_owner on the way are counted there.
      drops.record("store_error", stored.events, "events not stored: faultline is stopping", {
        events: stored.events,
        error: stored.error,
      });
      continue;
    }
    if (journal === undefined) afterStored(stored.results, context);
    else threadCollector.activity(); // built, and handed on, later
    context.backpressure.check();
  }
  // Closed and drained: what the journal holds is built now (or, should that fail, at the next start).
  while (journal !== undefined && building && journal.pending > 0) {
    building = await buildJournaled(journal, context);
  }
}

/** After a batch was recorded as incidents: its log lines, and the dispatcher and notifier told. */
function afterStored(results: readonly IngestResult[], context: SinkContext): void {
  // Its lines are info and debug: at warn (or above) none is written, and none is built.
  if (logEnabled("info")) for (const result of results) logIngested(result);
  context.stored(results);
  threadCollector.activity();
}

/**
 * Whether the journal's events are built now ({@link JournalLimits}): when too many wait (`maxPending`
 * events or `maxPendingChars`) or the oldest has waited `maxWaitMs`; at a `steady` rate (no burst going
 * on) once the oldest has waited `steadyBuildMs` or `steadyBuildEvents` wait; or once the channel has
 * been empty for `quietMs` (or, at a steady rate, until `steadyBuildMs` is reached, if sooner). False as
 * soon as events arrive first (the next batch tells whether a burst goes on), or the channel closes (the
 * loop then drains it and builds what is left).
 *
 * @example
 * ```ts
 * if (await journalBuildDue(store.journal, channel, JOURNAL_LIMITS, true)) store.journal.build(STORE_BATCH);
 * ```
 */
export async function journalBuildDue(
  journal: Pick<EventJournal, "pending" | "pendingChars" | "oldestWaitMs">,
  channel: Channel<FaultEvent>,
  limits: Readonly<JournalLimits>,
  steady: boolean,
): Promise<boolean> {
  if (journal.pending >= limits.maxPending || journal.pendingChars >= limits.maxPendingChars) return true;
  const waited = journal.oldestWaitMs();
  if (waited >= limits.maxWaitMs) return true;
  if (steady && (waited >= limits.steadyBuildMs || journal.pending >= limits.steadyBuildEvents)) return true;
  if (channel.size > 0) return false;
  const wait = steady ? Math.min(limits.quietMs, limits.steadyBuildMs - waited) : limits.quietMs;
  return !(await channel.waitForItem(wait));
}

/**
 * The batches the sink takes, and whether they are a burst's ({@link JournalLimits.minBatch}): a batch of
 * `minBatch` events or more, or `minBatch` per {@link FAN_IN_LINGER_MS} over the last `windowMs`.
 *
 * @example
 * ```ts
 * const intake = new IntakeRate(20, 32); // a burst: a batch of 32, or 160 events in 20 ms
 * intake.took(400, 0); // true
 * intake.took(1, 10); // true: a lull inside the burst (the 400 are in the window)
 * intake.took(1, 25); // false: the burst has passed
 * ```
 */
export class IntakeRate {
  readonly #windowMs: number;
  readonly #minBatch: number;
  readonly #burstEvents: number;
  readonly #taken: { at: number; events: number }[] = [];
  #inWindow = 0;

  constructor(windowMs: number, minBatch: number) {
    this.#windowMs = windowMs;
    this.#minBatch = minBatch;
    this.#burstEvents = (minBatch * windowMs) / FAN_IN_LINGER_MS;
  }

  /** Counts a batch of `events` taken at `now` (ms, not decreasing); true when it is a burst's. */
  took(events: number, now: number): boolean {
    this.#taken.push({ at: now, events });
    this.#inWindow += events;
    while (this.#taken.length > 0 && (this.#taken[0]?.at ?? now) <= now - this.#windowMs) {
      this.#inWindow -= this.#taken.shift()?.events ?? 0;
    }
    return events >= this.#minBatch || this.#inWindow >= this.#burstEvents;
  }
}

/** Until when the sink waits for company for `first` (see {@link FAN_IN_LINGER_MS}); NaN (no wait) when unparsable. */
function lingerUntil(first: FaultEvent): number {
  return Date.parse(first.received_at) + FAN_IN_LINGER_MS;
}

/** A batch written, or given up on (`events` of it left) because faultline stopped while the store failed. */
type StoreAttempt = { ok: true; results: IngestResult[] } | { ok: false; error: string; events: number };

/**
 * Stores one batch with `write` (an ingest, or an append to the journal), retrying with backoff while the
 * store fails, until faultline stops. A replica's store refusing clusters this replica no longer holds
 * ({@link NotOwnerError}) stored nothing: their events are dropped (`not_owner`: their new owner's
 * backfill lists them) and the rest stored at once.
 */
async function storeBatch(
  batch: IngestItem[],
  context: SinkContext,
  write: (items: IngestItem[]) => Awaitable<IngestResult[]>,
): Promise<StoreAttempt> {
  let items = batch;
  const retry = new StoreRetry(context);
  while (items.length > 0) {
    try {
      const results = await write(items);
      retry.succeeded(items.length);
      return { ok: true, results };
    } catch (error) {
      if (error instanceof NotOwnerError) {
        const kept = dropNotOwned(items, error.clusters, context.drops);
        if (kept.length < items.length) {
          items = kept; // not a failure: the rest is stored at once
          continue;
        }
      }
      if (!(await retry.failed(error, items.length)))
        return { ok: false, error: errorMessage(error), events: items.length };
    }
  }
  return { ok: true, results: [] }; // every event dropped as not_owner
}

/**
 * Builds the journal's oldest events ({@link STORE_BATCH} at most), retrying with backoff while the
 * store fails, as {@link storeBatch} does. False when faultline stopped first: they stay in the
 * journal, and the next start builds them.
 */
async function buildJournaled(journal: EventJournal, context: SinkContext): Promise<boolean> {
  const retry = new StoreRetry(context);
  for (;;) {
    try {
      const results = journal.build(STORE_BATCH);
      retry.succeeded(results.length);
      afterStored(results, context);
      context.backpressure.check();
      return true;
    } catch (error) {
      if (!(await retry.failed(error, journal.pending))) {
        log.warn("journaled events left to build at the next start: faultline is stopping", {
          events: journal.pending,
          error: errorMessage(error),
        });
        return false;
      }
    }
  }
}

/** One write's retries: the backoff, the streams held meanwhile, and the lines logged. */
class StoreRetry {
  readonly #context: SinkContext;
  #backoff: Backoff | null = null; // made on the first failure: a write that succeeds at once needs none
  #failures = 0;

  constructor(context: SinkContext) {
    this.#context = context;
  }

  succeeded(events: number): void {
    if (this.#failures > 0)
      log.info("events stored after retrying", { events, attempts: this.#failures + 1 });
  }

  /** After a failure: waits for the next attempt (holding the streams); false when faultline is stopping. */
  async failed(error: unknown, events: number): Promise<boolean> {
    if (this.#context.stopping.aborted) return false;
    this.#failures++;
    this.#backoff ??= new Backoff(STORE_RETRY_INITIAL_MS, STORE_RETRY_MAX_MS);
    const delay = this.#backoff.next();
    this.#context.backpressure.hold();
    log.error("events not stored yet: holding event streams, retrying", {
      events,
      attempt: this.#failures,
      retry_in_ms: delay,
      error: errorMessage(error),
    });
    await sleep(delay, this.#context.stopping);
    return true;
  }
}

/** The items of clusters not in `lost`; the others counted and logged as `not_owner`, per cluster. */
function dropNotOwned(items: IngestItem[], lost: readonly string[], drops: Drops): IngestItem[] {
  const gone = new Set(lost);
  const dropped = new Map<string, number>();
  const kept: IngestItem[] = [];
  for (const item of items) {
    const { cluster } = item.event;
    if (gone.has(cluster)) dropped.set(cluster, (dropped.get(cluster) ?? 0) + 1);
    else kept.push(item);
  }
  for (const [cluster, events] of dropped) {
    drops.record(
      "not_owner",
      events,
      "events not stored: another replica holds their cluster now; its backfill lists them",
      { cluster, events },
      "warn",
    );
  }
  return kept;
}

function logIngested({ incident, created, queued }: IngestResult): void {
  const fields = {
    cluster: incident.cluster,
    incident_id: incident.id,
    fault_id: incident.fault_id,
    fault_type: incident.fault_type,
    severity: incident.severity,
    resource: describeResource(incident.resource),
  };
  if (created && incident.status === "skipped") {
    log.info("incident recorded, not triaged", { ...fields, reason: incident.skip_reason });
  } else if (created || queued) log.info("incident queued for triage", fields);
  else log.debug("repeat joined incident", { ...fields, count: incident.count, status: incident.status });
}
