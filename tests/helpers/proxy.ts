/**
 * An HTTP proxy on loopback that can go silent: in blackhole mode new requests are never answered
 * and open streams stop carrying data, while every TCP connection stays open. This is how a dead
 * peer behind a NAT or a hung server looks to a client.
 */

/** A running proxy. */
export interface BlackholeProxy {
  /** `http://127.0.0.1:PORT` + the target's path. */
  url: string;
  blackhole(on: boolean): void;
  /** Requests proxied so far. */
  readonly requests: number;
  /** Distinct client TCP connections (source ports) seen so far. */
  readonly connections: number;
  /** The most `initialize` requests (POSTs without a session id) waiting for their answer at once. */
  readonly maxInitializing: number;
  stop(): Promise<void>;
}

/**
 * Proxies every request to `target` (an absolute URL); paths are kept. `delayMs` holds every request
 * that long before passing it on (a link with that much latency). `delayGetMs` holds each GET (an
 * event stream) that long more, so the server attaches the stream late. `initializeMs`
 * makes a busy server: `initialize` requests are handled one at a time, each taking that long, so the
 * more wait at once, the longer each waits (a server, or a client, with a fixed share of a CPU).
 */
export function startBlackholeProxy(
  target: string,
  options: { delayMs?: number; delayGetMs?: number; initializeMs?: number } = {},
): BlackholeProxy {
  const upstream = new URL(target);
  let silent = false;
  let requests = 0;
  let initializing = 0;
  let maxInitializing = 0;
  let initializeQueue = Promise.resolve();
  const clientPorts = new Set<number>();
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    async fetch(request, self) {
      requests++;
      const port = self.requestIP(request)?.port;
      if (port !== undefined) clientPorts.add(port);
      if (silent) return new Promise<Response>(() => {});
      if (options.delayMs) await Bun.sleep(options.delayMs);
      if (request.method === "GET" && options.delayGetMs) await Bun.sleep(options.delayGetMs);
      const initialize = request.method === "POST" && !request.headers.has("mcp-session-id");
      if (initialize) {
        maxInitializing = Math.max(maxInitializing, ++initializing);
        const turn = initializeQueue.then(() => Bun.sleep(options.initializeMs ?? 0));
        initializeQueue = turn;
        await turn;
      }
      try {
        return await forward(request);
      } finally {
        if (initialize) initializing--;
      }
    },
  });
  /** Passes `request` on to the target; its answer's body stops while the proxy is silent. */
  async function forward(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const response = await fetch(new URL(url.pathname + url.search, upstream), {
      method: request.method,
      headers: request.headers,
      body: request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer(),
    });
    if (!response.body) return response;
    const reader = response.body.getReader();
    const gated = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else if (!silent) controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    });
    return new Response(gated, { status: response.status, headers: response.headers });
  }

  return {
    url: `http://127.0.0.1:${server.port}${upstream.pathname}`,
    blackhole: (on) => {
      silent = on;
    },
    get requests() {
      return requests;
    },
    get connections() {
      return clientPorts.size;
    },
    get maxInitializing() {
      return maxInitializing;
    },
    stop: () => server.stop(true),
  };
}
