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
  stop(): Promise<void>;
}

/** Proxies every request to `target` (an absolute URL); paths are kept. `delayGetMs` holds each GET (an
 * event stream) that long before passing it on, so the server attaches the stream late. */
export function startBlackholeProxy(target: string, options: { delayGetMs?: number } = {}): BlackholeProxy {
  const upstream = new URL(target);
  let silent = false;
  let requests = 0;
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
      if (request.method === "GET" && options.delayGetMs) await Bun.sleep(options.delayGetMs);
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
    },
  });
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
    stop: () => server.stop(true),
  };
}
