/**
 * The naive baseline the benchmark compares faultline with: one thread, one MCP SDK `Client` +
 * `StreamableHTTPClientTransport` per cluster, no worker threads, no store, no supervision beyond a plain
 * retry. Each cluster: initialize → logging/setLevel("info") → events_subscribe { mode: "faults" }; then it
 * only counts the fault notifications it receives.
 *
 *   BUN_CONFIG_MAX_HTTP_REQUESTS=2064 bun scripts/baseline.ts --endpoints-file endpoints.json [--count N]
 *     [--ping-seconds S]
 *
 * With `--ping-seconds S`, each subscribed client pings its server every S seconds (as faultline does), so
 * an idle fleet costs the baseline what its pings cost.
 *
 * `endpoints.json` is `{ "clusters": [{ "name", "endpoint" }] }` (what scripts/bench/sim-process.ts and
 * scripts/sim.ts print). With 256 clusters or more, Bun's in-flight request cap must be raised at launch
 * (see src/runtime/http-capacity.ts), or connections past it hang.
 *
 * Output, JSON lines on stdout:
 * - `{ type: "active", at, started_at, clusters, attempts }` once every cluster is subscribed (`at` and
 *   `started_at` are wall-clock ms, `performance.timeOrigin + performance.now()`).
 * - `{ type: "failed", cluster, error }` for each failed attempt (it retries after 1 s).
 *
 * Commands, JSON lines on stdin (each answer carries the command's `id`):
 * - `{ cmd: "expect", tag, count }`: answers `{ tag, count, at }` once `count` notifications of that tag
 *   (see scripts/bench/context.ts) have arrived; `at` is when the last of them arrived.
 * - `{ cmd: "report", tag }`: answers `{ tag, count, first_ms, last_ms, latencies }`, `latencies` being
 *   receive time minus send time (ms) of each notification of that tag, in arrival order.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { sleep } from "../src/runtime/sleep.ts";
import { parseBenchContext, printJson, wallMs } from "./bench/context.ts";
import { lines } from "./lines.ts";

const RETRY_DELAY_MS = 1000;
const MAX_ATTEMPTS = 10;

/** Notifications received for one benchmark tag. */
interface TagCounter {
  count: number;
  firstMs: number;
  lastMs: number;
  latencies: number[];
  expect: Array<{ id: unknown; count: number }>;
}

const tags = new Map<string, TagCounter>();
/** Each subscribed client pings this often (0: never); set by `--ping-seconds`. */
let pingMs = 0;
const connections: Array<{ client: Client; transport: StreamableHTTPClientTransport }> = [];

function counter(tag: string): TagCounter {
  let entry = tags.get(tag);
  if (!entry) {
    entry = { count: 0, firstMs: 0, lastMs: 0, latencies: [], expect: [] };
    tags.set(tag, entry);
  }
  return entry;
}

function settleExpectations(tag: string, entry: TagCounter): void {
  if (entry.expect.length === 0) return;
  entry.expect = entry.expect.filter((wait) => {
    if (entry.count < wait.count) return true;
    printJson({ id: wait.id, tag, count: entry.count, at: entry.lastMs });
    return false;
  });
}

function onFault(data: unknown): void {
  const now = wallMs();
  const parsed = parseBenchContext((data as { context?: unknown } | null)?.context);
  if (!parsed) return;
  const entry = counter(parsed.tag);
  if (entry.count === 0) entry.firstMs = now;
  entry.count++;
  entry.lastMs = now;
  entry.latencies.push(now - parsed.sendMs);
  settleExpectations(parsed.tag, entry);
}

/** Connects and subscribes one cluster; retries a failed attempt after a second. Resolves with the attempts. */
async function connect(name: string, endpoint: string): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const client = new Client({ name: "faultline-baseline", version: "0.0.0" }, { capabilities: {} });
    const transport = new StreamableHTTPClientTransport(new URL(endpoint));
    client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
      onFault(notification.params.data);
    });
    try {
      await client.connect(transport);
      await client.setLoggingLevel("info");
      const result = await client.callTool({ name: "events_subscribe", arguments: { mode: "faults" } });
      if (result.isError) throw new Error(`events_subscribe refused: ${JSON.stringify(result.content)}`);
      connections.push({ client, transport });
      if (pingMs > 0) setInterval(() => void client.ping().catch(() => {}), pingMs);
      return attempt;
    } catch (error) {
      printJson({
        type: "failed",
        cluster: name,
        attempt,
        error: error instanceof Error ? error.message : String(error),
      });
      await client.close().catch(() => {});
      if (attempt >= MAX_ATTEMPTS) throw error;
      await sleep(RETRY_DELAY_MS);
    }
  }
}

function readEndpoints(file: string): Array<{ name: string; endpoint: string }> {
  const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
  const list = (parsed as { clusters?: unknown } | null)?.clusters;
  if (!Array.isArray(list)) throw new Error(`${file}: expected { clusters: [...] }`);
  return list.map((item: unknown, index) => {
    const entry = item as { name?: unknown; endpoint?: unknown };
    if (typeof entry.endpoint !== "string") throw new Error(`${file}: entry ${index} has no endpoint`);
    return {
      name: typeof entry.name === "string" ? entry.name : `cluster-${index + 1}`,
      endpoint: entry.endpoint,
    };
  });
}

function handleCommand(command: Record<string, unknown>): void {
  const tag = String(command.tag ?? "");
  const entry = counter(tag);
  switch (command.cmd) {
    case "expect":
      entry.expect.push({ id: command.id, count: Number(command.count) });
      settleExpectations(tag, entry);
      return;
    case "report":
      printJson({
        id: command.id,
        tag,
        count: entry.count,
        first_ms: entry.firstMs,
        last_ms: entry.lastMs,
        latencies: entry.latencies.map((ms) => Math.round(ms * 1000) / 1000),
      });
      return;
    default:
      printJson({ id: command.id, error: `unknown command ${String(command.cmd)}` });
  }
}

async function shutdown(): Promise<never> {
  const closing = Promise.allSettled(
    connections.map(async ({ client, transport }) => {
      await transport.terminateSession().catch(() => {});
      await client.close().catch(() => {});
    }),
  );
  await Promise.race([closing, sleep(3000)]);
  process.exit(0);
}

async function main(): Promise<void> {
  const startedAt = wallMs();
  const { values } = parseArgs({
    options: {
      "endpoints-file": { type: "string" },
      count: { type: "string" },
      "ping-seconds": { type: "string" },
    },
    strict: true,
  });
  pingMs = Number(values["ping-seconds"] ?? "0") * 1000;
  if (!(pingMs >= 0)) throw new Error("--ping-seconds must be a number >= 0");
  const file = values["endpoints-file"];
  if (!file) throw new Error("--endpoints-file FILE is required");
  let endpoints = readEndpoints(file);
  if (values.count !== undefined) endpoints = endpoints.slice(0, Number(values.count));
  process.once("SIGINT", () => void shutdown());
  process.once("SIGTERM", () => void shutdown());
  void (async () => {
    for await (const line of lines(process.stdin)) {
      if (line.trim() === "") continue;
      try {
        handleCommand(JSON.parse(line) as Record<string, unknown>);
      } catch (error) {
        printJson({ error: error instanceof Error ? error.message : String(error) });
      }
    }
  })();
  const attempts = await Promise.all(endpoints.map(({ name, endpoint }) => connect(name, endpoint)));
  printJson({
    type: "active",
    at: wallMs(),
    started_at: startedAt,
    clusters: endpoints.length,
    attempts: attempts.reduce((sum, n) => sum + n, 0),
  });
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    console.error(`baseline: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
