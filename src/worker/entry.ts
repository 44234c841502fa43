/**
 * Worker thread entry: runs a source (source.ts) whose port is this thread's parent. One worker's
 * trouble never reaches another's clusters. Loaded on the main thread (`workers.threads`, see
 * supervisor.ts), it starts nothing: the supervisor runs {@link runSource} with its own port.
 */
import { isMainThread } from "node:worker_threads";
import { parentThread } from "../runtime/threads.ts";
import type { MainToWorker, WorkerToMain } from "./protocol.ts";
import { runSource } from "./source.ts";

export { runSource };

if (!isMainThread) runSource(parentThread<WorkerToMain, MainToWorker>(), { inline: false });
