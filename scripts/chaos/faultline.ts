/**
 * faultline as the chaos run's own process: its generated config, and a runner that starts, SIGKILLs,
 * restarts and finally stops it, keeps each life's JSON log in the run directory and reports every
 * `cluster status` line (with faultline's own timestamp) as it arrives.
 */
import { createWriteStream, type WriteStream, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { type JsonLineChild, spawnChild } from "../bench/proc.ts";
import { RUN_FILES } from "./ledger.ts";

const ROOT = resolve(import.meta.dir, "../..");

/** The reconnect backoff the run configures (printed with the figures: return-to-active depends on it). */
export const CHAOS_RECONNECT = { initial_seconds: 0.1, max_seconds: 1 } as const;

/** Agent slots: enough that the default fault rate never builds a lasting queue. */
const AGENT_MAX_CONCURRENT = 8;

/** Where a config goes and what it adds (replica mode: one config per replica). */
export interface ConfigPlacement {
  /** The config's file name in the run directory (default `faultline.yaml`). */
  file?: string;
  /** The state directory (default `<dir>/state`). */
  stateDir?: string;
  /** Top-level keys added to the config (e.g. `store` and `ha`). */
  extra?: Record<string, unknown>;
}

/**
 * Writes `faultline.yaml` (JSON is YAML) into `dir` for `clusters`, with `agent` as the agent command,
 * and a placeholder kubeconfig; returns the config's path.
 *
 * @example
 * ```ts
 * writeFaultlineConfig(dir, clusters, agent, { file: "r1.yaml", stateDir: join(dir, "state-r1"),
 *   extra: { store: { postgres: { url } }, ha: { replica: "r1", lease_seconds: 5 } } });
 * ```
 */
export function writeFaultlineConfig(
  dir: string,
  clusters: ReadonlyArray<{ name: string; endpoint: string }>,
  agent: string,
  placement: ConfigPlacement = {},
): string {
  const kubeconfig = join(dir, "kubeconfig.yaml");
  writeFileSync(kubeconfig, "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n");
  const config = {
    clusters: clusters.map(({ name, endpoint }) => ({ name, mcp_endpoint: endpoint, kubeconfig })),
    severity_threshold: "info",
    agent: { command: [agent], max_concurrent: AGENT_MAX_CONCURRENT, timeout_seconds: 60 },
    shutdown_timeout_seconds: 20,
    reconnect: CHAOS_RECONNECT,
    health: { listen: "127.0.0.1:0" },
    state_dir: placement.stateDir ?? join(dir, RUN_FILES.state),
    log_level: "info",
    ...placement.extra,
  };
  const file = join(dir, placement.file ?? "faultline.yaml");
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
  return file;
}

/** Called for every `cluster status` line of the current faultline: cluster, status, faultline's time. */
export type StatusListener = (cluster: string, status: string, atMs: number) => void;

/** The faultline process of a chaos run, one life after another. */
export class FaultlineRunner {
  #child: JsonLineChild | null = null;
  #generation = 0;
  #expectedExit = false;
  readonly #statuses = new Map<string, string>();
  readonly #released = new Set<string>();
  #joined = false;
  readonly #unexpected: string[] = [];

  /**
   * @param command how to start faultline without its arguments: `[bun, src/main.ts]` or `[binary]`
   * @param onStatus receives the current life's `cluster status` lines
   * @param name the replica's name (replica mode): its logs are `faultline-<name>-<life>.log`
   */
  constructor(
    readonly command: readonly string[],
    readonly config: string,
    readonly dir: string,
    readonly onStatus: StatusListener,
    readonly name: string | null = null,
  ) {}

  /** `[process.execPath, src/main.ts]`: faultline from this source tree. */
  static fromSource(): string[] {
    return [process.execPath, join(ROOT, "src/main.ts")];
  }

  /** Whether a faultline process is running. */
  get running(): boolean {
    return this.#child !== null && !this.#child.exited;
  }

  /** How many lives so far. */
  get starts(): number {
    return this.#generation;
  }

  /** faultline exits the harness did not cause, described. */
  get unexpectedExits(): readonly string[] {
    return this.#unexpected;
  }

  /** Clusters the current life last logged `active`. */
  activeClusters(): string[] {
    return [...this.#statuses].filter(([, status]) => status === "active").map(([cluster]) => cluster);
  }

  /** Replica mode: whether the current life runs and has joined the replicas (logged `replica joined`). */
  get joined(): boolean {
    return this.running && this.#joined;
  }

  /** Whether the current life holds `cluster`: logged its status or (replica mode) took it, and did not release it. */
  holds(cluster: string): boolean {
    return this.running && this.#statuses.has(cluster);
  }

  /** The last lines the current (or last) life wrote, for error messages. */
  tail(): string {
    return this.#child?.tail() ?? "";
  }

  /** Starts a new life; returns the wall-clock ms just before the spawn. */
  start(): number {
    if (this.running) throw new Error("faultline is already running");
    const generation = ++this.#generation;
    this.#statuses.clear();
    this.#released.clear();
    this.#joined = false;
    this.#expectedExit = false;
    const prefix = this.name === null ? "faultline" : `faultline-${this.name}`;
    const log: WriteStream = createWriteStream(join(this.dir, `${prefix}-${generation}.log`));
    const spawnedMs = Date.now();
    const child = spawnChild(
      `${this.name === null ? "faultline" : `replica ${this.name}`} (life ${generation})`,
      [...this.command, "run", "--config", this.config],
      {
        cwd: this.dir,
      },
    );
    child.onLine((line) => {
      if (!log.writableEnded) log.write(`${JSON.stringify(line)}\n`);
      if (generation !== this.#generation) return;
      // Replica mode: a taken cluster is held from the log line on (its subscription follows); a released one
      // is not (its unsubscribe follows). Either way a fault in between counts as sent with no live subscription.
      // A status line of a released cluster (its worker closing) does not make it held again.
      if (line.msg === "cluster taken") {
        this.#released.delete(String(line.cluster));
        this.#statuses.set(String(line.cluster), "taken");
      }
      if (line.msg === "replica joined") this.#joined = true;
      if (line.msg === "cluster released") {
        this.#released.add(String(line.cluster));
        this.#statuses.delete(String(line.cluster));
      }
      if (line.msg !== "cluster status") return;
      const cluster = String(line.cluster);
      if (this.#released.has(cluster)) return;
      const status = String(line.status);
      this.#statuses.set(cluster, status);
      this.onStatus(cluster, status, Date.parse(String(line.ts)));
    });
    void child.proc.exited.then((code) => {
      if (generation === this.#generation && !this.#expectedExit) {
        const how = child.proc.signalCode ? `signal ${child.proc.signalCode}` : `exit ${code}`;
        this.#unexpected.push(`life ${generation}: ${how}\n${child.tail()}`);
      }
      // The pipe may still hold lines; close the log after they drain.
      setTimeout(() => log.end(), 1000);
    });
    this.#child = child;
    return spawnedMs;
  }

  /** SIGKILL; resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || child.exited) return;
    this.#expectedExit = true;
    child.proc.kill("SIGKILL");
    await child.proc.exited;
  }

  /** SIGTERM, SIGKILL after `graceMs`; resolves with the exit code (null when it had to be killed). */
  async stop(graceMs: number): Promise<number | null> {
    const child = this.#child;
    if (!child || child.exited) return child?.proc.exitCode ?? null;
    this.#expectedExit = true;
    child.proc.kill("SIGTERM");
    const timer = setTimeout(() => child.proc.kill("SIGKILL"), graceMs);
    await child.proc.exited;
    clearTimeout(timer);
    return child.proc.signalCode ? null : child.proc.exitCode;
  }
}
