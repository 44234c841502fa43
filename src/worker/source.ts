/**
 * The source stage: owns the connections of the clusters it is given and reports every status change
 * and event through its port. It runs in a worker thread (entry.ts), or on the main thread itself
 * (`workers.threads`, see supervisor.ts) where a thread could not run in parallel anyway.
 * A config reload adds, removes and replaces connections here; the others keep their sessions.
 */

import type { FaultEvent } from "../events/fault.ts";
import { errorMessage, logger, setLogLevel } from "../log.ts";
import { threadCollector } from "../runtime/quiet-collector.ts";
import type { ParentPort } from "../runtime/threads.ts";
import { ClusterConnection } from "./connection.ts";
import { EventBatcher } from "./event-batcher.ts";
import { Flow } from "./flow.ts";
import {
  ALIVE_BATCH_MS,
  type AliveMessage,
  type ClusterSpec,
  type ConnectionMessage,
  type ConnectionSettings,
  EVENT_BATCH_MS,
  encodeEventBatch,
  type MainToWorker,
  type WorkerToMain,
} from "./protocol.ts";
import { SharedClock } from "./shared-clock.ts";
import { StartupGate } from "./startup-gate.ts";

const log = logger({ component: "source" });

/** Where a source runs. */
export interface SourceOptions {
  /**
   * On the main thread (`workers.threads`): events cross as they are (no JSON); an error thrown by its
   * message handling or batch sending ends this source only (it reports `crashed`, then its port exits);
   * the process's error handlers are left alone; a `hang` is refused (it would hang the whole process).
   */
  inline: boolean;
}

/**
 * Runs a source behind `parent`: it starts connections when told (`start`), and reports through it.
 * Returns what ends it at once (inline only: a thread is ended by its runtime): every connection is
 * stopped, nothing more is posted.
 *
 * @example
 * ```ts
 * runSource(parentThread<WorkerToMain, MainToWorker>(), { inline: false }); // worker thread entry
 * ```
 */
export function runSource(
  parent: ParentPort<WorkerToMain, MainToWorker>,
  options: SourceOptions,
): () => void {
  /** Connections by cluster name. */
  const connections = new Map<string, ClusterConnection>();
  const flow = new Flow();
  /** One timer for every connection's pings (see shared-clock.ts). */
  const clock = new SharedClock();
  let gate: StartupGate | null = null;
  const post = (message: WorkerToMain): void => parent.post(message);

  /** Events wait here up to {@link EVENT_BATCH_MS} and cross in batches (see {@link sendEvents}). */
  const events = new EventBatcher(guarded(sendEvents));

  /** `alive` reports not sent yet, the latest per cluster (see {@link AliveBatchMessage}). */
  const pendingAlive = new Map<string, AliveMessage>();
  let aliveTimer: ReturnType<typeof setTimeout> | null = null;
  /** The session each cluster's last sent `alive` report named. */
  const sentSession = new Map<string, string | null>();

  /** Sends the gathered `alive` reports as one message. */
  function flushAlive(): void {
    if (aliveTimer !== null) clearTimeout(aliveTimer);
    aliveTimer = null;
    if (pendingAlive.size === 0) return;
    for (const alive of pendingAlive.values()) sentSession.set(alive.cluster, alive.session_id);
    post({ type: "alives", reports: [...pendingAlive.values()] });
    pendingAlive.clear();
  }

  /** Built once: the `alive` timer's callback. */
  const flushAliveGuarded = guarded(flushAlive);

  /** Set when ended (inline, see the function returned): a change still queued then starts nothing. */
  let halted = false;

  /** Set by a `fail` message (fault injection): the next batch fails to encode. */
  let failNextBatch = false;

  /** Fault injection (a `hang` message): never yields again, as a runaway loop would; only `terminate` ends it. */
  function spinForever(): never {
    for (;;) {
      // Nothing: the thread's event loop never turns again.
    }
  }

  /**
   * Sends a batch of events as one message (see {@link EVENT_BATCH_MS}): from a worker thread as JSON
   * text, one wake-up and task of the main thread for all of them; inline as the objects.
   */
  function sendEvents(batch: FaultEvent[]): void {
    if (failNextBatch) {
      failNextBatch = false;
      throw new RangeError("injected failure: event batch could not be encoded");
    }
    if (options.inline) {
      post({ type: "events", events: batch });
      return;
    }
    post(encodeEventBatch(batch));
    threadCollector.activity();
  }

  /** `fn`, except that inline an error it throws ends this source as a crash (see {@link SourceOptions}). */
  function guarded<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
    if (!options.inline) return fn;
    return (...args) => {
      try {
        fn(...args);
      } catch (error) {
        dieOf(error);
      }
    };
  }

  /** Sends the events waiting now (before any other message: the order is kept). */
  const flush = (): void => events.flush();

  /** The events accepted but not yet sent, by cluster. */
  function heldByCluster(): Record<string, number> {
    const held: Record<string, number> = {};
    for (const event of events.pending) held[event.cluster] = (held[event.cluster] ?? 0) + 1;
    return held;
  }

  // Nothing a server sends should get here (the edge bounds it first). If anything does, the worker says
  // which events it held before it dies, so they are counted (worker_crashed), never lost silently; the
  // supervisor restarts it. The runtime reports an uncaught error either to process handlers (then the
  // worker exits here) or, as under `bun test`, as the worker's own `error` event (then it ends by itself).
  let crashed = false;
  function sayLastWords(error: unknown): void {
    if (crashed) return;
    crashed = true;
    post({ type: "crashed", error: errorMessage(error), held: heldByCluster() });
  }
  const dieOf = (error: unknown): void => {
    try {
      sayLastWords(error);
    } finally {
      parent.exit(1);
    }
  };
  if (!options.inline) {
    process.on("uncaughtException", dieOf);
    process.on("unhandledRejection", dieOf);
  }
  parent.onError(sayLastWords);

  /**
   * Passes a connection's report on: events wait up to {@link EVENT_BATCH_MS} (see {@link EventBatcher}),
   * `alive` reports up to {@link ALIVE_BATCH_MS} (one naming a new session goes at once); anything else
   * sends what waits first (order kept).
   */
  function report(message: ConnectionMessage): void {
    if (message.type === "event") {
      events.add(message.event);
      return;
    }
    if (message.type === "alive") {
      pendingAlive.set(message.cluster, message);
      // A new session goes at once: a replica taking the cluster over after a crash must find it to end it.
      if (sentSession.get(message.cluster) !== message.session_id) flushAlive();
      else aliveTimer ??= setTimeout(flushAliveGuarded, ALIVE_BATCH_MS);
      return;
    }
    flush();
    flushAlive();
    post(message);
  }

  /** Starts a connection for each spec (none once ended: a change queued behind a `disconnect`). */
  function connect(specs: readonly ClusterSpec[], settings: ConnectionSettings): void {
    if (halted) return;
    gate ??= new StartupGate(settings.connect_concurrency);
    for (const spec of specs) {
      const connection = new ClusterConnection(spec, settings, report, gate, flow, clock);
      connections.set(spec.name, connection);
      connection.start();
    }
  }

  /** Stops and forgets the named connections (unsubscribe, close the session). */
  async function disconnect(names: readonly string[]): Promise<void> {
    const stopping = names.flatMap((name) => {
      const connection = connections.get(name);
      connections.delete(name);
      sentSession.delete(name);
      return connection ? [connection.stop()] : [];
    });
    await Promise.allSettled(stopping);
    flush();
    flushAlive();
  }

  /** Handles the messages that change connections, one at a time, in order. */
  async function handle(message: MainToWorker): Promise<void> {
    switch (message.type) {
      case "start":
        setLogLevel(message.settings.log_level);
        connect(message.clusters, message.settings);
        return;
      case "add":
        connect(message.clusters, message.settings);
        return;
      case "remove":
        await disconnect(message.clusters);
        post({ type: "removed", clusters: message.clusters });
        return;
      case "replace":
        await disconnect(message.clusters.map((spec) => spec.name));
        connect(message.clusters, message.settings);
        return;
      case "stop":
        flow.release();
        await disconnect([...connections.keys()]);
        post({ type: "stopped" });
        return;
    }
  }

  let queue: Promise<void> = Promise.resolve();

  parent.onMessage(
    guarded((message: MainToWorker) => {
      // Flow and log level act at once, even while a reload is closing connections.
      if (message.type === "hold") flow.hold();
      else if (message.type === "release") flow.release();
      else if (message.type === "log_level") setLogLevel(message.level);
      else if (message.type === "fail") failNextBatch = true;
      else if (message.type === "watch") post({ type: "watched" });
      else if (message.type === "hang") {
        if (options.inline) log.warn("hang refused: this source runs on the main thread");
        else spinForever();
      } else queue = queue.then(() => handle(message)).catch(() => {});
    }),
  );

  return () => {
    halted = true;
    flow.release();
    if (aliveTimer !== null) clearTimeout(aliveTimer);
    aliveTimer = null;
    for (const connection of connections.values()) connection.stop().catch(() => {});
    connections.clear();
  };
}
