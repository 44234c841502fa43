/**
 * Benchmark of replicas (issue 15): R faultline replicas sharing N simulated clusters through one
 * PostgreSQL, against one faultline on SQLite with the same clusters and the same burst, in the same run.
 *
 *   bun run bench:ha                                  # 3 replicas × 1000 clusters, a burst of 10000 faults
 *   bun run bench:ha --replicas 2 --clusters 100 --burst 2000 --json ha.json
 *
 * - the simulator (scripts/bench/sim-process.ts) runs in its own process, not counted;
 * - PostgreSQL: a throw-away server (tests/helpers/postgres.ts) with its durable defaults (fsync and
 *   synchronous_commit on), one database the replicas share;
 * - the replicas: `bun src/main.ts run` with `store.postgres` and `ha.replica` r1…rR (own state_dir and
 *   health port, no agent, log_level warn). Measured: time from the first spawn until every cluster is
 *   active across the fleet (the replicas' `/health` summaries add up to N, each replica holding some),
 *   RSS of each replica once all are active and settled, and durable events/s: a burst of K distinct
 *   faults round-robin over the N clusters, counted as committed rows of `events` in PostgreSQL (from the
 *   first send to the poll that sees all K);
 * - then one faultline on SQLite (no `store.postgres`), the same clusters and a burst of the same size,
 *   counted as committed rows in its `faultline.db`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { DB_FILE } from "../src/incidents/open.ts";
import { type PostgresServer, startPostgres } from "../tests/helpers/postgres.ts";
import { wallMs } from "./bench/context.ts";
import { healthSummary, openStoredEvents, waitForCount } from "./bench/measure.ts";
import { type JsonLineChild, readMemory, runScriptMain, spawnChild } from "./bench/proc.ts";
import { ROOT } from "./runtime.ts";

const USAGE = `Usage: bun scripts/bench-ha.ts [--replicas R] [--clusters N] [--burst K] [--lease-seconds S] [--json FILE]

R faultline replicas (default 3) sharing N simulated clusters (default 1000) through one PostgreSQL, then
one faultline on SQLite with the same clusters; prints time to all active, RSS per replica and durable
events/s for a burst of K faults (default 10000) on each. --lease-seconds is ha.lease_seconds (default 15).`;

const MB = 1024 * 1024;
/** Time after all active before RSS is read and the burst sent. */
const SETTLE_MS = 3000;
const ACTIVE_TIMEOUT_MS = 180_000;

interface Options {
  replicas: number;
  clusters: number;
  burst: number;
  leaseSeconds: number;
  json: string | null;
}

/** What one side (the replicas, or one process on SQLite) measured. */
interface SideResult {
  processes: number;
  all_active_s: number | null;
  /** RSS of each process once all were active (MB), and how many clusters each held. */
  rss_mb: number[];
  clusters_held: number[];
  burst: { injected: number; stored: number; seconds: number; events_per_s: number } | null;
}

function parse(argv: string[]): Options | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      replicas: { type: "string" },
      clusters: { type: "string" },
      sizes: { type: "string" },
      burst: { type: "string" },
      "lease-seconds": { type: "string" },
      json: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) return null;
  const int = (value: string | undefined, flag: string, fallback: number, min = 1): number => {
    const n = value === undefined ? fallback : Number(value);
    if (!Number.isInteger(n) || n < min) throw new Error(`${flag} must be an integer ≥ ${min}`);
    return n;
  };
  return {
    replicas: int(values.replicas, "--replicas", 3),
    clusters: int(values.clusters ?? values.sizes, "--clusters", 1000),
    burst: int(values.burst, "--burst", 10_000),
    leaseSeconds: int(values["lease-seconds"], "--lease-seconds", 15, 3),
    json: values.json ?? null,
  };
}

function progress(text: string): void {
  process.stderr.write(`[bench-ha ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
}

async function freePort(): Promise<number> {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
  const port = server.port ?? 0;
  await server.stop(true);
  return port;
}

/** One faultline process of the bench: its child and health URL. */
interface Proc {
  child: JsonLineChild;
  base: string;
}

async function startFaultline(
  dir: string,
  name: string,
  clusters: ReadonlyArray<{ name: string; endpoint: string }>,
  extra: Record<string, unknown>,
): Promise<Proc> {
  const runDir = join(dir, name);
  mkdirSync(runDir, { recursive: true });
  const kubeconfig = join(runDir, "kubeconfig.yaml");
  writeFileSync(kubeconfig, "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n");
  const port = await freePort();
  const config = {
    clusters: clusters.map((c) => ({ name: c.name, mcp_endpoint: c.endpoint, kubeconfig })),
    subscribe: { mode: "faults" },
    health: { listen: `127.0.0.1:${port}` },
    state_dir: join(runDir, "state"),
    log_level: "warn",
    ...extra,
  };
  const file = join(runDir, "faultline.yaml");
  writeFileSync(file, JSON.stringify(config, null, 2)); // JSON is YAML
  const child = spawnChild(name, [process.execPath, join(ROOT, "src/main.ts"), "run", "--config", file], {
    cwd: ROOT,
  });
  return { child, base: `http://127.0.0.1:${port}` };
}

/** Waits until the processes' active clusters add up to `n`, each holding some; returns each one's count. */
async function waitAllActive(procs: readonly Proc[], n: number, spawnedMs: number): Promise<number[]> {
  for (;;) {
    for (const proc of procs)
      if (proc.child.exited) throw new Error(`${proc.base} exited during start-up\n${proc.child.tail()}`);
    const active = await Promise.all(procs.map(async (p) => (await healthSummary(p.base))?.active ?? 0));
    if (active.reduce((a, b) => a + b, 0) >= n && active.every((a) => a > 0)) return active;
    if (wallMs() - spawnedMs > ACTIVE_TIMEOUT_MS)
      throw new Error(`not all active after ${ACTIVE_TIMEOUT_MS / 1000} s (${active.join(" + ")} of ${n})`);
    await Bun.sleep(25);
  }
}

/** Starts `procs`, measures start-up, RSS and a burst counted by `count`; stops them. */
async function measureSide(
  sim: JsonLineChild,
  options: Options,
  tag: string,
  start: () => Promise<Proc[]>,
  count: () => Promise<() => Promise<number>>,
): Promise<SideResult> {
  const spawnedMs = wallMs();
  const procs = await start();
  const result: SideResult = {
    processes: procs.length,
    all_active_s: null,
    rss_mb: [],
    clusters_held: [],
    burst: null,
  };
  try {
    result.clusters_held = await waitAllActive(procs, options.clusters, spawnedMs);
    result.all_active_s = (wallMs() - spawnedMs) / 1000;
    progress(`${tag}: all ${options.clusters} active after ${result.all_active_s.toFixed(1)} s`);
    await Bun.sleep(SETTLE_MS);
    result.clusters_held = await Promise.all(
      procs.map(async (p) => (await healthSummary(p.base))?.active ?? 0),
    );
    result.rss_mb = procs.map((p) => (readMemory(p.child.pid)?.rss ?? 0) / MB);
    const stored = await count();
    const base = await stored();
    const sent = sim.request(
      { cmd: "burst", clusters: options.clusters, total: options.burst, tag },
      300_000,
    );
    const wait = await waitForCount(stored, base, options.burst, 10, 15_000);
    const reply = await sent;
    const seconds = (wait.atMs - Number(reply.first_send_ms)) / 1000;
    result.burst = {
      injected: options.burst,
      stored: wait.count,
      seconds,
      events_per_s: wait.count / seconds,
    };
    progress(`${tag}: ${wait.count}/${options.burst} stored in ${seconds.toFixed(2)} s`);
  } finally {
    await Promise.all(procs.map((p) => p.child.stop(30_000)));
  }
  return result;
}

function table(options: Options, pgMajor: number, ha: SideResult, single: SideResult): string {
  const fixed = (n: number | null | undefined, digits = 1) =>
    n === null || n === undefined ? "-" : n.toFixed(digits);
  const burst = (r: SideResult) =>
    r.burst
      ? `${Math.round(r.burst.events_per_s)} (${r.burst.stored}/${r.burst.injected} in ${fixed(r.burst.seconds, 2)} s)`
      : "-";
  const rows: Array<[string, string, string]> = [
    ["", `${ha.processes} replicas, PostgreSQL ${pgMajor}`, "1 process, SQLite"],
    ["time to all active (s)", fixed(ha.all_active_s), fixed(single.all_active_s)],
    [
      "RSS per process (MB)",
      ha.rss_mb.map((m) => fixed(m, 0)).join(" / "),
      single.rss_mb.map((m) => fixed(m, 0)).join(" / "),
    ],
    ["clusters held", ha.clusters_held.join(" / "), single.clusters_held.join(" / ")],
    ["durable events/s (burst)", burst(ha), burst(single)],
  ];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i as 0 | 1 | 2].length)));
  const lines = rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd(),
  );
  return [
    `${options.clusters} clusters; burst of ${options.burst} faults round-robin; lease ${options.leaseSeconds} s; ` +
      `PostgreSQL durable (fsync, synchronous_commit on); ${navigator.hardwareConcurrency} cores ` +
      `(${cpus()[0]?.model ?? "unknown CPU"}), bun ${Bun.version}`,
    ...lines,
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const options = parse(argv);
  if (!options) {
    console.log(USAGE);
    return 0;
  }
  const dir = mkdtempSync(join(tmpdir(), "faultline-bench-ha-"));
  let pg: PostgresServer | null = null;
  let sim: JsonLineChild | null = null;
  try {
    progress(`starting PostgreSQL and a simulator of ${options.clusters} clusters`);
    pg = await startPostgres({ durable: true, settings: { max_connections: "300" } });
    const admin = postgres(pg.url, { max: 1, onnotice: () => {} });
    await admin.unsafe("CREATE DATABASE bench");
    await admin.end();
    const url = pg.url.replace(/\/postgres$/, "/bench");
    sim = spawnChild(
      "simulator",
      [process.execPath, join(ROOT, "scripts/bench/sim-process.ts"), "--clusters", String(options.clusters)],
      { stdin: true },
    );
    const ready = await sim.waitForLine("simulator ready", (line) => line.type === "ready", 120_000);
    const clusters = ready.clusters as Array<{ name: string; endpoint: string }>;
    const simulator = sim;

    progress(`${options.replicas} replicas on PostgreSQL`);
    const db = postgres(url, { max: 1, onnotice: () => {} });
    const ha = await measureSide(
      simulator,
      options,
      "replicas",
      async () =>
        Promise.all(
          Array.from({ length: options.replicas }, (_, i) =>
            startFaultline(dir, `r${i + 1}`, clusters, {
              store: { postgres: { url } },
              ha: { replica: `r${i + 1}`, lease_seconds: options.leaseSeconds },
            }),
          ),
        ),
      async () => async () => {
        const [row] = await db<Array<{ n: number }>>`SELECT count(*)::int AS n FROM events`;
        return row?.n ?? 0;
      },
    );
    await db.end();

    progress("one faultline on SQLite");
    const stateDb = join(dir, "sqlite", "state", DB_FILE);
    let events: ReturnType<typeof openStoredEvents> | null = null;
    const single = await measureSide(
      simulator,
      options,
      "sqlite",
      async () => [await startFaultline(dir, "sqlite", clusters, {})],
      async () => {
        events = openStoredEvents(stateDb);
        const opened = events;
        return () => opened.count();
      },
    );
    (events as ReturnType<typeof openStoredEvents> | null)?.close();

    console.log(table(options, pg.major, ha, single));
    if (options.json)
      writeFileSync(options.json, `${JSON.stringify({ options, replicas: ha, sqlite: single }, null, 2)}\n`);
    return 0;
  } finally {
    await sim?.stop(5000);
    await pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) runScriptMain("bench-ha", main);
