/**
 * Prints a `/metrics` exposition with every faultline series present (two clusters, one with labels,
 * drops, incidents, an agent run, a failed reload), for `promtool check metrics` in CI (.ci/run) and
 * tests/http/metrics.test.ts.
 *
 *   bun scripts/metrics-sample.ts | promtool check metrics
 */
import { Registry } from "../src/cluster/registry.ts";
import type { ClusterConfig } from "../src/config/types.ts";
import { FaultlineMetrics } from "../src/http/metrics.ts";

const cluster = (name: string, labels: Record<string, string>): ClusterConfig => ({
  name,
  mcp_endpoint: `http://127.0.0.1:9/${name}`,
  kubeconfig: "/k",
  enabled: true,
  labels,
  severity_threshold: "info",
  triage: true,
});

/** The sample exposition text. */
export async function sampleExposition(): Promise<string> {
  const registry = new Registry([
    cluster("prod-east", { region: "us-east", "app.kubernetes.io/team": "payments", cluster: "theirs" }),
    cluster("dev", {}),
  ]);
  registry.recordEvent("dev", "2026-11-25T03:15:05.000Z");
  const metrics = new FaultlineMetrics({
    registry,
    dropped: () => ({ malformed: 2 }),
    incidents: () => new Map([["dev", { queued: 1, succeeded: 3 }]]),
    skips: () => new Map([["dev", { queue_full: 1 }]]),
    agents: () => ({ running: 1, queued: 1 }),
    journalPending: () => 0,
    reload: () => ({ successful: false, lastSuccess: new Date(1_800_000_000_000) }),
  });
  metrics.observeAgentRun(1500, "succeeded");
  return metrics.text();
}

if (import.meta.main) process.stdout.write(await sampleExposition());
