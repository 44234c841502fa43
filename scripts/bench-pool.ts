/**
 * Benchmark: idle keep-alive connections over HTTPS, today's client (Bun's `fetch`) against the pooled
 * client (src/runtime/http-pool.ts), side by side in one run.
 *
 *   bun scripts/bench-pool.ts                      # 300 clusters, pings every second, 2 minutes
 *   bun scripts/bench-pool.ts --seconds 30 --clusters 300 --clients bun-fetch,pool
 *   bun scripts/bench-pool.ts --clients pool,deno:pool   # the pooled client under Bun and under Deno
 *
 * A CA and a server certificate are made with openssl in a temporary directory. One server process
 * (scripts/bench/pool-server.ts) listens on one loopback port per cluster and per client under test, and
 * counts, per client, the TCP connections it accepts and the TLS handshakes it completes. Each client runs
 * in a process of its own (scripts/bench/pool-client.ts; `BUN_CONFIG_MAX_HTTP_REQUESTS` set as faultline
 * sets it), all at once: every cluster holds a standing event-stream GET and pings every interval. After
 * the warm-up, the counts over the rest of the run give new connections and handshakes per minute; with
 * a pool that keeps every cluster's idle connection, both are about 0.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { HTTP_LIMIT_VARIABLE, requiredHttpRequests } from "../src/runtime/http-capacity.ts";
import { sleep } from "../src/runtime/sleep.ts";
import { type JsonLineChild, killAllChildren, readCpuSeconds, spawnChild } from "./bench/proc.ts";
import { makeTestCertificates } from "./certs.ts";
import { isRuntimeName, ROOT, type RuntimeName, runtimeVersion, scriptCommand } from "./runtime.ts";

const HERE = join(ROOT, "scripts");

const USAGE = `Usage: bun scripts/bench-pool.ts [options]

  --clusters N        clusters per client under test (default 300)
  --seconds S         how long the clusters ping, warm-up included (default 120)
  --warmup S          seconds left out of the figures at the start (default 15)
  --interval-ms MS    ping interval per cluster (default 1000)
  --clients LIST      clients under test, comma-separated (default bun-fetch,pool):
                        bun-fetch          Bun's fetch with tls.ca, one CA for all clusters (today)
                        bun-fetch-ca-each  Bun's fetch, a CA of its own per cluster
                        pool               src/runtime/http-pool.ts, one CA for all clusters
                        pool-ca-each       src/runtime/http-pool.ts, a CA of its own per cluster
                        undici             undici's fetch and Agent (needs --undici-path)
                      a "deno:" prefix runs that client under Deno (deno run -A), e.g. deno:pool; the
                      server and the other clients run under Bun
  --undici-path DIR   an installed npm undici (its package directory), for the undici client
  --json FILE         also write the figures as JSON
  --help              this text

Figures per client, over the measured window (after the warm-up): new TCP connections and TLS handshakes
per minute (server-side counts), connections open at the end (streams + idle), pings done and failed,
ping latency p50/p99, stream breaks, the client's RSS at the end and its CPU seconds in the window.
Ratios are against the first client listed.`;

interface Options {
  clusters: number;
  seconds: number;
  warmup: number;
  intervalMs: number;
  clients: string[];
  undiciPath: string | undefined;
  json: string | undefined;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      clusters: { type: "string", default: "300" },
      seconds: { type: "string", default: "120" },
      warmup: { type: "string", default: "15" },
      "interval-ms": { type: "string", default: "1000" },
      clients: { type: "string", default: "bun-fetch,pool" },
      "undici-path": { type: "string" },
      json: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const options: Options = {
    clusters: Number(values.clusters),
    seconds: Number(values.seconds),
    warmup: Number(values.warmup),
    intervalMs: Number(values["interval-ms"]),
    clients: values.clients.split(",").filter(Boolean),
    undiciPath: values["undici-path"] ? resolve(values["undici-path"]) : undefined,
    json: values.json,
  };
  for (const client of options.clients) {
    if (client.includes(":") && !isRuntimeName(client.split(":")[0] ?? ""))
      throw new Error(`--clients: unknown runtime in "${client}" (bun: or deno:)`);
  }
  const positive = [options.clusters, options.seconds, options.intervalMs].every((n) => n > 0);
  if (!positive || !(options.warmup >= 0 && options.warmup < options.seconds) || !options.clients.length) {
    console.error(`bad options\n\n${USAGE}`);
    process.exit(2);
  }
  return options;
}

interface Counts {
  accepted: number;
  handshakes: number;
  open: number;
}

interface ClientStats {
  pings: number;
  failed: number;
  skipped: number;
  p50_ms: number | null;
  p99_ms: number | null;
  streams_open: number;
  stream_breaks: number;
  rss: number;
}

interface Figures {
  client: string;
  new_connections_per_min: number;
  handshakes_per_min: number;
  open_at_end: number;
  pings: number;
  failed: number;
  skipped: number;
  p50_ms: number | null;
  p99_ms: number | null;
  stream_breaks: number;
  rss_mb: number;
  cpu_s: number;
}

async function serverCounts(server: JsonLineChild): Promise<Counts[]> {
  return (await server.request({ cmd: "counts" }, 10_000)).groups as Counts[];
}

async function main(): Promise<void> {
  const options = parseOptions();
  const dir = mkdtempSync(join(tmpdir(), "faultline-bench-pool-"));
  process.on("SIGINT", () => {
    killAllChildren();
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  });
  try {
    const certs = makeTestCertificates(dir, "bench");
    const serverOptions = {
      groups: options.clients.length,
      clusters: options.clusters,
      cert: certs.files.cert,
      key: certs.files.key,
    };
    const server = spawnChild(
      "pool-server",
      [...scriptCommand("bun", join(HERE, "bench/pool-server.ts")), JSON.stringify(serverOptions)],
      { stdin: true },
    );
    const ready = await server.waitForLine("server ready", (line) => line.type === "ready", 60_000);
    const ports = ready.ports as number[][];
    const env = { [HTTP_LIMIT_VARIABLE]: String(requiredHttpRequests(options.clusters)) };
    const clients = options.clients.map((label, group) => {
      const { runtime, client } = clientRuntime(label);
      const clientOptions = {
        client,
        ports: ports[group],
        ca: certs.files.ca,
        intervalMs: options.intervalMs,
        undiciPath: options.undiciPath,
      };
      const argv = [
        ...scriptCommand(runtime, join(HERE, "bench/pool-client.ts")),
        JSON.stringify(clientOptions),
      ];
      return spawnChild(label, argv, { stdin: true, env });
    });
    await Promise.all(
      clients.map((child) => child.waitForLine("streams open", (line) => line.type === "ready", 120_000)),
    );
    console.log(
      `${options.clients.length} clients × ${options.clusters} clusters, HTTPS, pings every ${options.intervalMs} ms ` +
        `for ${options.seconds} s (warm-up ${options.warmup} s); ${navigatorCores()} cores, Bun ${runtimeVersion("bun")}` +
        (options.clients.some((label) => clientRuntime(label).runtime === "deno")
          ? `, Deno ${runtimeVersion("deno")}`
          : ""),
    );
    await sleep(options.warmup * 1000);
    const before = await serverCounts(server);
    await Promise.all(clients.map((child) => child.request({ cmd: "reset" }, 10_000)));
    const cpuBefore = clients.map((child) => readCpuSeconds(child.pid) ?? 0);
    const windowStart = performance.now();
    await sleep((options.seconds - options.warmup) * 1000);
    const after = await serverCounts(server);
    const stats = (await Promise.all(
      clients.map((child) => child.request({ cmd: "stats" }, 10_000)),
    )) as unknown as ClientStats[];
    const minutes = (performance.now() - windowStart) / 60_000;
    const figures: Figures[] = options.clients.map((client, group) => {
      const start = before[group] as Counts;
      const end = after[group] as Counts;
      const stat = stats[group] as ClientStats;
      const child = clients[group] as JsonLineChild;
      return {
        client,
        new_connections_per_min: round((end.accepted - start.accepted) / minutes),
        handshakes_per_min: round((end.handshakes - start.handshakes) / minutes),
        open_at_end: end.open,
        pings: stat.pings,
        failed: stat.failed,
        skipped: stat.skipped,
        p50_ms: stat.p50_ms,
        p99_ms: stat.p99_ms,
        stream_breaks: stat.stream_breaks,
        rss_mb: round(stat.rss / 1e6),
        cpu_s: round((readCpuSeconds(child.pid) ?? 0) - (cpuBefore[group] as number)),
      };
    });
    printTable(figures, options, minutes);
    if (options.json)
      writeFileSync(options.json, `${JSON.stringify({ options, minutes, figures }, null, 2)}\n`);
    await Promise.all([server, ...clients].map((child) => child.stop(2000)));
  } finally {
    killAllChildren();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `deno:pool` → the pool client under Deno; `pool` → under Bun. */
function clientRuntime(label: string): { runtime: RuntimeName; client: string } {
  const [prefix = "", rest] = label.split(":", 2);
  return rest !== undefined && isRuntimeName(prefix)
    ? { runtime: prefix, client: rest }
    : { runtime: "bun", client: label };
}

function navigatorCores(): number {
  return navigator.hardwareConcurrency;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

function ratio(value: number, base: number): string {
  if (base === 0) return value === 0 ? "1×" : "—";
  return `${round(value / base)}×`;
}

function printTable(figures: Figures[], options: Options, minutes: number): void {
  const base = figures[0] as Figures;
  const rows: string[][] = [
    [
      "client",
      "new conn/min",
      "ratio",
      "handshakes/min",
      "ratio",
      "open at end",
      "pings ok / failed",
      "p50 / p99 ms",
      "stream breaks",
      "RSS MB",
      "CPU s",
    ],
  ];
  for (const f of figures) {
    rows.push([
      f.client,
      String(f.new_connections_per_min),
      ratio(f.new_connections_per_min, base.new_connections_per_min),
      String(f.handshakes_per_min),
      ratio(f.handshakes_per_min, base.handshakes_per_min),
      String(f.open_at_end),
      `${f.pings} / ${f.failed}${f.skipped ? ` (+${f.skipped} skipped)` : ""}`,
      `${f.p50_ms ?? "—"} / ${f.p99_ms ?? "—"}`,
      String(f.stream_breaks),
      String(f.rss_mb),
      String(f.cpu_s),
    ]);
  }
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? [];
  for (const row of rows) console.log(row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join("  "));
  console.log(
    `\nmeasured over ${round(minutes * 60)} s after a ${options.warmup} s warm-up; ${options.clusters} clusters ` +
      `per client, each with a standing stream and ${round(60_000 / options.intervalMs)} pings/min. Ratios: against ${base.client}.`,
  );
}

await main();
