/**
 * `faultline_cluster_info{cluster, label_<key>...}`: one series per configured cluster with its
 * configured labels, value 1, for joins (`faultline_cluster_up * on (cluster) group_left (label_region)
 * faultline_cluster_info`). Label keys become `label_<key>` with every character Prometheus does not
 * allow replaced by `_`, so a configured label can never clash with `cluster` or a reserved `__` name.
 * The label set differs per cluster and changes on reload, so this is a custom collector, not a Gauge.
 */
import type { Registry as PromRegistry } from "prom-client";
import type { Registry } from "../cluster/registry.ts";

/** The metric's name. */
export const CLUSTER_INFO = "faultline_cluster_info";

/** A configured label key as a Prometheus label name: `label_` + the key with `[^a-zA-Z0-9_]` → `_`. */
export function infoLabelName(key: string): string {
  return `label_${key.replace(/[^a-zA-Z0-9_]/g, "_")}`;
}

/** Registers the collector on `prom`, reading `registry` at scrape time. */
export function registerClusterInfo(prom: PromRegistry, registry: Registry): void {
  const help = "Always 1; the cluster's configured labels as label_<key> labels.";
  const metric = {
    name: CLUSTER_INFO,
    help,
    type: "gauge",
    aggregator: "first",
    get: async () => ({
      name: CLUSTER_INFO,
      help,
      type: "gauge",
      aggregator: "first",
      values: registry.list().map((cluster) => {
        const labels: Record<string, string> = {};
        for (const [key, value] of Object.entries(cluster.labels)) labels[infoLabelName(key)] = value;
        return { value: 1, labels: { ...labels, cluster: cluster.name } };
      }),
    }),
    reset: () => {},
  };
  prom.registerMetric(metric as unknown as Parameters<PromRegistry["registerMetric"]>[0]);
}
