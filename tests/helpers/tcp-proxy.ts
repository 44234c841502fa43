/**
 * A TCP proxy on loopback that can cut its target off: while cut, every open connection is destroyed
 * and new ones are closed at once, so a client sees its server (e.g. PostgreSQL) unreachable; uncut, it
 * forwards again. Used to fence a replica without touching the server the others use. It can also
 * slow its target down: with a delay set, every answer reaches the client that much later (in order),
 * as a database on a loaded machine would answer.
 */
import { createConnection, createServer, type Socket } from "node:net";

/** A running proxy. */
export interface TcpProxy {
  /** The port it listens on (127.0.0.1). */
  port: number;
  /** Cuts (true) or restores (false) the target. */
  cut(on: boolean): void;
  /** Delays every answer from the target by `ms` (0: none). */
  delay(ms: number): void;
  stop(): Promise<void>;
}

/** Starts a proxy on a free 127.0.0.1 port to `127.0.0.1:targetPort`. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let cut = false;
  let delayMs = 0;
  const server = createServer((client) => {
    if (cut) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: "127.0.0.1", port: targetPort });
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on("close", () => open.delete(socket));
      socket.on("error", () => {});
    }
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.pipe(upstream);
    // Answers in order: a chunk waits for the delay, and for the chunks before it.
    let previous = Promise.resolve();
    upstream.on("data", (chunk: Buffer) => {
      const due = Date.now() + delayMs;
      previous = previous.then(async () => {
        const wait = due - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        if (!client.destroyed) client.write(chunk);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the proxy has no port");
  return {
    port: address.port,
    cut(on) {
      cut = on;
      if (on) for (const socket of open) socket.destroy();
    },
    delay(ms) {
      delayMs = ms;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
