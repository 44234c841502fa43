/**
 * The idle-pool benchmark's server process (scripts/bench-pool.ts): `groups × clusters` HTTPS listeners on
 * loopback, one port per cluster like a real fleet, each answering like an MCP endpoint would for the
 * traffic measured: a GET opens an event stream (`: ok` and then nothing, like a quiet server), a POST
 * (a ping) gets a small JSON-RPC answer. Idle keep-alive connections are never closed by the server
 * (kubernetes-mcp-server's Go server has no idle timeout by default), so every new connection counted
 * is the client's doing.
 *
 *   bun scripts/bench/pool-server.ts '{"groups":2,"clusters":300,"cert":"server.pem","key":"key.pem"}'
 *
 * Prints `{ "type": "ready", "ports": [[group 0's ports], …] }`, then answers each stdin command line
 * `{ "cmd": "counts", "id": … }` with `{ id, groups: [{ accepted, handshakes, open }] }`: TCP connections
 * accepted, TLS handshakes completed (full or resumed) and connections open now, per group. (Bun's
 * `node:https` server reports a connection once its handshake is done, so `accepted` equals `handshakes`
 * unless a handshake fails.)
 */
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { printJson, stdinCommands } from "./context.ts";

interface ServerOptions {
  groups: number;
  clusters: number;
  cert: string;
  key: string;
}

interface GroupCounts {
  accepted: number;
  handshakes: number;
  open: number;
}

const PING_ANSWER = JSON.stringify({ jsonrpc: "2.0", id: 1, result: {} });

function answer(request: IncomingMessage, response: ServerResponse): void {
  if (request.method === "GET") {
    response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    response.write(": ok\n\n");
    return; // held open until the client goes
  }
  request.resume();
  request.on("end", () => {
    response.writeHead(200, { "content-type": "application/json" });
    response.end(PING_ANSWER);
  });
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? "{}") as ServerOptions;
  const tls = { cert: readFileSync(options.cert), key: readFileSync(options.key) };
  const counts: GroupCounts[] = [];
  const ports: number[][] = [];
  for (let group = 0; group < options.groups; group++) {
    const tally: GroupCounts = { accepted: 0, handshakes: 0, open: 0 };
    counts.push(tally);
    const groupPorts: number[] = [];
    ports.push(groupPorts);
    for (let cluster = 0; cluster < options.clusters; cluster++) {
      const server = https.createServer(tls, answer);
      server.keepAliveTimeout = 600_000; // longer than any run: idle connections stay
      server.requestTimeout = 0;
      server.on("connection", (socket) => {
        tally.accepted++;
        tally.open++;
        socket.once("close", () => tally.open--);
      });
      server.on("secureConnection", () => tally.handshakes++);
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      groupPorts.push((server.address() as AddressInfo).port);
    }
  }
  printJson({ type: "ready", ports });
  for await (const command of stdinCommands()) {
    if (command.cmd === "counts") printJson({ id: command.id, groups: counts });
  }
}

await main();
