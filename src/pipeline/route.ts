/**
 * The route stage: decides whether a fault gets a triage agent, and if not, why.
 */
import type { ClusterConfig } from "../config/types.ts";
import { type FaultEvent, meetsThreshold } from "../events/fault.ts";
import type { IngestItem, RouteDecision } from "../incidents/model.ts";

/** Triage when the cluster allows it, an agent is configured and the severity meets the cluster's threshold. */
export function route(event: FaultEvent, cluster: ClusterConfig, agentConfigured: boolean): RouteDecision {
  if (!cluster.triage) return { action: "skip", reason: "triage_disabled" };
  if (!meetsThreshold(event.severity, cluster.severity_threshold)) {
    return { action: "skip", reason: "below_threshold" };
  }
  if (!agentConfigured) return { action: "skip", reason: "no_agent" };
  return { action: "triage" };
}

/**
 * Routes a batch taken off the channel. An event of a cluster not in `clusters` cannot occur (workers
 * only run configured clusters) and is left out.
 */
export function routeBatch(
  batch: readonly FaultEvent[],
  clusters: ReadonlyMap<string, ClusterConfig>,
  agentConfigured: boolean,
): IngestItem[] {
  const routed: IngestItem[] = [];
  for (const event of batch) {
    const cluster = clusters.get(event.cluster);
    if (cluster) routed.push({ event, decision: route(event, cluster, agentConfigured) });
  }
  return routed;
}
