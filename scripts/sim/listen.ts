/**
 * The simulator's HTTP listeners on Bun and on Deno: `Bun.serve` under Bun (unchanged: the simulator is
 * the benchmark's load generator), `Deno.serve` under Deno. Picked once per listener, never per request.
 */

/** What a listener serves, and where. */
export interface ListenOptions {
  hostname: string;
  /** 0: any free port. */
  port: number;
  fetch: (request: Request) => Response | Promise<Response>;
  /** Answers a request whose handler threw. */
  error?: (error: Error) => Response;
  /** HTTPS; `ca` makes client certificates required and checked (Bun only). */
  tls?: { cert: string; key: string; ca?: string };
}

/** A running listener. */
export interface Listener {
  /** The port it listens on (the free one picked for port 0). */
  readonly port: number;
  /** Stops listening and closes every open connection at once (open streams included). */
  stop(): Promise<void>;
}

interface DenoServeOptions {
  hostname: string;
  port: number;
  signal: AbortSignal;
  onListen: () => void;
  onError?: (error: unknown) => Response;
  cert?: string;
  key?: string;
}

interface DenoServer {
  addr: { port: number };
  finished: Promise<void>;
}

interface DenoGlobal {
  serve(options: DenoServeOptions, handler: (request: Request) => Response | Promise<Response>): DenoServer;
}

/**
 * Starts listening at once (throws when the port is taken).
 *
 * @example
 * ```ts
 * const listener = listen({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("ok") });
 * await fetch(`http://127.0.0.1:${listener.port}/`);
 * await listener.stop();
 * ```
 */
export function listen(options: ListenOptions): Listener {
  const deno = (globalThis as { Deno?: DenoGlobal }).Deno;
  return deno ? listenDeno(deno, options) : listenBun(options);
}

function listenBun(options: ListenOptions): Listener {
  const server = Bun.serve({
    hostname: options.hostname,
    port: options.port,
    idleTimeout: 0,
    development: false,
    ...(options.tls ? { tls: bunTls(options.tls) } : {}),
    fetch: options.fetch,
    ...(options.error ? { error: options.error } : {}),
  });
  return { port: server.port ?? options.port, stop: () => server.stop(true) };
}

/** Bun.serve's TLS options: with a CA, client certificates are required and checked. */
function bunTls({ cert, key, ca }: NonNullable<ListenOptions["tls"]>): Bun.TLSOptions {
  return ca ? { cert, key, ca, requestCert: true, rejectUnauthorized: true } : { cert, key };
}

function listenDeno(deno: DenoGlobal, options: ListenOptions): Listener {
  if (options.tls?.ca) throw new Error("client certificates (tls.ca) are simulated under Bun only");
  const stopping = new AbortController();
  const onError = options.error;
  const server = deno.serve(
    {
      hostname: options.hostname,
      port: options.port,
      // Aborting closes every connection at once; server.shutdown() would wait for open SSE streams.
      signal: stopping.signal,
      onListen: () => {},
      ...(onError
        ? { onError: (error) => onError(error instanceof Error ? error : new Error(String(error))) }
        : {}),
      ...(options.tls ? { cert: options.tls.cert, key: options.tls.key } : {}),
    },
    options.fetch,
  );
  return {
    port: server.addr.port,
    stop: async () => {
      stopping.abort();
      await server.finished;
    },
  };
}
