/**
 * Worker threads on either runtime, picked once when this module loads: Web Workers under Bun (their
 * `close` event says when one ended; measured ~2x the messages per second of `node:worker_threads`
 * there), `node:worker_threads` under Deno (whose Web Workers have no event for a worker that ended:
 * its `exit` event is that). {@link startThread} is the main thread's side, {@link parentThread} the
 * worker's. {@link startInline} runs the same code on the main thread itself, behind the same
 * {@link Thread} interface (`workers.threads`): messages cross in microtasks, not cloned.
 */
import { Worker as NodeWorker, parentPort } from "node:worker_threads";
import { RUNTIME } from "./runtime.ts";

/** What the main thread hears from a thread. */
export interface ThreadHandlers<In> {
  /** A message it posted. */
  message(data: In): void;
  /** An error it did not catch (it may end after this). */
  error(message: string): void;
  /** It has ended: exited, crashed or terminated. Called once. */
  exit(): void;
}

/** A running thread, seen from the main thread. */
export interface Thread<Out, In> {
  /** Sends it a message (structured clone between threads; as it is inline). */
  post(message: Out): void;
  /** Also calls `listener` for each message it posts from now on. */
  onMessage(listener: (data: In) => void): void;
  /** Ends it now; `exit` follows. */
  terminate(): void;
}

/** The worker's side: its parent. */
export interface ParentPort<Out, In> {
  /** Sends the main thread a message (structured clone between threads; as it is inline). */
  post(message: Out): void;
  /** Calls `handler` for each message the main thread sends. */
  onMessage(handler: (data: In) => void): void;
  /**
   * Calls `handler` with an error nothing caught, where the runtime reports it as an event (Web
   * Workers); `process.on("uncaughtException")` hears it everywhere.
   */
  onError(handler: (error: unknown) => void): void;
  /** Ends this side now (a thread exits with `code`; an inline run is ended as by `terminate`). */
  exit(code: number): void;
}

const isBun = RUNTIME === "bun";

/**
 * Starts the module `entry` (a URL, or inside Bun's compiled binary the relative path of an embedded
 * entry point) as a thread.
 *
 * @example
 * ```ts
 * const thread = startThread<MainToWorker, WorkerToMain>(new URL("./entry.ts", import.meta.url).href, {
 *   message: (data) => console.log(data),
 *   error: (message) => console.error(message),
 *   exit: () => console.log("ended"),
 * });
 * thread.post({ type: "stop" });
 * ```
 */
export function startThread<Out, In>(entry: string, handlers: ThreadHandlers<In>): Thread<Out, In> {
  return isBun ? startWebWorker(entry, handlers) : startNodeWorker(entry, handlers);
}

function startWebWorker<Out, In>(entry: string, handlers: ThreadHandlers<In>): Thread<Out, In> {
  const worker = new Worker(entry, { type: "module" });
  worker.addEventListener("message", (event: MessageEvent<In>) => handlers.message(event.data));
  worker.addEventListener("error", (event: ErrorEvent) => handlers.error(event.message));
  worker.addEventListener("close", () => handlers.exit());
  return {
    post: (message) => worker.postMessage(message),
    onMessage: (listener) =>
      worker.addEventListener("message", (event: MessageEvent<In>) => listener(event.data)),
    terminate: () => worker.terminate(),
  };
}

function startNodeWorker<Out, In>(entry: string, handlers: ThreadHandlers<In>): Thread<Out, In> {
  const worker = new NodeWorker(new URL(entry));
  worker.on("message", (data: In) => handlers.message(data));
  worker.on("error", (error: Error) => handlers.error(error.message));
  worker.once("exit", () => handlers.exit());
  return {
    post: (message) => worker.postMessage(message),
    onMessage: (listener) => worker.on("message", listener),
    terminate: () => void worker.terminate(),
  };
}

/**
 * The worker's side: how to talk to the main thread. Only inside a thread {@link startThread} started.
 *
 * @example
 * ```ts
 * const parent = parentThread<WorkerToMain, MainToWorker>();
 * parent.onMessage((message) => parent.post({ type: "stopped" }));
 * ```
 */
export function parentThread<Out, In>(): ParentPort<Out, In> {
  if (isBun) {
    const scope = globalThis as unknown as Worker;
    return {
      post: (message) => scope.postMessage(message),
      onMessage: (handler) => {
        scope.onmessage = (event: MessageEvent<In>) => handler(event.data);
      },
      onError: (handler) =>
        scope.addEventListener("error", (event: ErrorEvent) => handler(event.error ?? event.message)),
      exit: (code) => process.exit(code),
    };
  }
  const port = parentPort;
  if (port === null) throw new Error("parentThread() called outside a worker thread");
  return {
    post: (message) => port.postMessage(message),
    onMessage: (handler) => port.on("message", handler),
    onError: () => {},
    exit: (code) => process.exit(code),
  };
}

/** What {@link startInline} runs on this thread: given its port, it runs, and returns what ends it at once. */
export type InlineRun<Out, In> = (port: ParentPort<In, Out>) => () => void;

/**
 * Runs what `load` gives on THIS thread instead of a new one, behind the same {@link Thread} interface:
 * messages cross as they are (no structured clone: neither side may change one it has sent), each in a
 * microtask of its own, in order; messages posted before `load` resolves wait for it. `terminate` (or the
 * run's own `exit`) cuts the ports and calls what the run returned to end it; `exit` follows.
 *
 * @example
 * ```ts
 * const load = () => import("../worker/source.ts").then((m) => (port) => m.runSource(port, { inline: true }));
 * const thread = startInline(load, { message, error, exit }); // then thread.post(…) as to a worker
 * ```
 */
export function startInline<Out, In>(
  load: () => Promise<InlineRun<Out, In>>,
  handlers: ThreadHandlers<In>,
): Thread<Out, In> {
  let ended = false;
  let halt: (() => void) | null = null;
  let inbound: ((data: Out) => void) | null = null;
  const waiting: Out[] = [];
  const listeners: Array<(data: In) => void> = [(data) => handlers.message(data)];
  const end = (): void => {
    if (ended) return;
    ended = true;
    waiting.length = 0;
    halt?.();
    queueMicrotask(() => handlers.exit());
  };
  const port: ParentPort<In, Out> = {
    // Checked when posted, not when delivered: last words before `exit` still arrive (before `exit`).
    post: (message) => {
      if (ended) return;
      queueMicrotask(() => {
        for (const listener of listeners) listener(message);
      });
    },
    onMessage: (handler) => {
      inbound = handler;
      for (const message of waiting.splice(0)) queueMicrotask(() => !ended && handler(message));
    },
    onError: () => {},
    exit: end,
  };
  load().then(
    (run) => {
      if (!ended) halt = run(port);
    },
    (error: unknown) => {
      handlers.error(error instanceof Error ? error.message : String(error));
      end();
    },
  );
  return {
    post: (message) => {
      if (ended) return;
      const handler = inbound;
      if (handler === null) waiting.push(message);
      else queueMicrotask(() => !ended && handler(message));
    },
    onMessage: (listener) => listeners.push(listener),
    terminate: end,
  };
}
