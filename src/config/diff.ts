/**
 * What changed between the running config and a newly loaded one, as the reload applies it:
 * clusters to connect, to close, to reconnect and to leave alone; settings that apply to new
 * incidents at once; and settings that only a restart can change (reported, not applied).
 */
import type { ClusterConfig, FaultlineConfig } from "./types.ts";

/** The running config against the next one. */
export interface ConfigDiff {
  /** Enabled in `next` and not running now (new, or enabled again): connect. */
  added: ClusterConfig[];
  /** Running now and gone or disabled in `next`: unsubscribe and close. */
  removed: ClusterConfig[];
  /** Running in both with a different connection (endpoint, labels, or shared connection settings): reconnect. */
  changed: ClusterConfig[];
  /** Running in both with the same connection: the session stays (kubeconfig, threshold, triage apply to new incidents). */
  unchanged: ClusterConfig[];
  /** Settings that changed and apply at once (to new incidents, new log lines), as `path: old → new`. */
  applied: string[];
  /** Settings that changed but need a restart; the running value stays. */
  restartRequired: string[];
}

/** Settings every connection uses: a change reconnects every running cluster. */
const CONNECTION_SETTINGS = ["subscribe", "reconnect", "ping"] as const;
/** Settings applied at once. */
const LIVE_SETTINGS = [
  "agent",
  "severity_threshold",
  "dedup_window_seconds",
  "shutdown_timeout_seconds",
  "log_level",
  "retention",
] as const;
/** Settings whose values are shown in the reload's report; the others (argv, URLs, paths) only say "changed". */
const SHOWN = new Set<string>([
  "severity_threshold",
  "dedup_window_seconds",
  "shutdown_timeout_seconds",
  "log_level",
  "retention",
]);
/** Settings fixed for the process's life. */
const RESTART_SETTINGS = ["state_dir", "health", "workers"] as const;

/**
 * Compares `current` with `next`.
 *
 * @example
 * ```ts
 * const diff = diffConfig(running, loadConfig(file));
 * diff.added.map((c) => c.name); // ["prod-west"]
 * ```
 */
export function diffConfig(current: FaultlineConfig, next: FaultlineConfig): ConfigDiff {
  const reconnectAll = CONNECTION_SETTINGS.some((key) => !sameValue(current[key], next[key]));
  const running = new Map(current.clusters.filter((c) => c.enabled).map((c) => [c.name, c]));
  const diff: ConfigDiff = {
    added: [],
    removed: [],
    changed: [],
    unchanged: [],
    applied: [],
    restartRequired: [],
  };
  const nextEnabled = new Set<string>();
  for (const cluster of next.clusters) {
    if (!cluster.enabled) continue;
    nextEnabled.add(cluster.name);
    const before = running.get(cluster.name);
    if (!before) diff.added.push(cluster);
    else if (reconnectAll || !sameConnection(before, cluster)) diff.changed.push(cluster);
    else diff.unchanged.push(cluster);
    if (before) diff.applied.push(...clusterChanges(before, cluster));
  }
  for (const cluster of running.values()) if (!nextEnabled.has(cluster.name)) diff.removed.push(cluster);
  for (const key of [...CONNECTION_SETTINGS, ...LIVE_SETTINGS]) {
    if (!sameValue(current[key], next[key])) diff.applied.push(describeChange(key, current[key], next[key]));
  }
  for (const key of RESTART_SETTINGS) {
    if (!sameValue(current[key], next[key]))
      diff.restartRequired.push(describeChange(key, current[key], next[key]));
  }
  return diff;
}

/** True when nothing about the clusters' connections changes. */
export function connectionsUnchanged(diff: ConfigDiff): boolean {
  return diff.added.length === 0 && diff.removed.length === 0 && diff.changed.length === 0;
}

/** What a worker's connection is built from: a change here needs a new session. */
function sameConnection(a: ClusterConfig, b: ClusterConfig): boolean {
  return a.mcp_endpoint === b.mcp_endpoint && sameValue(a.labels, b.labels);
}

/** Deep equality of plain config values (objects compared key by key, in any order). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a).filter((k) => Reflect.get(a, k) !== undefined);
  const keysB = Object.keys(b).filter((k) => Reflect.get(b, k) !== undefined);
  if (keysA.length !== keysB.length) return false;
  return keysA.every((key) => sameValue(Reflect.get(a, key), Reflect.get(b, key)));
}

/** A running cluster's settings that apply to its new incidents without a new session. */
function clusterChanges(before: ClusterConfig, after: ClusterConfig): string[] {
  const changes: string[] = [];
  const at = `clusters.${after.name}`;
  if (before.kubeconfig !== after.kubeconfig) changes.push(`${at}.kubeconfig: changed`);
  if (before.severity_threshold !== after.severity_threshold)
    changes.push(
      describeChange(`${at}.severity_threshold`, before.severity_threshold, after.severity_threshold),
    );
  if (before.triage !== after.triage)
    changes.push(describeChange(`${at}.triage`, before.triage, after.triage));
  return changes;
}

/** `log_level: "info" → "debug"` for plain settings; `agent: changed` for those that may carry paths or secrets. */
function describeChange(key: string, before: unknown, after: unknown): string {
  const shown = SHOWN.has(key) || key.endsWith(".severity_threshold") || key.endsWith(".triage");
  return shown ? `${key}: ${JSON.stringify(before)} → ${JSON.stringify(after)}` : `${key}: changed`;
}
