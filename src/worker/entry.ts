/**
 * Worker thread entry: owns the connections of the clusters it is given and reports every status
 * change and event to the main thread. One worker's trouble never reaches another's clusters.
 */
import { setLogLevel } from "../log.ts";
import { ClusterConnection } from "./connection.ts";
import { Gate } from "./gate.ts";
import type { MainToWorker, WorkerToMain } from "./messages.ts";

declare const self: Worker;

const connections: ClusterConnection[] = [];
const post = (message: WorkerToMain): void => self.postMessage(message);

self.onmessage = async (event: MessageEvent<MainToWorker>) => {
  const message = event.data;
  if (message.type === "start") {
    setLogLevel(message.settings.log_level);
    const gate = new Gate(message.settings.connect_concurrency);
    for (const spec of message.clusters) {
      const connection = new ClusterConnection(spec, message.settings, post, gate);
      connections.push(connection);
      connection.start();
    }
  } else if (message.type === "stop") {
    await Promise.allSettled(connections.map((c) => c.stop()));
    post({ type: "stopped" });
  }
};
