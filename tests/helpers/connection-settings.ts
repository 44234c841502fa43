/** Connection settings for tests that run cluster connections against the simulator. */
import type { ConnectionSettings } from "../../src/worker/protocol.ts";

/**
 * Fast reconnects and quiet logs, push mode (`faults`); `ping` and `connect_concurrency` as given.
 *
 * @example
 * ```ts
 * const settings = connectionSettings({ interval_seconds: 0.1, timeout_seconds: 5 }, 4);
 * ```
 */
export function connectionSettings(
  ping: ConnectionSettings["ping"],
  connectConcurrency: number,
): ConnectionSettings {
  return {
    subscribe: { mode: "faults", poll_interval_seconds: 15 },
    reconnect: { initial_seconds: 0.05, max_seconds: 0.2 },
    ping,
    log_level: "error",
    connect_concurrency: connectConcurrency,
  };
}
