/**
 * The config file's shape, as valibot schemas. Structural rules live here; rules that need the
 * whole document or the file system (duplicate names, mutual exclusivity, readable files) live in
 * `load.ts`.
 */

import { availableParallelism } from "node:os";
import * as v from "valibot";
import { SOURCE_THREADS } from "../cluster/source-placement.ts";
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
const MIB = 1024 * 1024;
const PositiveInt = v.pipe(
  v.number("must be a number"),
  v.integer("must be an integer"),
  v.minValue(1, "must be at least 1"),
);

/** Header names: an HTTP token; those the MCP transport sets itself are refused. */
const RESERVED_HEADERS = new Set([
  "accept",
  "connection",
  "content-length",
  "content-type",
  "host",
  "last-event-id",
  "mcp-protocol-version",
  "mcp-session-id",
  "transfer-encoding",
]);
const HeaderName = v.pipe(
  v.string(),
  v.regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/, "header names are letters, digits and -"),
  v.check((name) => !RESERVED_HEADERS.has(name.toLowerCase()), "is set by the MCP transport itself"),
);
const HeaderValue = v.pipe(
  v.string("header values must be strings"),
  v.maxLength(8192, "header values are at most 8192 characters"),
  v.regex(/^[^\r\n\0]*$/, "header values must not contain line breaks"),
);

/** `auth`: how faultline proves itself to an MCP server (one of the two). */
export const AuthSchema = v.strictObject({
  /** A bearer token, usually `${SOME_ENV_VAR}`. */
  bearer_token: v.optional(NonEmptyString),
  /** A file holding the bearer token, read again at every (re)connect (rotation works). */
  bearer_token_file: v.optional(NonEmptyString),
});

/** `tls`: how an https:// MCP endpoint is verified, and the client certificate for mTLS. */
export const TlsSchema = v.strictObject({
  /** PEM CA certificate(s) to trust for this server (instead of the system's). */
  ca_file: v.optional(NonEmptyString),
  /** SNI and verification name when it differs from the URL host. */
  server_name: v.optional(NonEmptyString),
  /** PEM client certificate (mTLS), with `key_file`. */
  cert_file: v.optional(NonEmptyString),
  /** PEM private key of `cert_file`. */
  key_file: v.optional(NonEmptyString),
  /** No verification at all (a warning at every start). */
  insecure_skip_verify: v.optional(v.boolean("must be true or false"), false),
});

/**
 * How to reach one MCP server beyond its URL: a kubeconfig `context` on a multi-cluster server,
 * credentials, extra headers, TLS. Per cluster, or at top level in single-cluster mode.
 */
export const ConnectionEntries = {
  /** A kubeconfig context of a multi-cluster server, passed on every tool call. */
  context: v.optional(NonEmptyString),
  auth: v.optional(AuthSchema),
  /** Extra request headers. */
  headers: v.optional(v.record(HeaderName, HeaderValue, "must be a map of header names to values")),
  tls: v.optional(TlsSchema),
};

/** One entry of `clusters`. */
export const ClusterSchema = v.strictObject({
  name: ClusterName,
  mcp_endpoint: HttpUrl,
  kubeconfig: NonEmptyString,
  ...ConnectionEntries,
  enabled: v.optional(v.boolean("must be true or false"), true),
  labels: v.optional(v.record(v.string(), v.string("label values must be strings")), {}),
  /** Overrides the global threshold for this cluster. */
  severity_threshold: v.optional(Severity),
  triage: v.optional(v.boolean("must be true or false"), true),
});

/** Default `subscribe.check_interval_seconds`: "every few minutes". */
export const DEFAULT_CHECK_INTERVAL_SECONDS = 180;

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
  /**
   * Push: seconds between checks that the subscription still exists (`events_list_subscriptions`,
   * where the server offers it); a vanished one is subscribed again and backfilled. Default
   * {@link DEFAULT_CHECK_INTERVAL_SECONDS}.
   */
  check_interval_seconds: v.optional(PositiveSeconds),
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
  /** `agent.log` is cut at this many bytes, with a truncation marker (the rest of the output is discarded). */
  max_log_bytes: v.optional(v.pipe(PositiveInt, v.minValue(1024, "must be at least 1024")), 10 * MIB),
  /**
   * Variables of faultline's environment the agent gets (names, or prefixes ending in `*`); it
   * always gets `KUBECONFIG` (its cluster's) and the `FAULTLINE_*` variables.
   */
  env_passthrough: v.optional(v.array(EnvName, "must be a list of variable names"), () => [
    ...DEFAULT_ENV_PASSTHROUGH,
  ]),
});

/** `limits`: what one server may send; checked at the edge, in the worker, before anything parses it. */
export const LimitsSchema = v.strictObject({
  /** A notification (one SSE event: the JSON-RPC message as received) larger than this is dropped (`oversized`). */
  max_event_bytes: v.optional(v.pipe(PositiveInt, v.minValue(1024, "must be at least 1024")), MIB),
  /** A message nesting arrays/objects deeper than this is dropped (`too_deep`). */
  max_event_depth: v.optional(
    v.pipe(PositiveInt, v.minValue(8, "must be at least 8"), v.maxValue(512, "must be at most 512")),
    64,
  ),
  /** Any other JSON-RPC message (tool answers such as `events_list`) larger than this fails its request. */
  max_message_bytes: v.optional(v.pipe(PositiveInt, v.minValue(1024, "must be at least 1024")), 16 * MIB),
  /** Longer strings in an event (`context`, strings in `raw`) are cut here, with a truncation marker. */
  max_string_chars: v.optional(v.pipe(PositiveInt, v.minValue(256, "must be at least 256")), 64 * 1024),
});

/** `limits` as they are when the config sets none. */
export const DEFAULT_LIMITS: v.InferOutput<typeof LimitsSchema> = v.parse(LimitsSchema, {});

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

/** Where the health server listens unless told otherwise. */
export const DEFAULT_LISTEN = "127.0.0.1:8080";

/** Where the store, the lock and the incident workspaces live unless told otherwise. */
export const DEFAULT_STATE_DIR = "./faultline-data";

/** `health`: the HTTP health server. */
export const HealthSchema = v.strictObject({
  enabled: v.optional(v.boolean("must be true or false"), true),
  listen: v.optional(NonEmptyString, DEFAULT_LISTEN),
  /** Required as `Authorization: Bearer …` on every route but /livez and /readyz. */
  auth_token: v.optional(NonEmptyString),
  /** A file holding `auth_token` (read at start). */
  auth_token_file: v.optional(NonEmptyString),
  /** How people reach this server (e.g. behind a proxy): links in notifications start with it. */
  public_url: v.optional(HttpUrl),
});

/** The kinds of notification sinks. */
export const NOTIFY_TYPES = ["slack", "webhook", "alertmanager"] as const;
/** The status changes a sink can subscribe to (`failed` includes `timed_out`). */
export const NOTIFY_EVENTS = ["opened", "triaged", "failed"] as const;

/**
 * A sink's URL: a secret (it often carries a token), so no message ever repeats it, and it must be
 * http(s).
 */
const SecretHttpUrl = v.pipe(
  v.string("must be a string"),
  v.check((s) => URL.canParse(s), "must be a URL"),
  v.check((s) => !URL.canParse(s) || /^https?:\/\//i.test(s), "must be an http:// or https:// URL"),
);

/** `match`: which incidents a sink hears about; every part optional, all given parts must hold. */
export const NotifyMatchSchema = v.strictObject({
  /** Cluster name globs (`*`, `?`): any one may match. */
  clusters: v.optional(v.array(NonEmptyString, "must be a list of cluster name globs")),
  /** The least severity: `warning` = warning and critical. */
  severity: v.optional(Severity),
  /** Cluster labels that must all be present with these values. */
  labels: v.optional(v.record(v.string(), v.string("label values must be strings"))),
});

/** One entry of `notify`. */
export const NotifySinkSchema = v.strictObject({
  /** Shown in logs, the API and metrics instead of the URL. */
  name: ClusterName,
  type: v.picklist(NOTIFY_TYPES, `must be one of ${NOTIFY_TYPES.join(", ")}`),
  url: SecretHttpUrl,
  on: v.optional(
    v.pipe(
      v.array(
        v.picklist(NOTIFY_EVENTS, `must be one of ${NOTIFY_EVENTS.join(", ")}`),
        "must be a list of events",
      ),
      v.minLength(1, "must name at least one event"),
    ),
    ["triaged", "failed"],
  ),
  match: v.optional(NotifyMatchSchema, {}),
  /** webhook only: signs each body with HMAC-SHA256 (`X-Faultline-Signature: sha256=<hex>`). */
  secret: v.optional(NonEmptyString),
  /** Messages sent to this sink per minute at most (its own rate limit). */
  max_per_minute: v.optional(PositiveSeconds, 60),
  /** Delivery attempts before a message goes to dead-letter. */
  max_attempts: v.optional(PositiveInt, 10),
  /** Backoff between attempts: doubles from initial, never above max (a Retry-After may ask for more). */
  retry: v.optional(
    v.strictObject({
      initial_seconds: v.optional(PositiveSeconds, 1),
      max_seconds: v.optional(PositiveSeconds, 300),
    }),
    {},
  ),
  /** How long one request may take. */
  timeout_seconds: v.optional(PositiveSeconds, 10),
});

/**
 * Default `workers.max`: the cores this process may use (`availableParallelism()`, which follows CPU
 * affinity such as `taskset`), at most 16; one on one core. Measured (docs/performance.md): each worker
 * thread costs 10-15 MB and loads and JIT-compiles the MCP SDK again; past the core count more workers
 * add isolation (a CPU-hungry cluster shares its thread with fewer others) but no throughput, and cost
 * memory and idle CPU.
 */
export const DEFAULT_WORKERS_MAX = Math.max(1, Math.min(16, availableParallelism()));

/**
 * Default `workers.hang_seconds`: how long a worker thread may answer nothing before it is taken for
 * hung and restarted. A live worker answers within milliseconds even at full load; this is far above that.
 */
export const DEFAULT_HANG_SECONDS = 30;

/** `workers`: the worker-thread pool. */
export const WorkersSchema = v.strictObject({
  max: v.optional(v.pipe(PositiveInt, v.maxValue(1024, "must be at most 1024")), DEFAULT_WORKERS_MAX),
  /**
   * A worker thread that answers nothing for this long (its event loop no longer turns) is ended and
   * restarted, its clusters reconnecting (see src/cluster/worker-watchdog.ts).
   */
  hang_seconds: v.optional(
    v.pipe(PositiveSeconds, v.maxValue(3600, "must be at most 3600")),
    DEFAULT_HANG_SECONDS,
  ),
  /**
   * Where the sources run (src/cluster/source-placement.ts): `always` in worker threads, `never` one
   * source on the main thread (`max` then does not apply), `auto` on the main thread only with one usable
   * core and `max` 1.
   */
  threads: v.optional(v.picklist(SOURCE_THREADS, `must be one of ${SOURCE_THREADS.join(", ")}`), "auto"),
});

/** `retention`: how long finished incidents are kept (0 = for ever). */
export const RetentionSchema = v.strictObject({
  days: v.optional(
    v.pipe(v.number("must be a number"), v.minValue(0, "must be at least 0 (0 keeps everything)")),
    30,
  ),
});

/** A PostgreSQL connection URL (it may carry a password: never logged as written). */
const PostgresUrl = v.pipe(
  v.string("must be a string"),
  v.maxLength(4096, "must be at most 4096 characters"),
  v.check((s) => /^postgres(ql)?:\/\/[^\s]+$/i.test(s), "must be a postgres:// or postgresql:// URL"),
);

/** `store`: where incidents are kept. Absent (or no `postgres`): embedded SQLite in `state_dir`. */
export const StoreSchema = v.strictObject({
  /** PostgreSQL, shared by every replica that names the same database. */
  postgres: v.optional(
    v.strictObject({
      url: PostgresUrl,
      /** Connections this replica opens to the database at most. */
      max_connections: v.optional(v.pipe(PositiveInt, v.maxValue(100, "must be at most 100")), 10),
    }),
  ),
});

/** Replica names: a pod name (1-253 characters of a-z, A-Z, 0-9, '-', '.', '_'). */
export const REPLICA_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

/** `ha`: how replicas sharing a PostgreSQL store divide the fleet (only with `store.postgres`). */
export const HaSchema = v.strictObject({
  /** This replica's name, unique among the replicas. Default: `$HOSTNAME` (the pod name), else the host name. */
  replica: v.optional(
    v.pipe(
      v.string("must be a string"),
      v.regex(REPLICA_NAME_PATTERN, "must be 1-253 characters of A-Z, a-z, 0-9, '.', '_' or '-'"),
    ),
  ),
  /** A replica that has not heartbeated for this long loses its clusters to the others. */
  lease_seconds: v.optional(
    v.pipe(
      v.number("must be a number"),
      v.integer("must be an integer"),
      v.minValue(3, "must be at least 3"),
      v.maxValue(600, "must be at most 600"),
    ),
    15,
  ),
});

/** The whole config file. */
export const ConfigFileSchema = v.strictObject({
  clusters: v.optional(v.array(ClusterSchema, "must be a list of clusters")),
  mcp_endpoint: v.optional(HttpUrl),
  /** Single-cluster mode only (with `mcp_endpoint`): how to reach that server. */
  ...ConnectionEntries,
  subscribe: v.optional(SubscribeSchema, {}),
  severity_threshold: v.optional(Severity, "info"),
  agent: v.optional(AgentSchema),
  reconnect: v.optional(ReconnectSchema, {}),
  ping: v.optional(PingSchema, {}),
  health: v.optional(HealthSchema, {}),
  workers: v.optional(WorkersSchema, {}),
  /** Where people are told about incidents (Slack, webhooks, Alertmanager). */
  notify: v.optional(v.array(NotifySinkSchema, "must be a list of sinks"), []),
  limits: v.optional(LimitsSchema, {}),
  retention: v.optional(RetentionSchema, {}),
  store: v.optional(StoreSchema, {}),
  ha: v.optional(HaSchema, {}),
  state_dir: v.optional(NonEmptyString, DEFAULT_STATE_DIR),
  /** A repeat of a fault within this many seconds of its incident's last event joins that incident. */
  dedup_window_seconds: v.optional(PositiveSeconds, 300),
  /** On SIGTERM/SIGINT, how long running agents may finish before they are ended. */
  shutdown_timeout_seconds: v.optional(
    v.pipe(v.number("must be a number"), v.minValue(0, "must be at least 0")),
    30,
  ),
  log_level: v.optional(v.picklist(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(", ")}`), "info"),
});
