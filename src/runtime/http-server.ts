/**
 * Serving HTTP with the runtime's own server: `Bun.serve` under Bun, `Deno.serve` under Deno (both
 * take a WHATWG `fetch` handler, e.g. a hono app's). Picked once, when this module loads. The runtime
 * globals are reached through `globalThis` with the few types used here, so this file type-checks
 * under both runtimes' type definitions.
 */

/** Who sent a request, as the server saw the connection (hono hands it to routes as `c.env`). */
export interface ClientInfo {
  /** The peer's IP address (a proxy's, behind one), or null when the runtime does not say. */
  remoteAddress: string | null;
}

/** A WHATWG request handler, told the client's address (e.g. a hono app's `fetch`). */
export type FetchHandler = (request: Request, client: ClientInfo) => Response | Promise<Response>;

/** A server that is listening. */
export interface HttpListener {
  /** The port it listens on (the one picked when asked for port 0). */
  readonly port: number;
  /** Stops accepting, closes open connections, and resolves once it is closed. */
  stop(): Promise<void>;
}

/** Where to listen. */
export interface ListenOptions {
  hostname: string;
  /** 0 picks a free port. */
  port: number;
}

/** `Bun.serve`, as used here. */
interface BunServeApi {
  serve(options: {
    hostname: string;
    port: number;
    fetch: (
      request: Request,
      server: { requestIP(request: Request): { address: string } | null },
    ) => Response | Promise<Response>;
  }): {
    port?: number;
    stop(closeActiveConnections?: boolean): Promise<void>;
  };
}

/** `Deno.serve`, as used here. */
interface DenoServeApi {
  serve(
    options: { hostname: string; port: number; onListen?: () => void },
    handler: (request: Request, info: { remoteAddr: { hostname?: string } }) => Response | Promise<Response>,
  ): { addr: { port: number }; shutdown(): Promise<void> };
}

const runtime = globalThis as { Bun?: BunServeApi; Deno?: DenoServeApi };

/**
 * Starts serving `handler` on `options`; throws (the runtime's error) when it cannot listen.
 *
 * @example
 * ```ts
 * const server = listen(app.fetch, { hostname: "127.0.0.1", port: 0 });
 * await fetch(`http://127.0.0.1:${server.port}/livez`);
 * await server.stop();
 * ```
 */
export const listen: (handler: FetchHandler, options: ListenOptions) => HttpListener = runtime.Bun
  ? bunListen(runtime.Bun)
  : runtime.Deno
    ? denoListen(runtime.Deno)
    : unsupported;

function bunListen(bun: BunServeApi) {
  return (handler: FetchHandler, options: ListenOptions): HttpListener => {
    const server = bun.serve({
      hostname: options.hostname,
      port: options.port,
      fetch: (request, self) => handler(request, { remoteAddress: self.requestIP(request)?.address ?? null }),
    });
    return { port: server.port ?? options.port, stop: () => server.stop(true) };
  };
}

function denoListen(deno: DenoServeApi) {
  return (handler: FetchHandler, options: ListenOptions): HttpListener => {
    // onListen: without it Deno prints "Listening on …" to stdout, which carries faultline's JSON logs.
    const server = deno.serve(
      { hostname: options.hostname, port: options.port, onListen: () => {} },
      (request, info) => handler(request, { remoteAddress: info.remoteAddr.hostname ?? null }),
    );
    return { port: server.addr.port, stop: () => server.shutdown() };
  };
}

function unsupported(): HttpListener {
  throw new Error("serving HTTP needs Bun or Deno");
}
