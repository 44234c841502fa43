/**
 * Worker thread entry: runs a source (source.ts) whose port is this thread's parent. One worker's
 * trouble never reaches another's clusters.
 */
import { parentThread } from "../runtime/threads.ts";
import type { MainToWorker, WorkerToMain } from "./protocol.ts";
import { runSource } from "./source.ts";

runSource(parentThread<WorkerToMain, MainToWorker>(), { inline: false });
