/** Loopback servers answering JSON-RPC POSTs as a test says, for requests sent outside the MCP SDK. */

/** What a test server saw of one request. */
export interface SeenRequest {
  headers: Headers;
  body: { id: string; method: string; params?: Record<string, unknown> };
}

/** How a test server answers a request. */
export type RpcAnswer = (seen: SeenRequest) => Response;

const running = new Set<ReturnType<typeof Bun.serve>>();

/** A loopback server answering every POST with `answer`; returns its MCP URL and what it saw. */
export function serveRpc(answer: RpcAnswer): { url: URL; seen: SeenRequest[] } {
  const seen: SeenRequest[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async (request) => {
      const entry = { headers: request.headers, body: (await request.json()) as SeenRequest["body"] };
      seen.push(entry);
      return answer(entry);
    },
  });
  running.add(server);
  return { url: new URL(`http://127.0.0.1:${server.port}/mcp`), seen };
}

/** Stops every server {@link serveRpc} started (for `afterEach`). */
export async function stopRpcServers(): Promise<void> {
  const servers = [...running];
  running.clear();
  await Promise.all(servers.map((server) => server.stop(true)));
}
