/**
 * The restart gap, main-thread side. Workers report when each connection was last alive and on which
 * session (`alive` messages); {@link LivenessRecorder} keeps the latest per cluster and writes them to
 * the store in one transaction every few seconds (never per ping or per event), and once more at
 * shutdown. On the next start {@link resumeStates} turns what was stored into each connection's
 * {@link ClusterResume}: backfill the gap, end the session that died with the previous process.
 */
import type { FaultEvent } from "../events/fault.ts";
import { describeResource } from "../events/fault.ts";
import type { ClusterLiveness } from "../incidents/model.ts";
import type { MaintenanceStore } from "../incidents/store-api.ts";
import { errorMessage, logger } from "../log.ts";
import type { AliveMessage, ClusterResume, WorkerToMain } from "../worker/protocol.ts";

/** How often the latest liveness reports are written. */
export const LIVENESS_FLUSH_MS = 5000;

/**
 * A report of a new session (or of a session closed) is written within this long, not at the next
 * {@link LIVENESS_FLUSH_MS}: whoever takes the cluster over after a crash (a replica, or this faultline
 * restarted) must find the session to end it, or its subscription lives on the server until the server
 * expires it. Reports in that window share one write. A crash inside the window still leaves the session.
 */
export const SESSION_FLUSH_MS = 100;

/**
 * Stored faults (the newest event of each incident) looked at per cluster to skip, in the backfill, what
 * is already stored. Past it, after a storm of more distinct faults than this in the backfill's window,
 * the oldest of them may be listed again and counted as a repeat of their incident (never a second one).
 */
const SEEN_LIMIT = 4096;

/** Stored faults received this long before the recorded last-alive moment still count as stored (reports lag). */
const SEEN_SLACK_MS = 60_000;

/**
 * The backfill starts this long before the recorded last-alive moment. A report can run ahead of what is
 * committed: events received just before it may still be in the channel or the sink's transaction when
 * the process dies (a SIGKILL, a replica's pod lost). `seen` skips, per object, what is already stored,
 * so the overlap costs one longer listing, never a second incident.
 */
export const BACKFILL_OVERLAP_MS = 10_000;

const log = logger({ component: "liveness" });

/** The store's side the recorder needs (the incident store, or a fake in tests). */
export type LivenessStore = Pick<MaintenanceStore, "recordLiveness">;

/**
 * Keeps the latest `alive` report per cluster and writes them in batches: every `flushMs`, and within
 * `sessionFlushMs` of a report whose session differs from the cluster's previous one.
 */
export class LivenessRecorder {
  readonly #store: LivenessStore;
  readonly #pending = new Map<string, ClusterLiveness>();
  /** Each cluster's session in its latest report (null: closed cleanly). */
  readonly #sessions = new Map<string, string | null>();
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #sessionFlushMs: number;
  #soon: ReturnType<typeof setTimeout> | null = null;
  /** The write in progress, if any: writes go one at a time, in order. */
  #writing: Promise<void> = Promise.resolve();

  /** Starts writing every `flushMs` (and within `sessionFlushMs` of a session change). */
  constructor(store: LivenessStore, flushMs = LIVENESS_FLUSH_MS, sessionFlushMs = SESSION_FLUSH_MS) {
    this.#store = store;
    this.#sessionFlushMs = sessionFlushMs;
    this.#timer = setInterval(() => void this.flush(), flushMs);
    this.#timer.unref?.();
  }

  /** Notes a worker's report (the latest per cluster wins); a changed session is written soon. */
  record(message: AliveMessage): void {
    const at = Date.parse(message.at);
    if (!Number.isFinite(at)) return;
    this.#pending.set(message.cluster, {
      cluster: message.cluster,
      last_alive_ms: at,
      session_id: message.session_id,
    });
    if (this.#sessions.get(message.cluster) === message.session_id) return;
    this.#sessions.set(message.cluster, message.session_id);
    this.#soon ??= setTimeout(() => {
      this.#soon = null;
      void this.flush();
    }, this.#sessionFlushMs);
  }

  /**
   * Writes what was reported since the last write (one transaction), after any write still in
   * progress; kept for the next try on failure. Never rejects.
   */
  flush(): Promise<void> {
    this.#writing = this.#writing.then(() => this.#write());
    return this.#writing;
  }

  async #write(): Promise<void> {
    if (this.#pending.size === 0) return;
    const batch = [...this.#pending.values()];
    try {
      await this.#store.recordLiveness(batch);
      for (const report of batch) {
        if (this.#pending.get(report.cluster) === report) this.#pending.delete(report.cluster);
      }
    } catch (error) {
      log.warn("cannot record cluster liveness; retrying later", { error: errorMessage(error) });
    }
  }

  /** Stops the timers and writes what is left (call once the workers have stopped). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    if (this.#soon) clearTimeout(this.#soon);
    this.#soon = null;
    await this.flush();
  }
}

/**
 * A worker-message handler that takes the batched `alive` reports (`alives`) to `recorder` and passes
 * everything else on.
 *
 * @example
 * ```ts
 * new Supervisor({ ..., onMessage: withLiveness(recorder, fanIn({ ... })) });
 * ```
 */
export function withLiveness(
  recorder: LivenessRecorder,
  next: (message: WorkerToMain) => void,
): (message: WorkerToMain) => void {
  return (message) => {
    if (message.type === "alives") for (const report of message.reports) recorder.record(report);
    else next(message);
  };
}

/**
 * Per cluster (or only `names`), where it was left (by a previous faultline, or by another replica that
 * held it), for the connections to resume: at start-up for every cluster, and for a replica taking
 * clusters over.
 *
 * @example
 * ```ts
 * supervisor.add(configs, undefined, await resumeStates(store.maintenance, new Set(["prod-east"])));
 * ```
 */
export async function resumeStates(
  store: Pick<MaintenanceStore, "liveness" | "recentEvents">,
  names?: ReadonlySet<string>,
): Promise<Map<string, ClusterResume>> {
  const states = new Map<string, ClusterResume>();
  for (const row of await store.liveness()) {
    if (names && !names.has(row.cluster)) continue;
    const recent = await store.recentEvents(row.cluster, row.last_alive_ms - SEEN_SLACK_MS, SEEN_LIMIT);
    states.set(row.cluster, resumeOf(row, recent));
  }
  return states;
}

/** A connection's resume from its stored liveness and the faults stored since shortly before it. */
function resumeOf(row: ClusterLiveness, recent: readonly FaultEvent[]): ClusterResume {
  return {
    since: new Date(row.last_alive_ms - BACKFILL_OVERLAP_MS).toISOString(),
    last_alive: new Date(row.last_alive_ms).toISOString(),
    session_id: row.session_id,
    seen: latestPerObject(recent),
  };
}

/** Per object (`kind/namespace/name`), the time of its newest fault. */
function latestPerObject(events: readonly FaultEvent[]): Array<[string, number]> {
  const seen = new Map<string, number>();
  for (const event of events) {
    const at = Date.parse(event.timestamp);
    if (!Number.isFinite(at)) continue;
    const key = describeResource(event.resource);
    seen.set(key, Math.max(seen.get(key) ?? 0, at));
  }
  return [...seen];
}
