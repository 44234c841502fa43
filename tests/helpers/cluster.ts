/** A resolved cluster config for pipeline tests (routing reads `triage` and `severity_threshold`). */
import type { ClusterConfig } from "../../src/config/types.ts";

/**
 * The cluster `name` as the config resolves it, triaged at every severity, its endpoint a closed
 * loopback port (the pipeline tests never connect).
 *
 * @example
 * ```ts
 * const clusters = new Map([["prod-eu", clusterConfig("prod-eu")]]);
 * ```
 */
export function clusterConfig(name: string, overrides: Partial<ClusterConfig> = {}): ClusterConfig {
  return {
    name,
    mcp_endpoint: "http://127.0.0.1:1/mcp",
    kubeconfig: "/nonexistent/kubeconfig",
    enabled: true,
    labels: {},
    severity_threshold: "info",
    triage: true,
    ...overrides,
  };
}
