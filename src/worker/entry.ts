/**
 * Worker thread entry: owns the connections of the clusters it is given and reports every status
 * change and event to the main thread. One worker's trouble never reaches another's clusters.
 */

import type { FaultEvent } from "../events/fault.ts";
import { setLogLevel } from "../log.ts";
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

/** Sends the events gathered this turn as one message (a structured clone and a main-thread task each saved). */
function flush(): void {
  flushing = false;
  if (pending.length === 0) return;
  post(encodeEventBatch(pending));
  pending = [];
}

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
  } else if (message.type === "stop") {
    flow.release();
    await Promise.allSettled(connections.map((c) => c.stop()));
    flush();
    post({ type: "stopped" });
  }
};
