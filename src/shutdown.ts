/**
 * The order a running faultline stops in (src/app.ts builds the stages): hand the replica's clusters
 * and sinks over (they move at once; its agent runs stay its own), close every session, store what is in flight, let running agents
 * finish for the grace, leave the replica fleet, stop delivering notifications and serving HTTP, then close the store and
 * release the state_dir lock.
 */
import { logger } from "./log.ts";

const log = logger();

/** Something that stops (and resolves once stopped). */
interface Stops {
  stop(): Promise<void> | void;
}

/** The running stages, as {@link stopInOrder} stops them. */
export interface RunningStages {
  /**
   * The replica (null: HA off): `handOver` moves its clusters and sinks at once; `stop`, once its agent
   * runs are over and recorded, lets the others settle what is left.
   */
  replica: (Stops & { handOver(): Promise<void> }) | null;
  supervisor: Stops;
  liveness: Stops;
  /** The channel into the sink: closed once the workers stopped. */
  channel: { close(): void };
  /** Aborted with the channel closed: the sink ends once it stored what it holds. */
  stopping: AbortController;
  sink: Promise<void>;
  triage: { stop(graceMs: number): Promise<void> };
  notifications: Stops;
  http: Stops | null;
  retention: Stops;
  store: { close(): Promise<void> | void };
  lock: { release(): void };
  /** `/readyz` and `/livez` read these. */
  lifecycle: { stopping: boolean; storeOpen: boolean };
}

/**
 * The running faultline's `stop(graceMs)`: stops `stages` in order, once (later calls share the first).
 *
 * @example
 * ```ts
 * const stop = stopInOrder(stages, () => config.shutdown_timeout_seconds * 1000);
 * await stop();
 * ```
 */
export function stopInOrder(
  stages: RunningStages,
  defaultGraceMs: () => number,
): (graceMs?: number) => Promise<void> {
  let stopped: Promise<void> | null = null;
  return (graceMs = defaultGraceMs()) => {
    stopped ??= (async () => {
      log.info("stopping");
      stages.lifecycle.stopping = true;
      await stages.replica?.handOver();
      await stages.supervisor.stop();
      await stages.liveness.stop();
      stages.channel.close();
      stages.stopping.abort();
      await stages.sink;
      await stages.triage.stop(graceMs);
      await stages.replica?.stop();
      await stages.notifications.stop();
      await stages.http?.stop();
      await stages.retention.stop();
      stages.lifecycle.storeOpen = false;
      await stages.store.close();
      stages.lock.release();
      log.info("stopped");
    })();
    return stopped;
  };
}
