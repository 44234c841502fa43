/**
 * Starts the worker threads that hold the cluster connections and keeps them alive. One worker per
 * cluster up to `workers.max`; past that, clusters are spread evenly over `workers.max` workers (each
 * connection still supervised on its own inside its worker). A worker that dies is restarted with
 * backoff; its clusters reconnect, the others never notice.
 */
import { DEFAULT_HANG_SECONDS } from "../config/schema.ts";
import type { ClusterConfig } from "../config/types.ts";
import type { LogLevel } from "../log.ts";
import { errorMessage, logger } from "../log.ts";
import { Backoff } from "../runtime/backoff.ts";
import {
  type InlineRun,
  type ParentPort,
  startInline,
  startThread,
  type Thread,
  type ThreadHandlers,
} from "../runtime/threads.ts";
import {
  type ClusterResume,
  type ClusterSpec,
  type ConnectionSettings,
  clusterSpec,
  type MainToWorker,
  type WorkerToMain,
} from "../worker/protocol.ts";
import { watchIntervalMs, watchVerdict } from "./worker-watchdog.ts";

const log = logger({ component: "supervisor" });

/**
 * The worker entry. From source it sits beside this folder; inside the compiled binary (an extra
 * entry point, see scripts/build.ts) it is embedded at `/$bunfs/root/worker/entry.js`, which the
 * relative specifier `./worker/entry.ts` resolves to.
 */
const WORKER_ENTRY: string = import.meta.url.includes("/$bunfs/")
  ? "./worker/entry.ts"
  : new URL("../worker/entry.ts", import.meta.url).href;

/**
 * Starts a source: in a worker thread, or `inline` on this thread (`workers.threads`, see
 * source-placement.ts), behind the same interface.
 */
function startSource(handlers: ThreadHandlers<WorkerToMain>, inline: boolean): WorkerThread {
  if (!inline) return startThread<MainToWorker, WorkerToMain>(WORKER_ENTRY, handlers);
  return startInline<MainToWorker, WorkerToMain>(loadSource, handlers);
}

/** What the worker entry exports: the source, to run on this thread (see entry.ts). */
type RunSource = (port: ParentPort<WorkerToMain, MainToWorker>, options: { inline: boolean }) => () => void;

/**
 * Loads the worker entry on this thread and gives its source to run inline. The entry is imported by the
 * same computed specifier a worker thread is started with: inside the compiled binary it is an embedded
 * entry point already, and `deno check` (which cannot resolve the MCP SDK's `./*` type paths) does not
 * follow it from the main thread's graph, as it never followed the worker's.
 */
async function loadSource(): Promise<InlineRun<MainToWorker, WorkerToMain>> {
  const entry: { runSource?: unknown } = await import(WORKER_ENTRY);
  if (typeof entry.runSource !== "function") throw new Error(`${WORKER_ENTRY} exports no runSource`);
  const runSource = entry.runSource as RunSource;
  return (port) => runSource(port, { inline: true });
}

/** What a prewarmed thread reports to: the spawn that takes it. */
interface LateHandlers {
  /** The spawn's handlers, once taken. */
  handlers: ThreadHandlers<WorkerToMain> | null;
  /** It ended before a spawn took it (it failed to load): not to be taken. */
  ended: boolean;
}

/** A thread started ahead of its clusters; its handlers are attached when a spawn takes it. */
interface PrewarmedThread {
  thread: WorkerThread;
  late: LateHandlers;
  /** A source on this thread (its code loading), not a worker thread. */
  inline: boolean;
}

/** Worker threads started ahead of their clusters (see {@link prewarmWorkers}), taken by the first spawns. */
const prewarmed: PrewarmedThread[] = [];

/** Starts a worker thread whose handlers are given later (a worker posts nothing before `start`). */
function startPrewarmed(inline: boolean): PrewarmedThread {
  const late: LateHandlers = { handlers: null, ended: false };
  const thread = startSource(
    {
      message: (data) => late.handlers?.message(data),
      error: (message) => late.handlers?.error(message),
      exit: () => {
        late.ended = true;
        late.handlers?.exit();
      },
    },
    inline,
  );
  return { thread, late, inline };
}

/**
 * Starts the worker threads `clusters` enabled clusters will need (at most `workersMax`) before the
 * supervisor exists, so that each loads its code (the MCP SDK) while the main thread still opens the
 * store and recovers: the supervisor's first spawns take them. Messages posted to a worker still
 * loading wait for it. With `inline` (see source-placement.ts), one source's code starts loading on
 * this thread instead.
 *
 * @example
 * ```ts
 * prewarmWorkers(config.workers.max, enabledClusters.length); // then open the store, then new Supervisor(…).start()
 * ```
 */
export function prewarmWorkers(workersMax: number, clusters: number, inline = false): void {
  const wanted = Math.min(inline ? 1 : workersMax, clusters) - prewarmed.length;
  for (let i = 0; i < wanted; i++) prewarmed.push(startPrewarmed(inline));
}

/** The first prewarmed source of the kind wanted (thread or `inline`) still usable; null when none is. */
function takePrewarmed(inline: boolean): PrewarmedThread | null {
  const index = prewarmed.findIndex((entry) => entry.inline === inline && !entry.late.ended);
  return index === -1 ? null : (prewarmed.splice(index, 1)[0] ?? null);
}

/** Ends the prewarmed workers no supervisor took (start-up failed). */
export function discardPrewarmedWorkers(): void {
  for (const entry of prewarmed.splice(0)) entry.thread.terminate();
}

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
  /** A worker silent this long is taken for hung and restarted (`workers.hang_seconds`; see worker-watchdog.ts). */
  hangMs?: number;
  /**
   * One source on this thread instead of worker threads (`workers.threads`, see source-placement.ts):
   * `workersMax` is then 1, and there is no hang watchdog (a hung source is a hung main thread, which
   * nothing on it can notice: the liveness probe can).
   */
  inline?: boolean;
}

/** A worker thread holding connections. */
type WorkerThread = Thread<MainToWorker, WorkerToMain>;

/** How long {@link Supervisor.remove} waits for a worker to report its clusters closed. */
export const REMOVE_TIMEOUT_MS = 5000;

/** The {@link ClusterSpec} of `cluster`, with where it was left when `resume` has it. */
function withResume(cluster: ClusterConfig, resume?: ReadonlyMap<string, ClusterResume>): ClusterSpec {
  const state = resume?.get(cluster.name);
  return { ...clusterSpec(cluster), ...(state ? { resume: state } : {}) };
}

/** Connection attempts in flight at once across all workers (each worker gets an even share). */
export const CONNECT_CONCURRENCY = 64;

interface Slot {
  index: number;
  specs: ClusterSpec[];
  worker: WorkerThread | null;
  backoff: Backoff;
  restarts: number;
  stopped: PromiseWithResolvers<void> | null;
  /** A restart after a crash is scheduled (adding a cluster then must not spawn a second worker). */
  restartPending: boolean;
  /** When its worker last posted anything (`performance.now()`). */
  heardMs: number;
  /** Set when the watchdog ended its worker as hung: how long it had been silent. */
  hungForMs: number | null;
}

/** Owns the worker threads. */
export class Supervisor {
  readonly #options: SupervisorOptions;
  readonly #inline: boolean;
  /** `workers.max`, or 1 for an inline source. */
  readonly #workersMax: number;
  readonly #slots: Slot[];
  #settings: ConnectionSettings;
  #stopping = false;
  #started = false;
  /** Clusters being removed: called when their worker reports them closed. */
  readonly #removing = new Map<string, () => void>();
  readonly #hangMs: number;
  /** How often the watchdog looks ({@link watchIntervalMs} of {@link #hangMs}). */
  readonly #watchMs: number;
  #watchTimer: ReturnType<typeof setInterval> | null = null;
  /** When the watchdog last looked (`performance.now()`). */
  #lastWatchMs = 0;

  constructor(options: SupervisorOptions) {
    this.#options = options;
    this.#inline = options.inline ?? false;
    this.#workersMax = this.#inline ? 1 : options.workersMax;
    const specs = options.clusters.map((c) => withResume(c, options.resume));
    const groups = partition(specs, this.#workersMax);
    this.#settings = {
      ...options.settings,
      connect_concurrency: Math.max(1, Math.ceil(CONNECT_CONCURRENCY / Math.max(1, groups.length))),
    };
    this.#slots = groups.map((group, index) => this.#newSlot(index, group));
    this.#hangMs = options.hangMs ?? DEFAULT_HANG_SECONDS * 1000;
    this.#watchMs = watchIntervalMs(this.#hangMs);
  }

  /** Number of worker threads holding clusters. */
  get workerCount(): number {
    return this.#slots.filter((s) => s.specs.length > 0).length;
  }

  /** The clusters each worker holds, by worker index (an emptied worker holds none). */
  get assignment(): string[][] {
    return this.#slots.map((s) => s.specs.map((spec) => spec.name));
  }

  /** How many times each worker has been restarted after dying. */
  get restarts(): number[] {
    return this.#slots.map((s) => s.restarts);
  }

  /** Starts every worker. */
  start(): void {
    this.#started = true;
    for (const slot of this.#slots) this.#spawn(slot);
    this.#lastWatchMs = performance.now();
    if (!this.#inline) {
      this.#watchTimer = setInterval(() => this.#watch(), this.#watchMs);
      this.#watchTimer.unref?.();
    }
    log.info("workers started", {
      workers: this.#slots.length,
      clusters: this.#options.clusters.length,
      threads: !this.#inline,
    });
  }

  /**
   * Ends a worker abruptly, as a crash would (fault injection for tests and drills); the supervisor
   * restarts it like any other dead worker.
   */
  killWorker(index: number): void {
    this.#slots[index]?.worker?.terminate();
  }

  /**
   * Makes a worker's next event batch fail with an uncaught error (fault injection for tests and drills):
   * it dies reporting the events it held, which are counted as `worker_crashed`; then it is restarted.
   */
  failWorker(index: number): void {
    this.#slots[index]?.worker?.post({ type: "fail" } satisfies MainToWorker);
  }

  /**
   * Makes a worker's thread spin forever without yielding (fault injection for tests and drills): it
   * answers nothing from then on, until the watchdog takes it for hung and restarts it.
   */
  hangWorker(index: number): void {
    this.#slots[index]?.worker?.post({ type: "hang" } satisfies MainToWorker);
  }

  /**
   * Asks each worker silent for a while to answer; ends one silent past the hang timeout (it is restarted).
   * A tick that comes late means this thread itself was stalled: the workers' messages are still queued
   * behind it, so the time it was late is not counted against them.
   */
  #watch(): void {
    const now = performance.now();
    const late = Math.max(0, now - this.#lastWatchMs - this.#watchMs);
    this.#lastWatchMs = now;
    for (const slot of this.#slots) {
      slot.heardMs += late;
      const worker = slot.worker;
      if (!worker || slot.stopped) continue;
      const silentMs = now - slot.heardMs;
      const verdict = watchVerdict(silentMs, this.#hangMs);
      if (verdict === "ask") worker.post({ type: "watch" });
      else if (verdict === "hung") {
        slot.hungForMs = silentMs;
        log.error("worker hung: no answer, ending it", {
          worker: slot.index,
          silent_ms: Math.round(silentMs),
          clusters: slot.specs.length,
        });
        worker.terminate();
      }
    }
  }

  /** Sends `message` to every running worker (e.g. hold or release event streams). */
  broadcast(message: MainToWorker): void {
    for (const slot of this.#slots) slot.worker?.post(message);
  }

  /** The worker index that holds `cluster`, or -1. */
  workerOf(cluster: string): number {
    return this.#slots.findIndex((s) => s.specs.some((spec) => spec.name === cluster));
  }

  /**
   * Config reload: connects `clusters` (none may be running already), each in the worker holding the
   * fewest clusters, or in a new worker while there are fewer than `workers.max`; with `settings`, the
   * connection settings for these and later connections; with `resume`, where each was left (a replica
   * taking a cluster over: backfill the gap, end the old session).
   */
  add(
    clusters: readonly ClusterConfig[],
    settings?: Omit<ConnectionSettings, "connect_concurrency">,
    resume?: ReadonlyMap<string, ClusterResume>,
  ): void {
    if (settings) this.#settings = { ...settings, connect_concurrency: this.#settings.connect_concurrency };
    for (const spec of clusters.map((c) => withResume(c, resume))) {
      const slot = this.#slotFor();
      slot.specs.push(spec);
      if (!this.#started || this.#stopping) continue;
      if (slot.worker) slot.worker.post({ type: "add", clusters: [spec], settings: this.#settings });
      else if (slot.specs.length === 1 && !slot.restartPending) this.#spawn(slot);
    }
  }

  /**
   * Config reload: unsubscribes and closes these clusters' connections; a worker left with none ends.
   * Resolves once their workers report them closed (at most {@link REMOVE_TIMEOUT_MS} later).
   */
  remove(names: readonly string[]): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const slot of this.#slots) {
      const gone = slot.specs.filter((spec) => names.includes(spec.name)).map((spec) => spec.name);
      if (gone.length === 0) continue;
      slot.specs = slot.specs.filter((spec) => !gone.includes(spec.name));
      if (!slot.worker || this.#stopping) continue;
      waits.push(...gone.map((name) => this.#whenRemoved(name)));
      slot.worker.post({ type: "remove", clusters: gone });
      if (slot.specs.length === 0) this.#retire(slot);
    }
    return Promise.all(waits).then(() => {});
  }

  /** Resolves when `name`'s worker reports it removed, or after {@link REMOVE_TIMEOUT_MS}. */
  #whenRemoved(name: string): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>();
    const done = () => {
      clearTimeout(timer);
      if (this.#removing.get(name) === done) this.#removing.delete(name);
      resolve();
    };
    const timer = setTimeout(done, REMOVE_TIMEOUT_MS);
    this.#removing.get(name)?.();
    this.#removing.set(name, done);
    return promise;
  }

  /**
   * Config reload: closes each cluster's connection and opens a new one from its new config (endpoint,
   * labels), in the worker that holds it; with `settings`, the new connection settings.
   */
  replace(
    clusters: readonly ClusterConfig[],
    settings?: Omit<ConnectionSettings, "connect_concurrency">,
  ): void {
    if (settings) this.#settings = { ...settings, connect_concurrency: this.#settings.connect_concurrency };
    for (const spec of clusters.map(clusterSpec)) {
      const slot = this.#slots.find((s) => s.specs.some((old) => old.name === spec.name));
      if (!slot) continue;
      slot.specs = slot.specs.map((old) => (old.name === spec.name ? spec : old));
      slot.worker?.post({ type: "replace", clusters: [spec], settings: this.#settings });
    }
  }

  /** Config reload: every worker logs at `level` from now on. */
  setLogLevel(level: LogLevel): void {
    this.#settings = { ...this.#settings, log_level: level };
    this.broadcast({ type: "log_level", level });
  }

  /** Asks every worker to unsubscribe and close its sessions, waits up to `timeoutMs`, then ends them. */
  async stop(timeoutMs = 5000): Promise<void> {
    this.#stopping = true;
    if (this.#watchTimer !== null) clearInterval(this.#watchTimer);
    const waits = this.#slots.map(async (slot) => {
      const worker = slot.worker;
      if (!worker) return;
      slot.stopped = Promise.withResolvers<void>();
      worker.post({ type: "stop" });
      const timer = setTimeout(() => slot.stopped?.resolve(), timeoutMs);
      await slot.stopped.promise;
      clearTimeout(timer);
      worker.terminate();
      slot.worker = null;
    });
    await Promise.all(waits);
  }

  /** An emptied slot to reuse, a new one while under `workers.max`, else the one holding the fewest clusters. */
  #slotFor(): Slot {
    const empty = this.#slots.find((s) => s.specs.length === 0 && !s.worker);
    if (empty) return empty;
    if (this.#slots.length < this.#workersMax) {
      const slot = this.#newSlot(this.#slots.length, []);
      this.#slots.push(slot);
      return slot;
    }
    return this.#slots.reduce((least, s) => (s.specs.length < least.specs.length ? s : least));
  }

  #newSlot(index: number, specs: ClusterSpec[]): Slot {
    const { initial_seconds, max_seconds } = this.#options.settings.reconnect;
    const backoff = new Backoff(initial_seconds * 1000, max_seconds * 1000);
    return {
      index,
      specs,
      worker: null,
      backoff,
      restarts: 0,
      stopped: null,
      restartPending: false,
      heardMs: 0,
      hungForMs: null,
    };
  }

  /** Ends a worker left without clusters, once it has closed their connections. */
  #retire(slot: Slot): void {
    const worker = slot.worker;
    if (!worker) return;
    slot.worker = null;
    const end = () => {
      clearTimeout(timer);
      worker.terminate();
    };
    const timer = setTimeout(end, 5000);
    worker.onMessage((data) => {
      if (data.type === "stopped") end();
    });
    worker.post({ type: "stop" });
  }

  #spawn(slot: Slot): void {
    const handlers: ThreadHandlers<WorkerToMain> = {
      message: (data) => {
        slot.heardMs = performance.now();
        if (data.type === "watched") return;
        if (data.type === "stopped") {
          slot.stopped?.resolve();
          return;
        }
        if (data.type === "removed") {
          for (const name of data.clusters) this.#removing.get(name)?.();
          return;
        }
        if (data.type === "status" && data.status === "active") slot.backoff.reset();
        this.#options.onMessage(data);
      },
      error: (message) => log.error("worker error", { worker: slot.index, error: message }),
      exit: () => this.#onClose(slot, worker),
    };
    const taken = takePrewarmed(this.#inline);
    if (taken) taken.late.handlers = handlers;
    const worker: WorkerThread = taken?.thread ?? startSource(handlers, this.#inline);
    slot.worker = worker;
    slot.heardMs = performance.now();
    slot.hungForMs = null;
    worker.post({ type: "start", clusters: slot.specs, settings: this.#settings });
    // A restarted worker starts fresh: the gap a previous faultline left is backfilled once.
    slot.specs = slot.specs.map(({ resume: _done, ...spec }) => spec);
  }

  #onClose(slot: Slot, worker: WorkerThread): void {
    if (this.#stopping || slot.worker !== worker) return;
    slot.worker = null;
    slot.restarts++;
    const delay = slot.backoff.next();
    const error =
      slot.hungForMs === null
        ? `worker ${slot.index} stopped unexpectedly; restarting it`
        : `worker ${slot.index} hung (no answer for ${Math.round(slot.hungForMs / 1000)} s); restarting it`;
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
    slot.restartPending = true;
    setTimeout(() => {
      slot.restartPending = false;
      if (this.#stopping || slot.worker || slot.specs.length === 0) return;
      try {
        this.#spawn(slot);
      } catch (error) {
        log.error("worker restart failed", { worker: slot.index, error: errorMessage(error) });
        this.#restartLater(slot, slot.backoff.next());
      }
    }, delay);
  }
}
