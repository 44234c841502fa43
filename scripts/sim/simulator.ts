/** The running simulator: its clusters by name, the optional control server, and {@link startSimulator}. */
import { SimCluster } from "./cluster.ts";
import { type ControlledSimulator, createControlApp } from "./control.ts";
import type { Hostile } from "./hostile.ts";
import { type Listener, listen } from "./listen.ts";
import type {
  SimClusterInfo,
  SimClusterOptions,
  SimClusterStats,
  SimFault,
  Simulator,
  SimulatorOptions,
} from "./types.ts";

function normalizeClusterOptions(clusters: SimulatorOptions["clusters"]): SimClusterOptions[] {
  const list: SimClusterOptions[] =
    typeof clusters === "number"
      ? Array.from({ length: clusters }, (_, index) => ({ name: `cluster-${index + 1}` }))
      : clusters.map((cluster) => (typeof cluster === "string" ? { name: cluster } : cluster));
  const seen = new Set<string>();
  for (const { name } of list) {
    if (name === "") throw new Error("cluster names must not be empty");
    if (seen.has(name)) throw new Error(`duplicate cluster name: ${name}`);
    seen.add(name);
  }
  return list;
}

class RunningSimulator implements ControlledSimulator {
  readonly clusters: string[];
  controlUrl: string | null = null;
  private readonly byName = new Map<string, SimCluster>();
  private control: Listener | null = null;

  constructor(options: SimClusterOptions[], hostname: string) {
    for (const clusterOptions of options) {
      this.byName.set(clusterOptions.name, new SimCluster(clusterOptions, hostname));
    }
    this.clusters = options.map((cluster) => cluster.name);
  }

  hasCluster(name: string): boolean {
    return this.byName.has(name);
  }

  listenAll(): void {
    for (const cluster of this.byName.values()) cluster.listen();
  }

  startControl(hostname: string, port: number): void {
    this.control = listen({ hostname, port, fetch: createControlApp(this).fetch });
    this.controlUrl = `http://${hostname}:${this.control.port}`;
  }

  private cluster(name: string): SimCluster {
    const cluster = this.byName.get(name);
    if (!cluster) throw new Error(`unknown cluster: ${name}`);
    return cluster;
  }

  endpoint(cluster: string): string {
    return this.cluster(cluster).endpoint;
  }

  inject(cluster: string, fault: SimFault = {}): number {
    return this.cluster(cluster).inject(fault);
  }

  injectRaw(cluster: string, logger: string, data: unknown): number {
    return this.cluster(cluster).injectRaw(logger, data);
  }

  injectHostile(cluster: string, payload: Hostile): Promise<number> {
    return this.cluster(cluster).injectHostile(payload);
  }

  subscriptionError(cluster: string, error: string): number {
    return this.cluster(cluster).subscriptionError(error);
  }

  dropSessions(cluster: string): void {
    this.cluster(cluster).closeAllSessions();
  }

  cancelSubscriptions(cluster: string): number {
    return this.cluster(cluster).cancelSubscriptions();
  }

  setBearerToken(cluster: string, token: string | null): void {
    this.cluster(cluster).setBearerToken(token);
  }

  setHoldHeaders(cluster: string, hold: boolean): void {
    this.cluster(cluster).holdHeaders = hold;
  }

  async down(cluster: string): Promise<void> {
    await this.cluster(cluster).down();
  }

  async up(cluster: string): Promise<void> {
    this.cluster(cluster).listen();
  }

  stats(cluster: string): SimClusterStats {
    return this.cluster(cluster).stats();
  }

  sessionIds(cluster: string): string[] {
    return this.cluster(cluster).sessionIds();
  }

  info(cluster: string): SimClusterInfo {
    return { name: cluster, endpoint: this.endpoint(cluster), stats: this.stats(cluster) };
  }

  async stop(): Promise<void> {
    const control = this.control;
    this.control = null;
    await Promise.all([control?.stop(), ...[...this.byName.values()].map((cluster) => cluster.down())]);
  }
}

/**
 * Starts the simulated clusters (and the control API when `controlPort` is given).
 *
 * @example
 * ```ts
 * const sim = await startSimulator({ clusters: 3 });
 * sim.inject("cluster-1", { faultType: "PodCrash" });
 * await sim.stop();
 * ```
 */
export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const hostname = options.hostname ?? "127.0.0.1";
  const simulator = new RunningSimulator(normalizeClusterOptions(options.clusters), hostname);
  try {
    simulator.listenAll();
    if (options.controlPort !== undefined) simulator.startControl(hostname, options.controlPort);
  } catch (error) {
    await simulator.stop();
    throw error;
  }
  return simulator;
}
