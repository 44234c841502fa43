/**
 * A notification receiver for tests: a real HTTP server on loopback that records every request it
 * gets (path, headers, raw body) and answers as the test says (e.g. 500 three times, then 200).
 */

/** One request a {@link Receiver} got. */
export interface ReceivedRequest {
  path: string;
  headers: Record<string, string>;
  /** The raw body (signatures are over these exact bytes). */
  body: string;
  /** The status it was answered with (0: never answered). */
  status: number;
  /** When it arrived (ms since the epoch). */
  at: number;
}

/** How to answer a request: a status, optional headers and body. `hang` never answers. */
export type Reply = { status: number; headers?: Record<string, string>; body?: string } | "hang";

/** A running receiver. */
export interface Receiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** Requests to `path`. */
  at(path: string): ReceivedRequest[];
  stop(): Promise<void>;
}

/**
 * Starts a receiver on 127.0.0.1 (`port` 0: any free port). `reply(path, n)` answers the `n`-th
 * request (0-based) to `path`; the default answers 200.
 */
export function startReceiver(
  reply: (path: string, n: number) => Reply = () => ({ status: 200 }),
  port = 0,
): Receiver {
  const requests: ReceivedRequest[] = [];
  const counts = new Map<string, number>();
  const hung: Array<() => void> = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port,
    async fetch(request) {
      const path = new URL(request.url).pathname;
      const n = counts.get(path) ?? 0;
      counts.set(path, n + 1);
      const body = await request.text();
      const answer = reply(path, n);
      if (answer === "hang") {
        requests.push({
          path,
          headers: Object.fromEntries(request.headers),
          body,
          status: 0,
          at: Date.now(),
        });
        return new Promise<Response>((resolve) =>
          hung.push(() => resolve(new Response(null, { status: 503 }))),
        );
      }
      requests.push({
        path,
        headers: Object.fromEntries(request.headers),
        body,
        status: answer.status,
        at: Date.now(),
      });
      return new Response(answer.body ?? "", { status: answer.status, headers: answer.headers });
    },
  });
  const actualPort = server.port ?? port;
  return {
    url: `http://127.0.0.1:${actualPort}`,
    port: actualPort,
    requests,
    at: (path) => requests.filter((r) => r.path === path),
    stop: async () => {
      for (const release of hung) release();
      await server.stop(true);
    },
  };
}

/** A loopback port that was free a moment ago (nothing listens on it now): for a receiver that is "down". */
export async function freePort(): Promise<number> {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port ?? 0;
  await probe.stop(true);
  return port;
}
