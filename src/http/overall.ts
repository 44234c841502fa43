/** The overall status of faultline's connections, from the per-cluster states (`GET /health`, the status page). */
import type { ClusterState } from "../cluster/registry.ts";

/**
 * `ok`: every enabled cluster active and receiving; `down`: none active; `degraded`: in between, or an
 * active cluster's server reports its watch (or listing) failing, so it receives nothing.
 */
export type OverallStatus = "ok" | "degraded" | "down";

/** Overall status from the per-cluster states (disabled clusters do not count). */
export function overallStatus(clusters: readonly ClusterState[]): OverallStatus {
  const enabled = clusters.filter((c) => c.status !== "disabled");
  const active = enabled.filter((c) => c.status === "active").length;
  if (enabled.length > 0 && active === 0) return "down";
  if (active === enabled.length && !enabled.some((c) => c.subscription_error !== null)) return "ok";
  return "degraded";
}
