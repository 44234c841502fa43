/** A sink context for pipeline tests: one cluster (`prod-eu`), no agent, backpressure that tells no one. */
import type { FaultEvent } from "../../src/events/fault.ts";
import type { IncidentStore } from "../../src/incidents/store-api.ts";
import { Backpressure } from "../../src/pipeline/backpressure.ts";
import type { Channel } from "../../src/pipeline/channel.ts";
import type { SinkContext } from "../../src/pipeline/sink.ts";
import { Drops } from "../../src/pipeline/stages.ts";
import { clusterConfig } from "./cluster.ts";

/**
 * What `runSink` needs around `channel` and `store`; `overrides` replace any part (e.g. `stored`, `mark`).
 *
 * @example
 * ```ts
 * const sink = runSink(sinkContext(channel, store, { stopping: stopping.signal }));
 * ```
 */
export function sinkContext(
  channel: Channel<FaultEvent>,
  store: IncidentStore,
  overrides: Partial<SinkContext> & Pick<SinkContext, "stopping">,
): SinkContext {
  return {
    channel,
    clusters: new Map([["prod-eu", clusterConfig("prod-eu")]]),
    store,
    backpressure: new Backpressure(
      () => channel.size,
      () => {},
    ),
    drops: new Drops(),
    agentConfigured: () => false,
    stored: () => {},
    ...overrides,
  };
}
