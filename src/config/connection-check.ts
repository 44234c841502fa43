/**
 * Checks of what the connections need beyond the config's shape: one kind of bearer token per server,
 * readable token files, PEM CA / client certificate / key files, a client certificate with its key,
 * TLS settings only on https:// endpoints, and the health API's token. `faultline check` reports the
 * problems (exit 2); `faultline run` refuses to start with them (exit 1).
 */
import type { ConfigIssue } from "./load.ts";
import { readPemFile, readTokenFile, SecretFileError } from "./secret-files.ts";
import type { ClusterConfig, FaultlineConfig, HealthConfig } from "./types.ts";

/**
 * The config field `field` of a cluster (`clusters[2].auth.bearer_token_file`, or the bare field for
 * the top-level server of single-cluster mode).
 *
 * @example
 * ```ts
 * fieldOf({ config_path: "clusters[2]" }, "tls.ca_file"); // "clusters[2].tls.ca_file"
 * fieldOf({ config_path: "" }, "tls.ca_file");            // "tls.ca_file"
 * ```
 */
export function fieldOf(cluster: { config_path?: string }, field: string): string {
  return cluster.config_path ? `${cluster.config_path}.${field}` : field;
}

/** Every problem with the connection settings of `config`'s clusters and its health API token. */
export function connectionIssues(config: FaultlineConfig): ConfigIssue[] {
  return [...config.clusters.flatMap(clusterIssues), ...healthIssues(config.health)];
}

function clusterIssues(cluster: ClusterConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const field = (name: string) => fieldOf(cluster, name);
  const readable = (name: string, read: () => unknown) => {
    try {
      read();
    } catch (error) {
      if (!(error instanceof SecretFileError)) throw error;
      issues.push({ path: field(name), message: error.message });
    }
  };
  const { auth, tls, headers } = cluster;
  if (auth?.bearer_token !== undefined && auth.bearer_token_file !== undefined) {
    issues.push({ path: field("auth"), message: "set bearer_token or bearer_token_file, not both" });
  } else if (auth?.bearer_token_file) {
    const file = auth.bearer_token_file;
    readable("auth.bearer_token_file", () => readTokenFile(file));
  }
  const authorization = Object.keys(headers ?? {}).find((name) => name.toLowerCase() === "authorization");
  if (auth && authorization) {
    issues.push({
      path: field(`headers.${authorization}`),
      message: "conflicts with auth: set the token in auth, or the whole header in headers",
    });
  }
  if (!tls) return issues;
  if (!/^https:/i.test(cluster.mcp_endpoint)) {
    issues.push({ path: field("tls"), message: "applies to https:// endpoints only" });
  }
  const { ca_file, cert_file, key_file } = tls;
  if (ca_file) readable("tls.ca_file", () => readPemFile(ca_file, "certificate"));
  if (cert_file && !key_file)
    issues.push({ path: field("tls.key_file"), message: "required with cert_file" });
  if (key_file && !cert_file)
    issues.push({ path: field("tls.cert_file"), message: "required with key_file" });
  if (cert_file) readable("tls.cert_file", () => readPemFile(cert_file, "certificate"));
  if (key_file) readable("tls.key_file", () => readPemFile(key_file, "private key"));
  return issues;
}

function healthIssues(health: HealthConfig): ConfigIssue[] {
  if (health.auth_token !== undefined && health.auth_token_file !== undefined) {
    return [{ path: "health", message: "set auth_token or auth_token_file, not both" }];
  }
  if (health.auth_token_file === undefined) return [];
  try {
    readTokenFile(health.auth_token_file);
    return [];
  } catch (error) {
    if (!(error instanceof SecretFileError)) throw error;
    return [{ path: "health.auth_token_file", message: error.message }];
  }
}

/** The token the health API requires, or null when none is configured. Throws {@link SecretFileError}. */
export function healthToken(health: HealthConfig): string | null {
  if (health.auth_token !== undefined) return health.auth_token;
  return health.auth_token_file === undefined ? null : readTokenFile(health.auth_token_file);
}
