/**
 * The validated, resolved configuration the rest of faultline trusts: every path absolute, every
 * default applied, per-cluster overrides folded in.
 */
import type { Severity } from "../events/fault.ts";
import type { LogLevel } from "../log.ts";

/** One cluster to watch. */
export interface ClusterConfig {
  name: string;
  mcp_endpoint: string;
  /** Absolute path of this cluster's kubeconfig. */
  kubeconfig: string;
  enabled: boolean;
  labels: Record<string, string>;
  /** Effective threshold: the cluster's override, else the global one. */
  severity_threshold: Severity;
  triage: boolean;
}

/**
 * How faults are fetched: `auto` (push where the server has events_subscribe, else poll),
 * `faults` / `events` (push only: normalised faults / raw Kubernetes events), `poll` (events_list only).
 */
export type SubscribeMode = "auto" | "faults" | "events" | "poll";

/** What each connection subscribes to. */
export interface SubscribeConfig {
  mode: SubscribeMode;
  /** Seconds between events_list calls in poll mode. */
  poll_interval_seconds: number;
  namespaces?: string[];
  label_selector?: string;
}

/** The triage agent. `command[0]` is absolute when it was given as a relative path. */
export interface AgentConfig {
  command: string[];
  max_concurrent: number;
  timeout_seconds: number;
  /** Incidents waiting for a slot before new ones are skipped (queue_full). */
  max_queue: number;
  /** Run incidents interrupted by a crash or shutdown again on the next start. */
  retry_interrupted: boolean;
  /** Agent runs an incident gets at most (interrupted ones are retried below this). */
  max_attempts: number;
}

/** Where the health server listens. */
export interface ListenAddress {
  hostname: string;
  port: number;
}

/** Connection timing shared by every cluster connection. */
export interface ConnectionTiming {
  reconnect: { initial_seconds: number; max_seconds: number };
  ping: { interval_seconds: number; timeout_seconds: number };
}

/** The whole resolved configuration. */
export interface FaultlineConfig extends ConnectionTiming {
  /** Absolute path of the file this came from. */
  source: string;
  /** `multi` (a `clusters` list) or `single` (top-level `mcp_endpoint`, cluster named `default`). */
  mode: "multi" | "single";
  clusters: ClusterConfig[];
  subscribe: SubscribeConfig;
  severity_threshold: Severity;
  /** Absent: faults are received, logged and recorded, but no agent runs. */
  agent: AgentConfig | null;
  health: { enabled: boolean; listen: ListenAddress };
  workers: { max: number };
  /** Absolute path. */
  state_dir: string;
  /** A repeat of a fault within this many seconds of its incident's last event joins that incident. */
  dedup_window_seconds: number;
  /** On SIGTERM/SIGINT, how long running agents may finish before they are ended. */
  shutdown_timeout_seconds: number;
  log_level: LogLevel;
}
