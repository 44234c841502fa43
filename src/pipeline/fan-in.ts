/**
 * The fan-in stage: every worker's messages meet here. Status changes, subscription errors and polls go
 * to the registry (what health shows); events go into the bounded channel the sink drains; malformed
 * notifications and a full channel are counted as drops.
 */
import type { Registry } from "../cluster/registry.ts";
import type { FaultEvent } from "../events/fault.ts";
import { logger } from "../log.ts";
import { type DroppedMessage, decodeEventBatch, type WorkerToMain } from "../worker/protocol.ts";
import type { Backpressure } from "./backpressure.ts";
import type { Channel } from "./channel.ts";
import type { Drops } from "./stages.ts";

/** Events waiting between fan-in and the sink, at most; past it an event is refused (`channel_full`). */
export const CHANNEL_CAPACITY = 100_000;

/** What the fan-in stage writes to. */
export interface FanInTargets {
  registry: Registry;
  channel: Channel<FaultEvent>;
  backpressure: Backpressure;
  drops: Drops;
}

const log = logger({ stage: "fan-in" });

/** The log line of each drop a source reports. */
const DROP_MESSAGES: Record<DroppedMessage["reason"], string> = {
  malformed: "malformed notification dropped",
  oversized: "oversized notification dropped",
  too_deep: "notification nested too deep dropped",
  unparsable: "unparsable message dropped",
};

/**
 * Builds the handler for every message from every worker.
 *
 * @example
 * ```ts
 * const supervisor = new Supervisor({ ..., onMessage: fanIn({ registry, channel, backpressure, drops }) });
 * ```
 */
export function fanIn({
  registry,
  channel,
  backpressure,
  drops,
}: FanInTargets): (message: WorkerToMain) => void {
  return (message) => {
    switch (message.type) {
      case "status": {
        const previous = registry.applyStatus(message);
        if (previous === undefined) return;
        const fields = { cluster: message.cluster, status: message.status, previous, mode: message.mode };
        if (message.status === "failed") {
          log.warn("cluster status", { ...fields, error: message.error, retry_in_ms: message.retry_in_ms });
        } else log.info("cluster status", fields);
        return;
      }
      case "events":
        for (const event of decodeEventBatch(message)) {
          registry.recordEvent(event.cluster, event.received_at);
          if (channel.push(event)) continue;
          drops.record("channel_full", 1, "event dropped: fan-in channel full", {
            cluster: event.cluster,
            fault_id: event.fault_id,
            capacity: channel.capacity,
          });
        }
        backpressure.check();
        return;
      case "degraded":
        registry.recordSubscriptionError(message.cluster, message.error);
        log.warn("server reports its event watch failing", {
          cluster: message.cluster,
          error: message.error,
        });
        return;
      case "polled":
        if (message.error)
          log.warn("server cannot list events", { cluster: message.cluster, error: message.error });
        registry.recordPoll(message.cluster, message.at, message.error);
        return;
      case "subscription_checked":
        registry.recordSubscriptionCheck(message.cluster, message.at, message.resubscribed);
        return;
      case "dropped":
        // Logged once a minute per cluster and reason at most: a hostile server cannot flood the log.
        drops.recordThrottled(
          `${message.cluster}/${message.reason}`,
          message.reason,
          1,
          DROP_MESSAGES[message.reason],
          { cluster: message.cluster, detail: message.detail },
        );
        return;
      case "crashed":
        log.error("worker crashed", { error: message.error, clusters: Object.keys(message.held) });
        for (const [cluster, held] of Object.entries(message.held)) {
          if (held > 0) {
            drops.record("worker_crashed", held, "events lost: their worker crashed before sending them", {
              cluster,
              events: held,
              error: message.error,
            });
          }
        }
        return;
      case "stopped":
      case "removed":
      case "watched":
        return;
    }
  };
}
