/**
 * Starts the worker threads that hold the cluster connections and keeps them alive. One worker per
 * cluster up to `workers.max`; past that, clusters are spread evenly over `workers.max` workers (each
 * connection still supervised on its own inside its worker). A worker that dies is restarted with
 * backoff; its clusters reconnect, the others never notice.
 */
import type { ClusterConfig } from "../config/types.ts";
import { errorMessage, logger } from "../log.ts";
import { Backoff } from "../runtime/backoff.ts";
import type {
  ClusterResume,
  ClusterSpec,
  ConnectionSettings,
  MainToWorker,
  WorkerToMain,
} from "../worker/protocol.ts";

const log = logger({ component: "supervisor" });

/**
 * The worker entry. From source it sits beside this folder; inside the compiled binary (an extra
 * entry point, see scripts/build.ts) it is embedded at `/$bunfs/root/worker/entry.js`, which the
 * relative specifier `./worker/entry.ts` resolves to.
 */
const WORKER_ENTRY: string = import.meta.url.includes("/$bunfs/")
  ? "./worker/entry.ts"
  : new URL("../worker/entry.ts", import.meta.url).href;

/** Splits clusters over at most `max` groups, round-robin, so group sizes differ by at most one. */
export function partition<T>(items: readonly T[], max: number): T[][] {
  const count = Math.min(max, items.length);
  const groups: T[][] = Array.from({ length: count }, () => []);
  items.forEach((item, index) => {
    groups[index % count]?.push(item);
  });
  return groups;
}

/** Options for {@link Supervisor}. */
export interface SupervisorOptions {
  /** Enabled clusters only. */
  clusters: readonly ClusterConfig[];
  /** Everything but `connect_concurrency`, which the supervisor derives from {@link CONNECT_CONCURRENCY}. */
  settings: Omit<ConnectionSettings, "connect_concurrency">;
  workersMax: number;
  /** Every message from every worker, plus `failed` statuses the supervisor itself reports for crashed workers. */
  onMessage: (message: WorkerToMain) => void;
  /** Where a previous faultline left each cluster; given to the connections on the first start only. */
  resume?: ReadonlyMap<string, ClusterResume>;
}

/** Connection attempts in flight at once across all workers (each worker gets an even share). */
export const CONNECT_CONCURRENCY = 64;

interface Slot {
  index: number;
  specs: ClusterSpec[];
  worker: Worker | null;
  backoff: Backoff;
  restarts: number;
  stopped: PromiseWithResolvers<void> | null;
}

/** Owns the worker threads. */
export class Supervisor {
  readonly #options: SupervisorOptions;
  readonly #slots: Slot[];
  readonly #settings: ConnectionSettings;
  #stopping = false;

  constructor(options: SupervisorOptions) {
    this.#options = options;
    const specs = options.clusters.map((c): ClusterSpec => {
      const resume = options.resume?.get(c.name);
      return { name: c.name, mcp_endpoint: c.mcp_endpoint, labels: c.labels, ...(resume ? { resume } : {}) };
    });
    const { initial_seconds, max_seconds } = options.settings.reconnect;
    const groups = partition(specs, options.workersMax);
    this.#settings = {
      ...options.settings,
      connect_concurrency: Math.max(1, Math.ceil(CONNECT_CONCURRENCY / Math.max(1, groups.length))),
    };
    this.#slots = groups.map((group, index) => ({
      index,
      specs: group,
      worker: null,
      backoff: new Backoff(initial_seconds * 1000, max_seconds * 1000),
      restarts: 0,
      stopped: null,
    }));
  }

  /** Number of worker threads. */
  get workerCount(): number {
    return this.#slots.length;
  }

  /** How many times each worker has been restarted after dying. */
  get restarts(): number[] {
    return this.#slots.map((s) => s.restarts);
  }

  /** Starts every worker. */
  start(): void {
    for (const slot of this.#slots) this.#spawn(slot);
    log.info("workers started", {
      workers: this.#slots.length,
      clusters: this.#options.clusters.length,
    });
  }

  /**
   * Ends a worker abruptly, as a crash would (fault injection for tests and drills); the supervisor
   * restarts it like any other dead worker.
   */
  killWorker(index: number): void {
    this.#slots[index]?.worker?.terminate();
  }

  /** Sends `message` to every running worker (e.g. hold or release event streams). */
  broadcast(message: MainToWorker): void {
    for (const slot of this.#slots) slot.worker?.postMessage(message);
  }

  /** The worker index that holds `cluster`, or -1. */
  workerOf(cluster: string): number {
    return this.#slots.findIndex((s) => s.specs.some((spec) => spec.name === cluster));
  }

  /** Asks every worker to unsubscribe and close its sessions, waits up to `timeoutMs`, then ends them. */
  async stop(timeoutMs = 5000): Promise<void> {
    this.#stopping = true;
    const waits = this.#slots.map(async (slot) => {
      const worker = slot.worker;
      if (!worker) return;
      slot.stopped = Promise.withResolvers<void>();
      worker.postMessage({ type: "stop" });
      const timer = setTimeout(() => slot.stopped?.resolve(), timeoutMs);
      await slot.stopped.promise;
      clearTimeout(timer);
      worker.terminate();
      slot.worker = null;
    });
    await Promise.all(waits);
  }

  #spawn(slot: Slot): void {
    const worker = new Worker(WORKER_ENTRY);
    slot.worker = worker;
    worker.addEventListener("message", (event: MessageEvent<WorkerToMain>) => {
      if (event.data.type === "stopped") {
        slot.stopped?.resolve();
        return;
      }
      if (event.data.type === "status" && event.data.status === "active") slot.backoff.reset();
      this.#options.onMessage(event.data);
    });
    worker.addEventListener("error", (event: ErrorEvent) => {
      log.error("worker error", { worker: slot.index, error: event.message });
    });
    worker.addEventListener("close", () => this.#onClose(slot, worker));
    worker.postMessage({ type: "start", clusters: slot.specs, settings: this.#settings });
    // A restarted worker starts fresh: the gap a previous faultline left is backfilled once.
    slot.specs = slot.specs.map(({ resume: _done, ...spec }) => spec);
  }

  #onClose(slot: Slot, worker: Worker): void {
    if (this.#stopping || slot.worker !== worker) return;
    slot.worker = null;
    slot.restarts++;
    const delay = slot.backoff.next();
    const error = `worker ${slot.index} stopped unexpectedly; restarting it`;
    log.error("worker died", { worker: slot.index, restart_in_ms: delay, clusters: slot.specs.length });
    for (const spec of slot.specs) {
      this.#options.onMessage({
        type: "status",
        cluster: spec.name,
        status: "failed",
        error,
        retry_in_ms: delay,
        at: new Date().toISOString(),
      });
    }
    this.#restartLater(slot, delay);
  }

  #restartLater(slot: Slot, delay: number): void {
    setTimeout(() => {
      if (this.#stopping) return;
      try {
        this.#spawn(slot);
      } catch (error) {
        log.error("worker restart failed", { worker: slot.index, error: errorMessage(error) });
        this.#restartLater(slot, slot.backoff.next());
      }
    }, delay);
  }
}
