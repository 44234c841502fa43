/**
 * Worker thread entry: owns the connections of the clusters it is given and reports every status
 * change and event to the main thread. One worker's trouble never reaches another's clusters.
 */

import type { FaultEvent } from "../events/fault.ts";
import { errorMessage, setLogLevel } from "../log.ts";
import { Gate } from "../runtime/gate.ts";
import { ClusterConnection } from "./connection.ts";
import { Flow } from "./flow.ts";
import {
  type ConnectionMessage,
  encodeEventBatch,
  type MainToWorker,
  type WorkerToMain,
} from "./protocol.ts";

declare const self: Worker;

const connections: ClusterConnection[] = [];
const flow = new Flow();
const post = (message: WorkerToMain): void => self.postMessage(message);

/** Most events sent in one message. */
const MAX_BATCH = 256;
let pending: FaultEvent[] = [];
let flushing = false;

/** Set by a `fail` message (fault injection): the next batch fails to encode. */
let failNextBatch = false;

/** Sends the events gathered this turn as one message (a structured clone and a main-thread task each saved). */
function flush(): void {
  flushing = false;
  if (pending.length === 0) return;
  if (failNextBatch) {
    failNextBatch = false;
    throw new RangeError("injected failure: event batch could not be encoded");
  }
  post(encodeEventBatch(pending));
  pending = [];
}

/** The events accepted but not yet sent, by cluster. */
function heldByCluster(): Record<string, number> {
  const held: Record<string, number> = {};
  for (const event of pending) held[event.cluster] = (held[event.cluster] ?? 0) + 1;
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
    process.exit(1);
  }
};
process.on("uncaughtException", dieOf);
process.on("unhandledRejection", dieOf);
self.addEventListener("error", (event: ErrorEvent) => sayLastWords(event.error ?? event.message));

/** Passes a connection's report on; events wait for the end of this turn, anything else flushes them first (order kept). */
function report(message: ConnectionMessage): void {
  if (message.type === "event") {
    pending.push(message.event);
    if (pending.length >= MAX_BATCH) flush();
    else if (!flushing) {
      flushing = true;
      setImmediate(flush);
    }
    return;
  }
  flush();
  post(message);
}

self.onmessage = async (event: MessageEvent<MainToWorker>) => {
  const message = event.data;
  if (message.type === "start") {
    setLogLevel(message.settings.log_level);
    const gate = new Gate(message.settings.connect_concurrency);
    for (const spec of message.clusters) {
      const connection = new ClusterConnection(spec, message.settings, report, gate, flow);
      connections.push(connection);
      connection.start();
    }
  } else if (message.type === "hold") {
    flow.hold();
  } else if (message.type === "release") {
    flow.release();
  } else if (message.type === "fail") {
    failNextBatch = true;
  } else if (message.type === "stop") {
    flow.release();
    await Promise.allSettled(connections.map((c) => c.stop()));
    flush();
    post({ type: "stopped" });
  }
};
