/**
 * How one cluster's requests reach its MCP server: the one place that turns a cluster's endpoint
 * settings (headers, `auth`, `tls`) into the `fetch` its MCP transport uses. Credential files are read
 * again for every connection attempt, so a rotated token (or certificate) is used from the next
 * reconnect on. HTTPS requests go through the shared keep-alive pool (`runtime/http-pool.ts`); swap
 * {@link SendWith} to change the HTTP client: nothing else changes.
 *
 * @example
 * ```ts
 * const transport = openClusterTransport(spec);           // reads the token file, the CA, …
 * const fetch = transport.fetch({ onRefused: (why) => lose(why) });
 * new StreamableHTTPClientTransport(new URL(spec.mcp_endpoint), { fetch });
 * ```
 */
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import { fieldOf } from "../config/connection-check.ts";
import { readPemFile, readTokenFile, SecretFileError } from "../config/secret-files.ts";
import { type PooledFetch, type PoolTls, sharedHttpPool } from "../runtime/http-pool.ts";
import { redactUrl, Scrubber, urlSecrets } from "../runtime/redact.ts";
import type { ClusterSpec } from "./protocol.ts";

/** The HTTP client for an endpoint with given TLS settings. */
export type SendWith = (tls: PoolTls, endpoint: URL) => PooledFetch;

/**
 * HTTPS endpoints go through the thread's shared keep-alive pool ({@link sharedHttpPool}), which keeps
 * every cluster's idle connection (Bun's `fetch` keeps 64 per process, so pings past the 64th cluster
 * would each pay a TLS handshake). Plain HTTP keeps the runtime's own `fetch` (Bun's or Deno's): a
 * reconnect there costs a TCP handshake only, and Bun's native client starts 1000 clusters with about
 * half the CPU (measured with `bun run bench`; README, Performance).
 */
const defaultSendWith: SendWith = (tls, endpoint) =>
  endpoint.protocol === "https:" ? sharedHttpPool().fetchWith(tls) : fetch;

/** A credential file of a cluster cannot be used; the message names the config field. */
export class CredentialFileError extends Error {
  constructor(field: string, cause: SecretFileError) {
    super(`${field}: ${cause.message}`);
    this.name = "CredentialFileError";
  }
}

/** What to do about a response that refuses the credentials (HTTP 401/403). */
export interface FetchHooks {
  /** Called with a readable reason (naming the config field) before the response is handed on. */
  onRefused?: (reason: string) => void;
}

/** One connection attempt's view of a cluster's server. */
export interface ClusterTransport {
  /** The endpoint as shown anywhere: credentials replaced by `***`. */
  readonly shownEndpoint: string;
  /** Scrubs this cluster's secrets (URL credentials, token, header values) from text. */
  readonly scrubber: Scrubber;
  /** A fetch that adds the headers, the bearer token and the TLS settings to every request. */
  fetch(hooks?: FetchHooks): FetchLike;
}

/**
 * The secrets of `spec` known without reading a file: URL credentials, the bearer token, header values.
 * A token file's contents join once read (see {@link openClusterTransport}).
 */
export function specScrubber(spec: ClusterSpec): Scrubber {
  const scrubber = new Scrubber(urlSecrets(spec.mcp_endpoint));
  if (spec.auth?.bearer_token) scrubber.add(spec.auth.bearer_token);
  for (const value of Object.values(spec.headers ?? {})) scrubber.add(value);
  return scrubber;
}

/**
 * Reads what a connection attempt to `spec`'s server needs (the token file, the CA, the client
 * certificate and key) and returns its transport. Throws {@link CredentialFileError} naming the field.
 * The token read is added to `scrubber`.
 */
export function openClusterTransport(
  spec: ClusterSpec,
  scrubber: Scrubber = specScrubber(spec),
  sendWith: SendWith = defaultSendWith,
): ClusterTransport {
  const read = <T>(field: string, reader: () => T): T => {
    try {
      return reader();
    } catch (error) {
      if (error instanceof SecretFileError) throw new CredentialFileError(fieldOf(spec, field), error);
      throw error;
    }
  };
  const tokenFile = spec.auth?.bearer_token_file;
  const token = tokenFile
    ? read("auth.bearer_token_file", () => readTokenFile(tokenFile))
    : spec.auth?.bearer_token;
  if (token) scrubber.add(token);
  const send = sendWith(poolTls(spec, read), new URL(spec.mcp_endpoint));
  const shownEndpoint = redactUrl(spec.mcp_endpoint);
  const refusal = (status: number) => credentialsRefused(spec, shownEndpoint, status);
  const extraHeaders = Object.entries(spec.headers ?? {});
  // Without headers or a token to add, a request goes out as the SDK built it (no copy of its headers).
  const plain = extraHeaders.length === 0 && !token;
  return {
    shownEndpoint,
    scrubber,
    fetch: (hooks = {}) => {
      return async (url, init) => {
        let request = init;
        if (!plain) {
          const headers = new Headers(init?.headers);
          for (const [name, value] of extraHeaders) headers.set(name, value);
          if (token) headers.set("authorization", `Bearer ${token}`);
          request = { ...init, headers };
        }
        const response = await send(url, request);
        if (response.status === 401 || response.status === 403) hooks.onRefused?.(refusal(response.status));
        return response;
      };
    },
  };
}

/** The TLS settings of `spec` for the pool (empty when it sets none), its PEM files read through `read`. */
function poolTls(spec: ClusterSpec, read: <T>(field: string, reader: () => T) => T): PoolTls {
  const settings = spec.tls;
  if (!settings) return {};
  const { ca_file, cert_file, key_file } = settings;
  return {
    ...(ca_file ? { ca: read("tls.ca_file", () => readPemFile(ca_file, "certificate")) } : {}),
    ...(cert_file ? { cert: read("tls.cert_file", () => readPemFile(cert_file, "certificate")) } : {}),
    ...(key_file ? { key: read("tls.key_file", () => readPemFile(key_file, "private key")) } : {}),
    ...(settings.server_name ? { servername: settings.server_name } : {}),
    ...(settings.insecure_skip_verify ? { rejectUnauthorized: false } : {}),
  };
}

/** The config field holding the credentials `spec` sends, or null when it sends none. */
export function credentialsField(spec: ClusterSpec): string | null {
  if (spec.auth?.bearer_token_file) return fieldOf(spec, "auth.bearer_token_file");
  if (spec.auth?.bearer_token) return fieldOf(spec, "auth.bearer_token");
  const header = Object.keys(spec.headers ?? {}).find((name) => name.toLowerCase() === "authorization");
  if (header) return fieldOf(spec, `headers.${header}`);
  if (/^[a-z]+:\/\/[^/]*@/i.test(spec.mcp_endpoint)) return fieldOf(spec, "mcp_endpoint");
  return null;
}

/** The `last_error` of a server that answered 401/403: the credentials were refused, and which field. */
export function credentialsRefused(spec: ClusterSpec, shownEndpoint: string, status: number): string {
  const what = status === 403 ? "HTTP 403 Forbidden" : "HTTP 401 Unauthorized";
  const field = credentialsField(spec);
  if (field) return `credentials refused by ${shownEndpoint} (${what}): check ${field}`;
  return `${shownEndpoint} requires credentials (${what}): set ${fieldOf(spec, "auth.bearer_token")} or ${fieldOf(spec, "auth.bearer_token_file")}`;
}

/** The warning logged at every start for a cluster whose server certificate is not verified. */
export function insecureWarning(spec: ClusterSpec): string | null {
  if (!spec.tls?.insecure_skip_verify) return null;
  return `${fieldOf(spec, "tls.insecure_skip_verify")} is true: the server's certificate is not verified, so anyone in between can read the credentials sent and forge events`;
}
