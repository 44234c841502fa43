/** Serves a hono app with Bun.serve on the configured address. */
import type { Hono } from "hono";
import type { ListenAddress } from "../config/types.ts";

/** A running HTTP server. */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts serving `app`; port 0 picks a free port. Throws with the address when it cannot listen. */
export function serve(app: Hono, listen: ListenAddress): RunningServer {
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({ hostname: listen.hostname, port: listen.port, fetch: app.fetch });
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(`health server cannot listen on ${listen.hostname}:${listen.port}: ${why}`);
  }
  const host = listen.hostname.includes(":") ? `[${listen.hostname}]` : listen.hostname;
  const port = server.port ?? listen.port;
  return {
    url: `http://${host}:${port}`,
    port,
    stop: () => server.stop(true),
  };
}
