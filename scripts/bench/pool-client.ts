/**
 * The idle-pool benchmark's client process (scripts/bench-pool.ts): one process per HTTP client under
 * test, doing for every cluster what a faultline connection does on the wire between events: one standing
 * event-stream GET, and a small POST (a ping) every `intervalMs`, the clusters' pings spread evenly over
 * the interval. A broken stream is reopened after a second.
 *
 *   bun scripts/bench/pool-client.ts '{"client":"pool","ports":[…],"ca":"ca.pem","intervalMs":1000}'
 *
 * Clients (`client`):
 * - `bun-fetch`: Bun's global `fetch` with `tls: { ca }`, one CA for every cluster (today's transport);
 * - `bun-fetch-ca-each`: the same with a CA text of its own per cluster (a CA per cluster);
 * - `pool`: src/runtime/http-pool.ts, one CA for every cluster;
 * - `pool-ca-each`: src/runtime/http-pool.ts with a CA text of its own per cluster;
 * - `undici`: undici's `fetch` with one `Agent` (keep-alive 10 min), one CA; needs `undiciPath`, the
 *   directory of an installed npm `undici` (Bun answers a bare `undici` import with its own stub).
 *
 * "A CA text of its own" is the same CA certificate followed by a comment line naming the cluster: PEM
 * readers skip it, so trust is unchanged, while each cluster's TLS configuration differs, as with
 * clusters that each have their own CA file.
 *
 * Prints `{ "type": "ready" }` once every stream is open, then answers stdin command lines with the
 * command's `id`: `{ cmd: "stats" }` → pings done, failed and skipped (the previous one still running),
 * ping latency p50/p99 in ms, streams open, stream breaks, RSS bytes; `{ cmd: "reset" }` zeroes them.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createHttpPool, type PooledFetch } from "../../src/runtime/http-pool.ts";
import { sleep } from "../../src/runtime/sleep.ts";
import { printJson, stdinCommands } from "./context.ts";

interface ClientOptions {
  client: string;
  ports: number[];
  ca: string;
  intervalMs: number;
  undiciPath?: string;
}

type ClusterFetch = (url: string, init: RequestInit) => Promise<Response>;

const PING_BODY = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" });
const STREAM_RETRY_MS = 1000;

/** One fetch per cluster for `client`. */
async function clusterFetches(options: ClientOptions): Promise<ClusterFetch[]> {
  const ca = readFileSync(options.ca, "utf8");
  const caOf = (cluster: number) => `${ca}\n# cluster ${cluster}\n`;
  const clusters = options.ports.map((_, index) => index);
  switch (options.client) {
    case "bun-fetch":
      return clusters.map(() => (url, init) => fetch(url, { ...init, tls: { ca } }));
    case "bun-fetch-ca-each":
      return clusters.map((index) => {
        const tls = { ca: caOf(index) };
        return (url, init) => fetch(url, { ...init, tls });
      });
    case "pool": {
      const pooled: PooledFetch = createHttpPool().fetchWith({ ca });
      return clusters.map(() => pooled);
    }
    case "pool-ca-each": {
      const pool = createHttpPool();
      return clusters.map((index) => pool.fetchWith({ ca: caOf(index) }));
    }
    case "undici": {
      if (!options.undiciPath) throw new Error("undici: pass --undici-path DIR (an installed npm undici)");
      const undici = await import(join(options.undiciPath, "index.js"));
      const agent = new undici.Agent({
        keepAliveTimeout: 600_000,
        keepAliveMaxTimeout: 600_000,
        connect: { ca },
      });
      const undiciFetch = undici.fetch as (url: string, init: unknown) => Promise<Response>;
      return clusters.map(() => (url, init) => undiciFetch(url, { ...init, dispatcher: agent }));
    }
    default:
      throw new Error(`unknown client ${options.client}`);
  }
}

/** What the client counted since the last reset. */
const tally = { pings: 0, failed: 0, skipped: 0, streamBreaks: 0, latencies: [] as number[] };
let streamsOpen = 0;

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const at = Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length));
  return Math.round((sorted[at] as number) * 100) / 100;
}

/** Keeps one event stream open to `url`, reopening it after a break; resolves once it first opened. */
function standingStream(fetchFor: ClusterFetch, url: string): Promise<void> {
  const opened = Promise.withResolvers<void>();
  const run = async (): Promise<void> => {
    for (;;) {
      let counted = false;
      try {
        const response = await fetchFor(url, { headers: { accept: "text/event-stream" } });
        if (!response.body) throw new Error(`no body (HTTP ${response.status})`);
        const reader = response.body.getReader();
        await reader.read(); // ": ok"
        streamsOpen++;
        counted = true;
        opened.resolve();
        while (!(await reader.read()).done) {
          // the server sends nothing more
        }
      } catch {
        // broken: counted below, reopened after a pause
      }
      if (counted) streamsOpen--;
      tally.streamBreaks++;
      await sleep(STREAM_RETRY_MS);
    }
  };
  void run();
  return opened.promise;
}

/** Pings `url` every `intervalMs` after `offsetMs`; a ping still running when the next is due is skipped. */
function pingLoop(fetchFor: ClusterFetch, url: string, intervalMs: number, offsetMs: number): void {
  let running = false;
  const ping = async () => {
    if (running) {
      tally.skipped++;
      return;
    }
    running = true;
    const started = performance.now();
    try {
      const response = await fetchFor(url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
        body: PING_BODY,
      });
      await response.text();
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      tally.pings++;
      tally.latencies.push(performance.now() - started);
    } catch {
      tally.failed++;
    } finally {
      running = false;
    }
  };
  setTimeout(() => {
    void ping();
    setInterval(() => void ping(), intervalMs);
  }, offsetMs);
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? "{}") as ClientOptions;
  const fetches = await clusterFetches(options);
  const urls = options.ports.map((port) => `https://127.0.0.1:${port}/mcp`);
  await Promise.all(urls.map((url, index) => standingStream(fetches[index] as ClusterFetch, url)));
  urls.forEach((url, index) => {
    const offset = (index / urls.length) * options.intervalMs;
    pingLoop(fetches[index] as ClusterFetch, url, options.intervalMs, offset);
  });
  printJson({ type: "ready" });
  for await (const command of stdinCommands()) {
    if (command.cmd === "reset") {
      tally.pings = tally.failed = tally.skipped = tally.streamBreaks = 0;
      tally.latencies = [];
      printJson({ id: command.id });
    } else if (command.cmd === "stats") {
      const sorted = [...tally.latencies].sort((a, b) => a - b);
      printJson({
        id: command.id,
        pings: tally.pings,
        failed: tally.failed,
        skipped: tally.skipped,
        p50_ms: percentile(sorted, 50),
        p99_ms: percentile(sorted, 99),
        streams_open: streamsOpen,
        stream_breaks: tally.streamBreaks,
        rss: process.memoryUsage().rss,
      });
    }
  }
}

await main();
