/**
 * The configuration's types, derived from the valibot schemas in `schema.ts` (`v.InferOutput`), so a
 * field is declared once. {@link ConfigFile} is the file after validation (defaults applied);
 * {@link FaultlineConfig} is what the rest of faultline trusts after `load.ts` resolved it: every
 * path absolute, per-cluster overrides folded in, `health.listen` parsed.
 */
import type * as v from "valibot";
import type { Severity } from "../events/fault.ts";
import type {
  AgentSchema,
  AuthSchema,
  ClusterSchema,
  ConfigFileSchema,
  HealthSchema,
  LimitsSchema,
  NotifySinkSchema,
  StoreSchema,
  SubscribeSchema,
  TlsSchema,
} from "./schema.ts";

/** The config file after schema validation (defaults applied, paths not yet resolved). */
export type ConfigFile = v.InferOutput<typeof ConfigFileSchema>;

/** One entry of the file's `clusters` as validated: `kubeconfig` as written, threshold optional. */
type ClusterEntry = v.InferOutput<typeof ClusterSchema>;

/** `auth` as validated; after resolution `bearer_token_file` is absolute. */
export type AuthConfig = v.InferOutput<typeof AuthSchema>;

/** `tls` as validated; after resolution its file paths are absolute. */
export type TlsConfig = v.InferOutput<typeof TlsSchema>;

/** How to reach one MCP server: its URL, a kubeconfig context, credentials, headers, TLS. */
export type EndpointConfig = Pick<ClusterEntry, "mcp_endpoint" | "context" | "auth" | "headers" | "tls">;

/** One cluster to watch. */
export type ClusterConfig = Omit<ClusterEntry, "kubeconfig" | "severity_threshold"> & {
  /**
   * Where this cluster's settings are in the config file (`clusters[2]`, or "" for top level in
   * single-cluster mode; absent counts as top level): errors name fields by it (`clusters[2].auth.bearer_token_file`).
   */
  config_path?: string;
  /** Absolute path of this cluster's kubeconfig. */
  kubeconfig: string;
  /** Effective threshold: the cluster's override, else the global one. */
  severity_threshold: Severity;
};

/** What each connection subscribes to. */
export type SubscribeConfig = v.InferOutput<typeof SubscribeSchema>;

/**
 * How faults are fetched: `auto` (push where the server has events_subscribe, else poll),
 * `faults` / `events` (push only: normalised faults / raw Kubernetes events), `poll` (events_list only).
 */
export type SubscribeMode = SubscribeConfig["mode"];

/** The triage agent. After resolution `command[0]` is absolute when it was given as a relative path. */
export type AgentConfig = v.InferOutput<typeof AgentSchema>;

/** One notification sink (`notify[]`), as validated: its URL is a secret. */
export type NotifySinkConfig = v.InferOutput<typeof NotifySinkSchema>;

/** What one server may send (`limits`): sizes and nesting checked at the edge, in the workers. */
export type LimitsConfig = v.InferOutput<typeof LimitsSchema>;

/** Where the health server listens (parsed from `health.listen`, `host:port`). */
export interface ListenAddress {
  hostname: string;
  port: number;
}

/** Connection timing shared by every cluster connection: reconnect backoff bounds and ping liveness. */
export type ConnectionTiming = Pick<ConfigFile, "reconnect" | "ping">;

/** The health server: on or off, and its parsed address. */
export type HealthConfig = Omit<v.InferOutput<typeof HealthSchema>, "listen"> & { listen: ListenAddress };

/** `store` as validated: absent `postgres` means embedded SQLite in `state_dir`. */
export type StoreConfig = v.InferOutput<typeof StoreSchema>;

/** `ha` resolved: this replica's name and the lease. */
export interface HaConfig {
  replica: string;
  lease_seconds: number;
}

/**
 * The whole resolved configuration: the file's settings (`dedup_window_seconds`,
 * `shutdown_timeout_seconds`, `log_level`, … as validated) with the resolved parts below.
 */
export type FaultlineConfig = Omit<
  ConfigFile,
  | "clusters"
  | "mcp_endpoint"
  | "agent"
  | "health"
  | "state_dir"
  | "context"
  | "auth"
  | "headers"
  | "tls"
  | "ha"
> & {
  /** Replicas sharing a PostgreSQL store; `replica` resolved to its default when not written. */
  ha: HaConfig;
  /** Absolute path of the file this came from. */
  source: string;
  /** `multi` (a `clusters` list) or `single` (top-level `mcp_endpoint`, cluster named `default`). */
  mode: "multi" | "single";
  clusters: ClusterConfig[];
  /** Absent: faults are received, logged and recorded, but no agent runs. */
  agent: AgentConfig | null;
  health: HealthConfig;
  /** Absolute path. */
  state_dir: string;
};
