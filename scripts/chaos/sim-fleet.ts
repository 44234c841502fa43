/**
 * The simulator processes of a chaos run: each runs `scripts/sim.ts` for a subset of the clusters with a
 * control API. A process can be SIGKILLed and restarted on the same ports (so faultline's endpoints stay
 * valid), and the control API injects faults (answering how many live subscriptions received each), drops
 * sessions and takes servers down and up.
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { type JsonLineChild, spawnChild } from "../bench/proc.ts";

const ROOT = resolve(import.meta.dir, "../..");

/** How long a control request may take before it counts as failed. */
const CONTROL_TIMEOUT_MS = 5000;
/** Attempts to restart a simulator on its ports (a port can be briefly taken by another socket). */
const RESTART_ATTEMPTS = 10;

/** What the simulator CLI prints once it listens. */
interface ReadyLine {
  control: string;
  clusters: Array<{ name: string; endpoint: string }>;
}

/** The answer of `POST /clusters/:name/faults`. */
interface InjectAnswer {
  injected: number;
  delivered: number;
}

/** One simulator process serving some of the clusters. */
export class SimProcess {
  #child: JsonLineChild | null = null;
  #ports: number[] | null = null;
  #controlPort = 0;
  #control = "";
  readonly #endpoints = new Map<string, string>();

  /** Simulator `index` (0-based) serving `names`; with `eventsDir`, its clusters' events outlive its restarts. */
  constructor(
    readonly index: number,
    readonly names: readonly string[],
    readonly eventsDir?: string,
  ) {}

  /** Whether the process is running. */
  get alive(): boolean {
    return this.#child !== null && !this.#child.exited;
  }

  /** The MCP endpoint of one of its clusters. */
  endpoint(name: string): string {
    const endpoint = this.#endpoints.get(name);
    if (!endpoint) throw new Error(`simulator ${this.index}: no endpoint for ${name}`);
    return endpoint;
  }

  /** Starts the process (on its earlier ports after the first time); resolves once it listens. */
  async start(): Promise<void> {
    const argv = [process.execPath, join(ROOT, "scripts/sim.ts"), "--names", this.names.join(",")];
    if (this.#ports) argv.push("--ports", this.#ports.join(","));
    argv.push("--control-port", String(this.#controlPort));
    if (this.eventsDir) argv.push("--events-dir", this.eventsDir);
    const child = spawnChild(`simulator ${this.index}`, argv, { cwd: ROOT });
    let line: ReadyLine;
    try {
      line = (await child.waitForLine(
        "simulator ready",
        (l) => typeof l.control === "string",
        20_000,
      )) as unknown as ReadyLine;
    } catch (error) {
      child.proc.kill("SIGKILL");
      throw error;
    }
    this.#child = child;
    this.#control = line.control;
    this.#controlPort = Number(new URL(line.control).port);
    for (const { name, endpoint } of line.clusters) this.#endpoints.set(name, endpoint);
    this.#ports = line.clusters.map(({ endpoint }) => Number(new URL(endpoint).port));
  }

  /** Restarts the process on its ports, retrying while a port is briefly taken. */
  async restart(): Promise<void> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= RESTART_ATTEMPTS; attempt++) {
      try {
        await this.start();
        return;
      } catch (error) {
        lastError = error;
        await Bun.sleep(200);
      }
    }
    throw new Error(`simulator ${this.index} did not restart on its ports: ${String(lastError)}`);
  }

  /** SIGKILL; resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || child.exited) return;
    child.proc.kill("SIGKILL");
    await child.proc.exited;
  }

  /** SIGTERM (SIGKILL after 5 s); resolves once the process is gone. */
  async stop(): Promise<void> {
    await this.#child?.stop(5000);
  }

  /** Injects one fault named `name` into `cluster`; resolves with how many subscriptions received it. */
  async inject(cluster: string, name: string, faultType: string): Promise<number> {
    const answer = (await this.#post(cluster, "faults", { name, faultType })) as InjectAnswer;
    if (typeof answer.delivered !== "number") throw new Error(`unexpected answer ${JSON.stringify(answer)}`);
    return answer.delivered;
  }

  /** `drop-sessions`, `down` or `up` through the control API. */
  async control(cluster: string, operation: "drop-sessions" | "down" | "up"): Promise<void> {
    await this.#post(cluster, operation, {});
  }

  async #post(cluster: string, path: string, body: object): Promise<unknown> {
    const response = await fetch(`${this.#control}/clusters/${encodeURIComponent(cluster)}/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(CONTROL_TIMEOUT_MS),
    });
    const answer = (await response.json()) as { error?: string };
    if (!response.ok) throw new Error(`${path} ${cluster}: HTTP ${response.status} ${answer.error ?? ""}`);
    return answer;
  }
}

/**
 * Starts `sims` simulator processes with `clusters` clusters spread round-robin over them
 * (`chaos-01`, `chaos-02`, …). With `eventsDir` (created), each cluster's events are kept there and
 * listed again after its simulator restarts, as a cluster's API server keeps them.
 *
 * @example
 * ```ts
 * const fleet = await startSimFleet(20, 4);
 * fleet.byCluster.get("chaos-01")?.endpoint("chaos-01");
 * ```
 */
export async function startSimFleet(
  clusters: number,
  sims: number,
  eventsDir?: string,
): Promise<{ processes: SimProcess[]; byCluster: Map<string, SimProcess> }> {
  if (eventsDir) mkdirSync(eventsDir, { recursive: true });
  const width = String(clusters).length;
  const names = Array.from({ length: clusters }, (_, i) => `chaos-${String(i + 1).padStart(width, "0")}`);
  const processes = Array.from(
    { length: sims },
    (_, index) =>
      new SimProcess(
        index,
        names.filter((_, i) => i % sims === index),
        eventsDir,
      ),
  );
  await Promise.all(processes.map((sim) => sim.start()));
  const byCluster = new Map<string, SimProcess>();
  for (const sim of processes) for (const name of sim.names) byCluster.set(name, sim);
  return { processes, byCluster };
}
