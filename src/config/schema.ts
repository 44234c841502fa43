/**
 * The config file's shape, as valibot schemas. Structural rules live here; rules that need the
 * whole document or the file system (duplicate names, mutual exclusivity, readable files) live in
 * `load.ts`.
 */
import { availableParallelism } from "node:os";
import * as v from "valibot";
import { SEVERITIES } from "../events/fault.ts";
import { LOG_LEVELS } from "../log.ts";

/** Cluster names: 1-63 characters of [A-Za-z0-9_-] (safe in paths, labels and metric values). */
export const CLUSTER_NAME_PATTERN = /^[A-Za-z0-9_-]{1,63}$/;

const ClusterName = v.pipe(
  v.string("must be a string"),
  v.regex(CLUSTER_NAME_PATTERN, "must be 1-63 characters of A-Z, a-z, 0-9, '_' or '-'"),
);

const HttpUrl = v.pipe(
  v.string("must be a string"),
  v.url("must be a URL"),
  v.check((s) => /^https?:\/\//i.test(s), "must be an http:// or https:// URL"),
);

const NonEmptyString = v.pipe(v.string("must be a string"), v.minLength(1, "must not be empty"));
const Severity = v.picklist(SEVERITIES, `must be one of ${SEVERITIES.join(", ")}`);
const PositiveSeconds = v.pipe(v.number("must be a number"), v.gtValue(0, "must be greater than 0"));
const PositiveInt = v.pipe(
  v.number("must be a number"),
  v.integer("must be an integer"),
  v.minValue(1, "must be at least 1"),
);

/** One entry of `clusters`. */
export const ClusterSchema = v.strictObject({
  name: ClusterName,
  mcp_endpoint: HttpUrl,
  kubeconfig: NonEmptyString,
  enabled: v.optional(v.boolean("must be true or false"), true),
  labels: v.optional(v.record(v.string(), v.string("label values must be strings")), {}),
  /** Overrides the global threshold for this cluster. */
  severity_threshold: v.optional(Severity),
  triage: v.optional(v.boolean("must be true or false"), true),
});

/** `subscribe`: what to ask each server for. */
export const SubscribeSchema = v.strictObject({
  mode: v.optional(
    v.picklist(["auto", "faults", "events", "poll"], "must be one of auto, faults, events, poll"),
    "auto",
  ),
  /** Seconds between events_list calls in poll mode. */
  poll_interval_seconds: v.optional(PositiveSeconds, 15),
  namespaces: v.optional(v.array(NonEmptyString, "must be a list of strings")),
  label_selector: v.optional(NonEmptyString),
});

/**
 * The variables an agent gets from faultline's environment unless `agent.env_passthrough` says
 * otherwise: enough to run programs, speak the locale and reach a proxy, and no credentials.
 */
export const DEFAULT_ENV_PASSTHROUGH: readonly string[] = [
  "PATH",
  "HOME",
  "LANG",
  "LC_ALL",
  "TZ",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "http_proxy",
  "https_proxy",
  "no_proxy",
];

/** An environment variable name, or a prefix ending in `*` (`AWS_*`). */
const EnvName = v.pipe(
  v.string("must be a string"),
  v.regex(
    /^[A-Za-z_][A-Za-z0-9_]*\*?$/,
    "must be a variable name (letters, digits, '_'), optionally ending in '*'",
  ),
);

/** `agent`: the triage command and its limits. */
export const AgentSchema = v.strictObject({
  command: v.pipe(
    v.array(NonEmptyString, "must be a list of strings (an argv array, never a shell string)"),
    v.minLength(1, "must name a program"),
  ),
  max_concurrent: v.optional(PositiveInt, 4),
  timeout_seconds: v.optional(PositiveSeconds, 600),
  /** Incidents waiting for a slot before new ones are skipped (queue_full). */
  max_queue: v.optional(PositiveInt, 1000),
  /** Run incidents interrupted by a crash or shutdown again on the next start. */
  retry_interrupted: v.optional(v.boolean("must be true or false"), true),
  /** Agent runs an incident gets at most (interrupted ones are retried below this). */
  max_attempts: v.optional(PositiveInt, 3),
  /**
   * Variables of faultline's environment the agent gets (names, or prefixes ending in `*`); it
   * always gets `KUBECONFIG` (its cluster's) and the `FAULTLINE_*` variables.
   */
  env_passthrough: v.optional(v.array(EnvName, "must be a list of variable names"), () => [
    ...DEFAULT_ENV_PASSTHROUGH,
  ]),
});

/** `reconnect`: exponential backoff bounds. */
export const ReconnectSchema = v.strictObject({
  initial_seconds: v.optional(PositiveSeconds, 1),
  max_seconds: v.optional(PositiveSeconds, 60),
});

/** `ping`: liveness probing of each session (a dead TCP connection only shows on a request). */
export const PingSchema = v.strictObject({
  interval_seconds: v.optional(PositiveSeconds, 15),
  timeout_seconds: v.optional(PositiveSeconds, 10),
});

/** `health`: the HTTP health server. */
export const HealthSchema = v.strictObject({
  enabled: v.optional(v.boolean("must be true or false"), true),
  listen: v.optional(NonEmptyString, "127.0.0.1:8080"),
});

/**
 * Default `workers.max`: the cores this process may use, at least 2, at most 16. Measured (README,
 * Performance): each worker thread costs ~15 MB and loads the MCP SDK again; past the core count more
 * workers add isolation but no throughput, and make start-up slower.
 */
export const DEFAULT_WORKERS_MAX = Math.max(2, Math.min(16, availableParallelism()));

/** `workers`: the worker-thread pool. */
export const WorkersSchema = v.strictObject({
  max: v.optional(v.pipe(PositiveInt, v.maxValue(1024, "must be at most 1024")), DEFAULT_WORKERS_MAX),
});

/** The whole config file. */
export const ConfigFileSchema = v.strictObject({
  clusters: v.optional(v.array(ClusterSchema, "must be a list of clusters")),
  mcp_endpoint: v.optional(HttpUrl),
  subscribe: v.optional(SubscribeSchema, {}),
  severity_threshold: v.optional(Severity, "info"),
  agent: v.optional(AgentSchema),
  reconnect: v.optional(ReconnectSchema, {}),
  ping: v.optional(PingSchema, {}),
  health: v.optional(HealthSchema, {}),
  workers: v.optional(WorkersSchema, {}),
  state_dir: v.optional(NonEmptyString, "./faultline-data"),
  /** A repeat of a fault within this many seconds of its incident's last event joins that incident. */
  dedup_window_seconds: v.optional(PositiveSeconds, 300),
  /** On SIGTERM/SIGINT, how long running agents may finish before they are ended. */
  shutdown_timeout_seconds: v.optional(
    v.pipe(v.number("must be a number"), v.minValue(0, "must be at least 0")),
    30,
  ),
  log_level: v.optional(v.picklist(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(", ")}`), "info"),
});
