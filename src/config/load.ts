/**
 * Reads a YAML config file, validates it (schema, then whole-document and file-system rules) and
 * resolves it into a {@link FaultlineConfig}. Every problem is collected with its field path, so a
 * user sees all of them at once: `clusters[1].kubeconfig: required`.
 */

import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { homedir, hostname } from "node:os";
import { delimiter, dirname, isAbsolute, resolve } from "node:path";
import * as v from "valibot";
import { type Document, isMap, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import { errorMessage } from "../log.ts";
import { errnoCode } from "../runtime/errno.ts";
import { which } from "../runtime/which.ts";
import { type FieldIssue, formatFieldIssue, toFieldIssue } from "../validation/issues.ts";
import { thoroughIssues } from "./checks.ts";
import { expandEnvironment } from "./expand.ts";
import { parseJsonConfig } from "./json-config.ts";
import { ConfigFileSchema, DEFAULT_LISTEN, DEFAULT_STATE_DIR, REPLICA_NAME_PATTERN } from "./schema.ts";
import type { ClusterConfig, ConfigFile, EndpointConfig, FaultlineConfig, ListenAddress } from "./types.ts";

/** One problem in a config file: where (`clusters[1].kubeconfig`, or empty for the file) and what. */
export type ConfigIssue = FieldIssue;

/** Thrown when a config file is unusable; carries every problem found. */
export class ConfigError extends Error {
  readonly issues: ConfigIssue[];
  constructor(
    readonly file: string,
    issues: ConfigIssue[],
  ) {
    super(`invalid config ${file}:\n${issues.map(formatFieldIssue).join("\n")}`);
    this.name = "ConfigError";
    this.issues = issues;
  }
}

/** The report `faultline check` prints: a heading naming the file, then each problem on its own line. */
export function describeConfigError(error: ConfigError): string {
  const lines = error.issues.map((issue) => `  ${formatFieldIssue(issue)}\n`);
  return `${error.file}: invalid configuration (${error.issues.length} problem(s)):\n${lines.join("")}`;
}

/** Name of the cluster in single-cluster mode. */
export const SINGLE_CLUSTER_NAME = "default";

/**
 * Environment that config loading reads: `${VAR}` references in the file, KUBECONFIG, HOME, PATH
 * (injectable for tests).
 */
export type LoadEnvironment = Record<string, string | undefined>;

/**
 * What overrides the file or widens the checks: `healthListen` (the `--listen` flag) wins over the
 * `FAULTLINE_HEALTH_LISTEN` variable, which wins over `health.listen`; `thorough` adds what only
 * `faultline check` needs (see `checks.ts`: state_dir usable, listen address on this machine).
 */
export interface LoadOptions {
  healthListen?: string;
  thorough?: boolean;
}

/** The environment variable that overrides `health.listen` (e.g. `0.0.0.0:8080` in a container). */
export const HEALTH_LISTEN_VARIABLE = "FAULTLINE_HEALTH_LISTEN";

/** Reads, validates and resolves the config file at `file`. Throws {@link ConfigError}. */
export function loadConfig(
  file: string,
  env: LoadEnvironment = process.env,
  options: LoadOptions = {},
): FaultlineConfig {
  const { text, source } = readConfigFile(file);
  return parseConfig(text, source, env, options);
}

/** The config file's text and absolute path. Throws {@link ConfigError} when it cannot be read. */
export function readConfigFile(file: string): { text: string; source: string } {
  const source = resolve(file);
  try {
    return { text: readFileSync(source, "utf8"), source };
  } catch (error) {
    throw new ConfigError(source, [{ path: "", message: `cannot read config file: ${errorMessage(error)}` }]);
  }
}

/**
 * Validates and resolves config `text` as if read from `source` (relative paths resolve against its
 * folder). Every phase runs whatever the others found (schema, whole-document rules, files, the listen
 * address, and with `thorough` the state_dir's usability), so one pass reports every problem.
 */
export function parseConfig(
  text: string,
  source: string,
  env: LoadEnvironment = process.env,
  options: LoadOptions = {},
): FaultlineConfig {
  const expansion = expandEnvironment(parseYaml(text, source), env);
  const raw = expansion.value;
  const result = v.safeParse(ConfigFileSchema, raw);
  // A field whose variable could not be expanded is reported once, for that reason.
  const unexpanded = new Set(expansion.issues.map((issue) => issue.path));
  const issues: ConfigIssue[] = [...expansion.issues];
  if (!result.success) {
    issues.push(...result.issues.map((issue) => toFieldIssue(issue)).filter((i) => !unexpanded.has(i.path)));
  }
  issues.push(...documentIssues(raw));
  const base = dirname(source);
  issues.push(...fileIssues(raw, base, env));
  const listen = resolveListen(raw, env, options, issues);
  if (options.thorough) issues.push(...thoroughIssues(resolve(base, rawStateDir(raw)), listen));
  if (!result.success || issues.length > 0) throw new ConfigError(source, issues);
  return resolveConfig(result.output, source, env, listen);
}

/** The largest config file read (a 1000-cluster file is ~150 KB); larger files are refused before parsing. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/**
 * YAML aliases a config may expand (the `yaml` package's own limit, made explicit): more is refused as an
 * alias bomb (a few lines that expand to billions of nodes).
 */
export const MAX_YAML_ALIASES = 100;

function parseYaml(text: string, source: string): unknown {
  if (text.trim() === "") throw new ConfigError(source, [{ path: "", message: "config file is empty" }]);
  if (text.length > MAX_CONFIG_BYTES) {
    throw new ConfigError(source, [
      { path: "", message: `config file too large: over ${MAX_CONFIG_BYTES} bytes` },
    ]);
  }
  // A plain JSON object (what generated configs are) reads the same, ~50× faster, without a YAML document.
  const json = parseJsonConfig(text);
  if (json) return json;
  // uniqueKeys is checked by duplicateKeyIssues: the yaml package's own check is quadratic in a map's size.
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: false, lineCounter: lines });
  const errors = doc.errors.map((e) => `invalid YAML: ${e.message.split("\n")[0]}`);
  if (errors.length === 0) errors.push(...duplicateKeyIssues(doc, lines));
  if (errors.length > 0)
    throw new ConfigError(
      source,
      errors.map((message) => ({ path: "", message })),
    );
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (error) {
    // Alias bombs (ReferenceError "Excessive alias count…"), nesting too deep for the stack (RangeError), …
    throw new ConfigError(source, [{ path: "", message: `YAML refused: ${errorMessage(error)}` }]);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ConfigError(source, [{ path: "", message: "config must be a YAML mapping of keys to values" }]);
  }
  return value;
}

/**
 * `invalid YAML: Map keys must be unique` for each repeated key, found in one pass over every map (a
 * Set per map: linear, where the yaml package's `uniqueKeys` compares each key with all before it).
 */
function duplicateKeyIssues(doc: Document, lines: LineCounter): string[] {
  const problems: string[] = [];
  // An explicit stack, not yaml's `visit`: that one copies the path at every level (quadratic in depth).
  const stack: unknown[] = [doc.contents];
  for (let node = stack.pop(); stack.length > 0 || node !== undefined; node = stack.pop()) {
    if (isSeq(node)) stack.push(...node.items);
    if (!isMap(node)) continue;
    const seen = new Set<unknown>();
    for (const pair of node.items) {
      stack.push(pair.key, pair.value);
      const key = isScalar(pair.key) ? pair.key.value : pair.key;
      if (!seen.has(key)) {
        seen.add(key);
        continue;
      }
      const line = isScalar(pair.key) && pair.key.range ? lines.linePos(pair.key.range[0]).line : null;
      problems.push(
        `invalid YAML: Map keys must be unique (${JSON.stringify(String(key))}${line ? ` at line ${line}` : ""})`,
      );
    }
  }
  return problems;
}

/** Keys that describe how to reach the one server of single-cluster mode. */
const TOP_LEVEL_CONNECTION_KEYS = ["context", "auth", "headers", "tls"] as const;

/** Rules over the whole document: mutual exclusivity, duplicate names, backoff bounds, sink rules. */
function documentIssues(raw: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const doc = raw as Record<string, unknown>;
  const hasClusters = doc.clusters !== undefined;
  const hasEndpoint = doc.mcp_endpoint !== undefined;
  const store = doc.store as Record<string, unknown> | undefined;
  if (doc.ha !== undefined && (typeof store !== "object" || store === null || store.postgres === undefined)) {
    issues.push({
      path: "ha",
      message: "needs store.postgres: replicas share the fleet through one PostgreSQL database",
    });
  }
  if (hasClusters && hasEndpoint) {
    issues.push({
      path: "",
      message:
        "mcp_endpoint and clusters cannot both be set: use clusters for many clusters, mcp_endpoint for one",
    });
  } else if (hasClusters) {
    for (const key of TOP_LEVEL_CONNECTION_KEYS) {
      if (doc[key] !== undefined) {
        issues.push({
          path: key,
          message: "applies to mcp_endpoint (single-cluster mode) only: set it on each entry of clusters",
        });
      }
    }
  } else if (!hasEndpoint) {
    issues.push({
      path: "",
      message: "no clusters configured: set clusters (a list) or mcp_endpoint (one server)",
    });
  }
  if (Array.isArray(doc.clusters)) {
    if (doc.clusters.length === 0)
      issues.push({ path: "clusters", message: "must list at least one cluster" });
    issues.push(...duplicateNames(doc.clusters, "clusters", "cluster"));
  }
  if (Array.isArray(doc.notify)) {
    issues.push(...duplicateNames(doc.notify, "notify", "sink"));
    doc.notify.forEach((entry: unknown, index) => {
      const sink = entry as { type?: unknown; secret?: unknown } | null;
      if (sink?.secret !== undefined && sink.type !== "webhook") {
        issues.push({ path: `notify[${index}].secret`, message: "only a webhook sink signs its messages" });
      }
    });
  }
  const limits = doc.limits as { max_event_bytes?: unknown; max_message_bytes?: unknown } | undefined;
  const eventBytes = limits?.max_event_bytes ?? 1024 * 1024;
  const messageBytes = limits?.max_message_bytes ?? 16 * 1024 * 1024;
  if (typeof eventBytes === "number" && typeof messageBytes === "number" && eventBytes > messageBytes) {
    issues.push({
      path: "limits.max_message_bytes",
      message: `must be at least max_event_bytes (${eventBytes})`,
    });
  }
  const reconnect = doc.reconnect as { initial_seconds?: unknown; max_seconds?: unknown } | undefined;
  const initial = reconnect?.initial_seconds ?? 1;
  const max = reconnect?.max_seconds ?? 60;
  if (typeof initial === "number" && typeof max === "number" && initial > max) {
    issues.push({ path: "reconnect.max_seconds", message: `must be at least initial_seconds (${initial})` });
  }
  return issues;
}

/** A `duplicate <what> name` issue for each entry of `list` (at `field`) whose name an earlier one has. */
function duplicateNames(list: unknown[], field: string, what: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const firstIndex = new Map<string, number>();
  list.forEach((entry: unknown, index) => {
    const name = (entry as { name?: unknown } | null)?.name;
    if (typeof name !== "string") return;
    const first = firstIndex.get(name);
    if (first === undefined) firstIndex.set(name, index);
    else {
      issues.push({
        path: `${field}[${index}].name`,
        message: `duplicate ${what} name "${name}" (also ${field}[${first}].name)`,
      });
    }
  });
  return issues;
}

/** A field of the raw document when it is a non-empty string (the schema reports anything else). */
function rawString(value: unknown, key: string): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const field: unknown = Reflect.get(value, key);
  return typeof field === "string" && field !== "" ? field : undefined;
}

/** `state_dir` as written, or its default. */
function rawStateDir(raw: unknown): string {
  return rawString(raw, "state_dir") ?? DEFAULT_STATE_DIR;
}

/**
 * The files the config names, checked from the raw document so they are reported even when the schema
 * found problems elsewhere: every kubeconfig readable, the agent program executable, `state_dir` a
 * directory if it exists.
 */
function fileIssues(raw: unknown, base: string, env: LoadEnvironment): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const doc = raw as Record<string, unknown>;
  if (Array.isArray(doc.clusters)) {
    doc.clusters.forEach((entry: unknown, index) => {
      const kubeconfig = rawString(entry, "kubeconfig");
      if (kubeconfig) checkReadableFile(resolve(base, kubeconfig), `clusters[${index}].kubeconfig`, issues);
    });
  } else if (doc.mcp_endpoint !== undefined && doc.clusters === undefined) {
    checkReadableFile(
      defaultKubeconfigPath(env),
      "kubeconfig (default: $KUBECONFIG, else ~/.kube/config)",
      issues,
    );
  }
  const command = (doc.agent as { command?: unknown } | undefined)?.command;
  const program = Array.isArray(command) ? command[0] : undefined;
  if (typeof program === "string" && program !== "" && !resolveProgram(program, base, env.PATH)) {
    issues.push({ path: "agent.command[0]", message: `program "${program}" not found or not executable` });
  }
  checkStateDir(resolve(base, rawStateDir(raw)), issues);
  return issues;
}

/**
 * The health server's address: `--listen` (`options.healthListen`), else `$FAULTLINE_HEALTH_LISTEN`,
 * else `health.listen`, else the default. A malformed one is an issue named after where it came from.
 */
function resolveListen(
  raw: unknown,
  env: LoadEnvironment,
  options: LoadOptions,
  issues: ConfigIssue[],
): ListenAddress {
  const fromEnv = env[HEALTH_LISTEN_VARIABLE];
  const [path, text] =
    options.healthListen !== undefined
      ? ["--listen", options.healthListen]
      : fromEnv !== undefined && fromEnv !== ""
        ? [HEALTH_LISTEN_VARIABLE, fromEnv]
        : ["health.listen", rawString(rawField(raw, "health"), "listen") ?? DEFAULT_LISTEN];
  const parsed = parseListen(text);
  if (typeof parsed !== "string") return parsed;
  issues.push({ path, message: parsed });
  return { hostname: "127.0.0.1", port: 8080 };
}

function rawField(raw: unknown, key: string): unknown {
  return typeof raw === "object" && raw !== null ? Reflect.get(raw, key) : undefined;
}

/** Resolves paths and overrides of a valid file (its files were checked by {@link fileIssues}). */
function resolveConfig(
  file: ConfigFile,
  source: string,
  env: LoadEnvironment,
  listen: ListenAddress,
): FaultlineConfig {
  const base = dirname(source);
  const clusters: ClusterConfig[] = [];
  file.clusters?.forEach((c, index) => {
    clusters.push({
      name: c.name,
      config_path: `clusters[${index}]`,
      ...resolveEndpoint(c, base),
      kubeconfig: resolve(base, c.kubeconfig),
      enabled: c.enabled,
      labels: c.labels,
      severity_threshold: c.severity_threshold ?? file.severity_threshold,
      triage: c.triage,
    });
  });
  if (!file.clusters && file.mcp_endpoint) {
    clusters.push({
      name: SINGLE_CLUSTER_NAME,
      ...resolveEndpoint({ ...file, mcp_endpoint: file.mcp_endpoint }, base),
      kubeconfig: defaultKubeconfigPath(env),
      enabled: true,
      labels: {},
      severity_threshold: file.severity_threshold,
      triage: true,
    });
  }
  let agent: FaultlineConfig["agent"] = null;
  if (file.agent) {
    const [program = "", ...args] = file.agent.command;
    agent = { ...file.agent, command: [resolveProgram(program, base, env.PATH) ?? program, ...args] };
  }
  return {
    source,
    mode: file.clusters ? "multi" : "single",
    clusters,
    subscribe: file.subscribe,
    severity_threshold: file.severity_threshold,
    agent,
    reconnect: file.reconnect,
    ping: file.ping,
    health: {
      ...file.health,
      auth_token_file: file.health.auth_token_file && resolve(base, file.health.auth_token_file),
      listen,
    },
    notify: file.notify,
    workers: file.workers,
    limits: file.limits,
    retention: file.retention,
    store: file.store,
    ha: { replica: file.ha.replica ?? defaultReplicaName(env), lease_seconds: file.ha.lease_seconds },
    state_dir: resolve(base, file.state_dir),
    dedup_window_seconds: file.dedup_window_seconds,
    shutdown_timeout_seconds: file.shutdown_timeout_seconds,
    log_level: file.log_level,
  };
}

/**
 * This replica's name when `ha.replica` is not written: `$HOSTNAME` (a pod's name), else the host's name,
 * cut to what a replica name allows.
 */
export function defaultReplicaName(env: LoadEnvironment): string {
  const name = (env.HOSTNAME ?? hostname()).replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 253);
  return REPLICA_NAME_PATTERN.test(name) ? name : `replica-${name}`.slice(0, 253);
}

/** A server's connection settings with every file path resolved against `base` (the config's folder). */
function resolveEndpoint(entry: EndpointConfig, base: string): EndpointConfig {
  const path = (file: string | undefined) => (file === undefined ? undefined : resolve(base, file));
  const { auth, tls } = entry;
  return {
    mcp_endpoint: entry.mcp_endpoint,
    context: entry.context,
    headers: entry.headers,
    auth: auth && { ...auth, bearer_token_file: path(auth.bearer_token_file) },
    tls: tls && {
      ...tls,
      ca_file: path(tls.ca_file),
      cert_file: path(tls.cert_file),
      key_file: path(tls.key_file),
    },
  };
}

/** `$KUBECONFIG` (its first entry when it is a list), else `~/.kube/config`. */
export function defaultKubeconfigPath(env: LoadEnvironment): string {
  const first = env.KUBECONFIG?.split(delimiter).find((p) => p !== "");
  if (first) return resolve(first);
  return resolve(env.HOME || homedir(), ".kube", "config");
}

function checkReadableFile(path: string, field: string, issues: ConfigIssue[]): void {
  try {
    if (!statSync(path).isFile()) {
      issues.push({ path: field, message: `"${path}" is not a file` });
      return;
    }
    accessSync(path, constants.R_OK);
  } catch (error) {
    const code = errnoCode(error);
    const why =
      code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : errorMessage(error);
    issues.push({ path: field, message: `cannot read "${path}": ${why}` });
  }
}

/** `state_dir` may not exist yet (it is created), but if it does it must be a directory. */
function checkStateDir(path: string, issues: ConfigIssue[]): void {
  try {
    if (!statSync(path).isDirectory())
      issues.push({ path: "state_dir", message: `"${path}" is not a directory` });
  } catch {
    // created at start-up; the store reports anything that stops it
  }
}

/** A program given with a slash resolves against the config's folder; a bare name is looked up on PATH. */
function resolveProgram(program: string, base: string, path: string | undefined): string | null {
  if (program.includes("/")) {
    const full = isAbsolute(program) ? program : resolve(base, program);
    try {
      accessSync(full, constants.X_OK);
      return statSync(full).isFile() ? full : null;
    } catch {
      return null;
    }
  }
  return which(program, path ?? process.env.PATH);
}

/** Parses `host:port` (IPv6 as `[::1]:8080`); returns an error message when malformed. */
export function parseListen(listen: string): ListenAddress | string {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen);
  const port = Number(match?.[3]);
  if (!match || port > 65535) return `must be host:port with a port from 0 to 65535, got "${listen}"`;
  return { hostname: match[1] ?? (match[2] || "0.0.0.0"), port };
}
