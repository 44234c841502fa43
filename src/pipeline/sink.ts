/**
 * The sink stage: takes batches off the fan-in channel, routes them, and stores each batch in one
 * transaction **before** anything is dispatched for it (the ingest is awaited); then wakes the
 * dispatcher. One batch is stored at a time, in the order taken: the next is taken only once the
 * previous one's ingest has answered. While the store fails
 * (disk full, database locked…) the batch is kept, the event streams are held and the write is retried
 * with backoff: nothing accepted is dropped. Only when faultline stops does it give up on a batch
 * (counted and logged as `store_error`). A replica stores only the clusters it holds: events of a cluster
 * another replica took over are dropped (`not_owner`), the rest of their batch stored.
 */

import type { ClusterConfig } from "../config/types.ts";
import { describeResource, type FaultEvent } from "../events/fault.ts";
import { type IngestItem, type IngestResult, NotOwnerError } from "../incidents/model.ts";
import type { IncidentStore } from "../incidents/store-api.ts";
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
  const linger = { until: lingerUntil, maxMs: FAN_IN_LINGER_MS };
  const next = () => channel.take(STORE_BATCH, { gather: true, linger });
  for (let batch = await next(); batch.length > 0; batch = await next()) {
    const items = routeBatch(batch, clusters, agentConfigured());
    const stored = await storeBatch(items, context);
    context.mark?.advance(batch.length);
    if (!stored.ok) {
      // Only what was still to store: events dropped as not_owner on the way are counted there.
      drops.record("store_error", stored.events, "events not stored: faultline is stopping", {
        events: stored.events,
        error: stored.error,
      });
      continue;
    }
    // Its lines are info and debug: at warn (or above) none is written, and none is built.
    if (logEnabled("info")) for (const result of stored.results) logIngested(result);
    context.stored(stored.results);
    context.backpressure.check();
    threadCollector.activity();
  }
}

/** Until when the sink waits for company for `first` (see {@link FAN_IN_LINGER_MS}); NaN (no wait) when unparsable. */
function lingerUntil(first: FaultEvent): number {
  return Date.parse(first.received_at) + FAN_IN_LINGER_MS;
}

/** A batch written, or given up on (`events` of it left) because faultline stopped while the store failed. */
type StoreAttempt = { ok: true; results: IngestResult[] } | { ok: false; error: string; events: number };

/**
 * Stores one batch, retrying with backoff while the store fails, until faultline stops. A replica's
 * store refusing clusters this replica no longer holds ({@link NotOwnerError}) stored nothing: their
 * events are dropped (`not_owner`: their new owner's backfill lists them) and the rest stored at once.
 */
async function storeBatch(batch: IngestItem[], context: SinkContext): Promise<StoreAttempt> {
  let items = batch;
  let backoff: Backoff | null = null; // made on the first failure: a batch that stores at once needs none
  let failures = 0;
  while (items.length > 0) {
    try {
      const results = await context.store.ingest(items);
      if (failures > 0)
        log.info("events stored after retrying", { events: items.length, attempts: failures + 1 });
      return { ok: true, results };
    } catch (error) {
      if (error instanceof NotOwnerError) {
        const kept = dropNotOwned(items, error.clusters, context.drops);
        if (kept.length < items.length) {
          items = kept; // not a failure: the rest is stored at once
          continue;
        }
      }
      if (context.stopping.aborted) return { ok: false, error: errorMessage(error), events: items.length };
      failures++;
      backoff ??= new Backoff(STORE_RETRY_INITIAL_MS, STORE_RETRY_MAX_MS);
      const delay = backoff.next();
      context.backpressure.hold();
      log.error("events not stored yet: holding event streams, retrying", {
        events: items.length,
        attempt: failures,
        retry_in_ms: delay,
        error: errorMessage(error),
      });
      await sleep(delay, context.stopping);
    }
  }
  return { ok: true, results: [] }; // every event dropped as not_owner
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
