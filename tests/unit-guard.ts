/**
 * Preload of `npm run test:unit` (scripts/test-unit.ts), after tests/setup.ts: every way this code base starts
 * a server, a process or a thread throws instead, so a file in the unit set that starts one fails loudly
 * rather than silently making the fast run slow.
 *
 * Refused: `Bun.serve`, `Bun.listen`, `Bun.spawn`, `Bun.spawnSync`, `Worker`, and the `node:child_process`,
 * `node:net`, `node:http`, `node:https` and `node:worker_threads` functions that start processes, servers or
 * threads. Client calls (`fetch`, `Bun.connect`) are left alone: without a server they fail on their own.
 */
import { mock } from "bun:test";
import * as childProcess from "node:child_process";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import * as workerThreads from "node:worker_threads";
import { REFUSED_IN_UNIT_TESTS } from "../scripts/test-unit.ts";

function refuse(what: string): () => never {
  return () => {
    throw new Error(`${what} ${REFUSED_IN_UNIT_TESTS}: move this test out of the unit set`);
  };
}

/** A class whose construction is refused. */
function refusedClass(what: string): new () => never {
  const refused = refuse(what);
  return class {
    constructor() {
      refused();
    }
  } as unknown as new () => never;
}

const bun = Bun as unknown as Record<string, unknown>;
for (const name of ["serve", "listen", "spawn", "spawnSync"]) bun[name] = refuse(`Bun.${name}`);
globalThis.Worker = refusedClass("new Worker") as unknown as typeof Worker;

/** Replaces the named functions of a node module by refusals. */
function refuseModule(specifier: string, module: object, names: string[]): void {
  const replaced = Object.fromEntries(names.map((name) => [name, refuse(`${specifier} ${name}`)]));
  mock.module(specifier, () => ({ ...module, default: { ...module, ...replaced }, ...replaced }));
}

refuseModule("node:child_process", childProcess, [
  "spawn",
  "spawnSync",
  "exec",
  "execSync",
  "execFile",
  "execFileSync",
  "fork",
]);
refuseModule("node:net", net, ["createServer"]);
refuseModule("node:http", http, ["createServer"]);
refuseModule("node:https", https, ["createServer"]);
mock.module("node:worker_threads", () => {
  const Worker = refusedClass("node:worker_threads Worker");
  return { ...workerThreads, default: { ...workerThreads, Worker }, Worker };
});
