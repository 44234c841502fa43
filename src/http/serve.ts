/** Serves a hono app on the configured address, with the runtime's HTTP server (`runtime/http-server.ts`). */

import type { Hono } from "hono";
import type { ListenAddress } from "../config/types.ts";
import { errorMessage } from "../log.ts";
import { type HttpListener, listen } from "../runtime/http-server.ts";

/** A running HTTP server. */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts serving `app`; port 0 picks a free port. Throws with the address when it cannot listen. */
export function serve(app: Hono, address: ListenAddress): RunningServer {
  let server: HttpListener;
  try {
    server = listen(app.fetch, { hostname: address.hostname, port: address.port });
  } catch (error) {
    const why = errorMessage(error);
    throw new Error(`health server cannot listen on ${address.hostname}:${address.port}: ${why}`);
  }
  const host = address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname;
  return {
    url: `http://${host}:${server.port}`,
    port: server.port,
    stop: () => server.stop(),
  };
}
