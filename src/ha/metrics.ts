/**
 * The replica's own metrics (with `replica="<name>"` like every series when HA is on):
 * `faultline_ha_replicas_live`, `faultline_ha_clusters_owned`, `faultline_ha_sinks_owned`,
 * `faultline_ha_fenced` and `faultline_ha_handovers_total{direction="taken"|"released"}`.
 */
import { Counter, Gauge, type Registry as PromRegistry } from "prom-client";
import type { CoordinatorState } from "./coordinator.ts";

/**
 * Registers the HA metrics on `prom`, read from `state` when scraped.
 *
 * @example
 * ```ts
 * metrics.forReplica(replica, (prom) => registerHaMetrics(prom, () => coordinator.state));
 * ```
 */
export function registerHaMetrics(prom: PromRegistry, state: () => CoordinatorState): void {
  const registers = [prom];
  const gauge = (name: string, help: string, read: (s: CoordinatorState) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read(state()));
      },
    });
  gauge(
    "faultline_ha_replicas_live",
    "Replicas whose heartbeat is within the lease, as this one last read.",
    (s) => s.live.length,
  );
  gauge(
    "faultline_ha_clusters_owned",
    "Clusters this replica holds (subscribes to) now.",
    (s) => s.clusters.size,
  );
  gauge("faultline_ha_sinks_owned", "Notification sinks this replica delivers now.", (s) => s.sinks.size);
  gauge(
    "faultline_ha_fenced",
    "1 while this replica is fenced (no heartbeat within the lease), else 0.",
    (s) => (s.fenced ? 1 : 0),
  );
  new Counter({
    name: "faultline_ha_handovers_total",
    help: "Clusters this replica took over (taken) or gave up (released) since start.",
    labelNames: ["direction"],
    registers,
    collect() {
      this.reset();
      const { handovers } = state();
      this.inc({ direction: "taken" }, handovers.taken);
      this.inc({ direction: "released" }, handovers.released);
    },
  });
}
