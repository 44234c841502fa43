/**
 * The pooled HTTP(S) client every cluster connection shares: a WHATWG `fetch` backed by one
 * `node:https`/`node:http` keep-alive agent per thread, so a fleet keeps one idle connection per cluster
 * between pings instead of opening a new one (and, over TLS, running a new handshake) each time.
 *
 * Why not Bun's own `fetch`: in Bun 1.4.5 its keep-alive pool keeps at most 64 idle connections per
 * process (per TLS configuration), and caches at most 60 custom TLS configurations, so past 64 clusters
 * (past 60 with a CA each) most pings open a new connection. Measured with `scripts/bench-pool.ts`; see
 * README "Performance". The agents here keep idle sockets per origin and TLS configuration with no
 * process-wide cap: at least one per cluster, for any number of clusters.
 *
 * What differs from the platform `fetch` (none of it used by the MCP transport): redirects are returned,
 * not followed (nor are credentials carried to another host); request bodies are buffered (no upload
 * streaming); no `Accept-Encoding` is sent, so bodies arrive as the server wrote them; no cache, no
 * cookies. Response bodies stream with backpressure: a reader that stops reading stops the socket.
 *
 * Under Deno the same agents work (Deno 2.9's `node:http`/`node:https` keep idle sockets and reuse
 * them); `Deno.createHttpClient` was not used because it has no per-client SNI name nor
 * `rejectUnauthorized: false`, and reports no socket counts for {@link HttpPool.stats}.
 */
import http from "node:http";
import https from "node:https";

/** TLS settings for one cluster's endpoint; PEM texts, already read from their files. */
export interface PoolTls {
  /** CA certificates (PEM) to trust instead of the built-in roots. */
  readonly ca?: string | readonly string[];
  /** Client certificate chain (PEM) for mutual TLS. */
  readonly cert?: string;
  /** The client certificate's private key (PEM). */
  readonly key?: string;
  /** The name sent as SNI and checked against the server certificate, when it differs from the URL host. */
  readonly servername?: string;
  /** false: accept any server certificate (`insecure_skip_verify`). Default true. */
  readonly rejectUnauthorized?: boolean;
}

/** A WHATWG-fetch-compatible function (what the MCP SDK's `StreamableHTTPClientTransport` takes). */
export type PooledFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** Sizes of a pool. */
export interface HttpPoolOptions {
  /** Idle connections kept per origin and TLS configuration (default 4). There is no cap across origins. */
  readonly maxIdlePerOrigin?: number;
  /** Delay before TCP keep-alive probes start on a socket, in ms (default 30,000); finds dead idle peers. */
  readonly tcpKeepAliveMs?: number;
}

/** Connections a pool holds now. */
export interface HttpPoolStats {
  /** Sockets carrying a request or a streaming response. */
  readonly active: number;
  /** Open sockets waiting for the next request. */
  readonly idle: number;
}

/** A keep-alive connection pool and the fetch functions that use it. */
export interface HttpPool {
  /**
   * A fetch whose requests go through this pool with `tls` (for `https:` URLs; ignored for `http:`).
   * Clusters with equal settings share connections to the same origin; different settings never do.
   */
  fetchWith(tls?: PoolTls): PooledFetch;
  /** Sockets open now, active and idle. */
  stats(): HttpPoolStats;
  /** Closes every socket, idle or not; requests in flight fail. */
  close(): void;
}

/** Idle connections per origin unless told otherwise: a cluster's ping, DELETE and spare. */
const DEFAULT_MAX_IDLE_PER_ORIGIN = 4;
const DEFAULT_TCP_KEEPALIVE_MS = 30_000;
/** Statuses whose responses have no body (`new Response` refuses one). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);
/** Response bytes read ahead of the body's reader before the socket is paused. */
const BODY_BUFFER_BYTES = 64 * 1024;

/**
 * A connection pool: one `http.Agent` and one `https.Agent`, each keeping idle sockets per origin and (for
 * TLS) per TLS configuration, with no process-wide cap.
 *
 * @example
 * ```ts
 * const pool = createHttpPool();
 * const fetch = pool.fetchWith({ ca: readFileSync("ca.pem", "utf8"), servername: "mcp.internal" });
 * const transport = new StreamableHTTPClientTransport(new URL(endpoint), { fetch });
 * ```
 */
export function createHttpPool(options: HttpPoolOptions = {}): HttpPool {
  const agentOptions: http.AgentOptions = {
    keepAlive: true,
    keepAliveMsecs: options.tcpKeepAliveMs ?? DEFAULT_TCP_KEEPALIVE_MS,
    maxFreeSockets: options.maxIdlePerOrigin ?? DEFAULT_MAX_IDLE_PER_ORIGIN,
    maxSockets: Number.POSITIVE_INFINITY,
    maxTotalSockets: Number.POSITIVE_INFINITY,
    scheduling: "lifo",
  };
  const plain = new http.Agent(agentOptions);
  const secure = new https.Agent(agentOptions);
  const count = (sockets: NodeJS.ReadOnlyDict<unknown[]>): number =>
    Object.values(sockets).reduce((sum, list) => sum + (list?.length ?? 0), 0);
  return {
    fetchWith: (tls) => pooledFetch(plain, secure, tls ?? {}),
    stats: () => ({
      active: count(plain.sockets) + count(secure.sockets),
      idle: count(plain.freeSockets) + count(secure.freeSockets),
    }),
    close: () => {
      plain.destroy();
      secure.destroy();
    },
  };
}

let shared: HttpPool | null = null;

/** The pool of this thread (each worker thread has its own), made on first use. */
export function sharedHttpPool(): HttpPool {
  shared ??= createHttpPool();
  return shared;
}

/** `scheme://host:port` of `url`: what errors may name (no user-info, path or query, which can hold secrets). */
export function originOf(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

/** A request that never got a response: connection refused, reset, TLS refused, aborted. */
export class PooledFetchError extends TypeError {
  /** The underlying error's code (`ECONNREFUSED`, `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, `ABORT_ERR`…). */
  readonly code: string | undefined;

  constructor(origin: string, cause: unknown) {
    const code = codeOf(cause);
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`request to ${origin} failed: ${reason}${code && !reason.includes(code) ? ` (${code})` : ""}`, {
      cause,
    });
    this.name = "PooledFetchError";
    this.code = code;
  }
}

function codeOf(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null || !("code" in error)) return undefined;
  return typeof error.code === "string" ? error.code : undefined;
}

/** Node TLS options for `tls`; the agent keys its idle sockets by them. */
function tlsOptions(tls: PoolTls): https.RequestOptions {
  const options: https.RequestOptions = {};
  if (tls.ca !== undefined) options.ca = typeof tls.ca === "string" ? tls.ca : [...tls.ca];
  if (tls.cert !== undefined) options.cert = tls.cert;
  if (tls.key !== undefined) options.key = tls.key;
  if (tls.servername !== undefined) options.servername = tls.servername;
  if (tls.rejectUnauthorized === false) options.rejectUnauthorized = false;
  return options;
}

function pooledFetch(plain: http.Agent, secure: https.Agent, tls: PoolTls): PooledFetch {
  const tlsRequestOptions = tlsOptions(tls);
  return async (input, init) => {
    const request = input instanceof Request ? new Request(input, init) : new Request(String(input), init);
    const url = new URL(request.url);
    const origin = originOf(url);
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new PooledFetchError(origin, new Error(`unsupported protocol ${url.protocol}`));
    }
    request.signal.throwIfAborted();
    const body = request.body === null ? null : new Uint8Array(await request.arrayBuffer());
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });
    if (body !== null) headers["content-length"] = String(body.byteLength);
    const secureUrl = url.protocol === "https:";
    const options: https.RequestOptions = {
      ...(secureUrl ? tlsRequestOptions : {}),
      agent: secureUrl ? secure : plain,
      method: request.method,
      headers,
      signal: request.signal,
    };
    const send = secureUrl ? https.request : http.request;
    return await new Promise<Response>((resolve, reject) => {
      const outgoing = send(url, options, (incoming) => resolve(toResponse(incoming, request.method)));
      outgoing.on("error", (error) => reject(new PooledFetchError(origin, error)));
      outgoing.end(body ?? undefined);
    });
  };
}

/** A WHATWG Response whose body streams `incoming` with backpressure. */
function toResponse(incoming: http.IncomingMessage, method: string): Response {
  const status = incoming.statusCode ?? 0;
  const headers = new Headers();
  const raw = incoming.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string);
  const init = { status, statusText: incoming.statusMessage ?? "", headers };
  if (NULL_BODY_STATUSES.has(status) || method === "HEAD") {
    incoming.resume();
    return new Response(null, init);
  }
  return new Response(bodyStream(incoming), init);
}

/** The body of `incoming` as a byte stream: paused while the reader is behind, destroyed on cancel. */
function bodyStream(incoming: http.IncomingMessage): ReadableStream<Uint8Array> {
  let settled = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const fail = (error: unknown) => {
          if (settled) return;
          settled = true;
          controller.error(error);
        };
        incoming.on("data", (chunk: Buffer) => {
          if (settled) return;
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 0) <= 0) incoming.pause();
        });
        incoming.on("end", () => {
          if (settled) return;
          settled = true;
          controller.close();
        });
        incoming.on("error", fail);
        incoming.on("close", () => fail(new Error("response body cut off: the connection closed")));
      },
      pull() {
        incoming.resume();
      },
      cancel() {
        settled = true;
        incoming.destroy();
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: BODY_BUFFER_BYTES }),
  );
}
