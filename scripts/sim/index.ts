/**
 * Simulator of kubernetes-mcp-server instances with the events extension (see /work/shared/PROTOCOL.md §1),
 * and of the stock server without it (§2).
 *
 * Every simulated cluster gets its own HTTP listener on loopback serving MCP Streamable HTTP at `/mcp`, so a
 * cluster that is "down" refuses connections for real. Faults are injected through the library API or the
 * optional control HTTP API and pushed as `notifications/message` on each session's standalone SSE stream.
 *
 * Library: `startSimulator({ clusters: 3 })`. CLI: `bun scripts/sim.ts --clusters 3 --control-port 9090`.
 *
 * Modules: `types.ts` (public types, loggers, limits), `faults.ts` (fault profiles and payload shapes),
 * `event-log.ts` (`events_list`), `subscriptions.ts` (filters), `tools.ts` (MCP tools), `wire.ts` (MCP wire
 * details), `session.ts` (one MCP session), `cluster.ts` (one simulated server), `control.ts` (control HTTP
 * API), `simulator.ts` (`startSimulator`), `cli.ts` (command line).
 *
 * @example
 * ```ts
 * import { startSimulator } from "./scripts/sim/index.ts";
 * const sim = await startSimulator({ clusters: ["a", "b"], controlPort: 0 });
 * sim.inject("a", { faultType: "CrashLoop", namespace: "shop" });
 * await sim.stop();
 * ```
 */
export { apiVersionOf, CLUSTER_SCOPED_KINDS } from "./faults.ts";
export type { Hostile } from "./hostile.ts";
export { startSimulator } from "./simulator.ts";
export {
  EVENT_LOGGER,
  FAULT_LOGGER,
  type SimClusterInfo,
  type SimClusterOptions,
  type SimClusterStats,
  type SimFault,
  type SimFaultShape,
  type SimSeverity,
  type Simulator,
  type SimulatorOptions,
  SUBSCRIPTION_ERROR_LOGGER,
  SUBSCRIPTIONS_PER_SERVER,
  SUBSCRIPTIONS_PER_SESSION,
} from "./types.ts";
