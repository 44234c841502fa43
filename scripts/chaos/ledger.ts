/**
 * The files a chaos run leaves in its directory, so that `--analyze DIR` can count a kept run again:
 * what was sent (`sent.jsonl`), when servers returned and became active (`returns.jsonl`), what the harness
 * did (`actions.jsonl`), and the run's settings (`meta.json`). The agent writes `agent-runs.log`; faultline's
 * store is `state/faultline.db`, or in replica mode a snapshot of the PostgreSQL store (`store.json`, taken
 * before the throw-away server is stopped).
 */

import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ChaosOptions } from "./options.ts";

/** File names inside a run directory. */
export const RUN_FILES = {
  meta: "meta.json",
  sent: "sent.jsonl",
  returns: "returns.jsonl",
  actions: "actions.jsonl",
  agentRuns: "agent-runs.log",
  state: "state",
  store: "store.json",
  /** Each simulated cluster's events (`events_list` after a simulator restart still lists them). */
  simEvents: "sim-events",
  /** Replica mode: every incident, event and run row of PostgreSQL as it was at the end (for reading, not counted). */
  storeRows: "store-rows.json",
} as const;

/** One fault the harness asked a simulator to send. */
export interface SentFault {
  seq: number;
  cluster: string;
  /** The fault's resource name: unique over the run, so each fault should become one incident. */
  name: string;
  /** Wall-clock ms when the inject request was made. */
  at_ms: number;
  /** Subscriptions the simulator delivered it to; null when the inject request failed. */
  delivered: number | null;
  /** Whether faultline's process was alive while the fault was sent (the harness never kills it mid-inject). */
  faultline_up: boolean;
  /** Why the inject request failed, when it did. */
  error?: string;
  /** Replica mode: the replica holding the cluster when it was sent (null: none alive held it). */
  holder?: string | null;
}

/** Why a server "returned": what was undone, and from when its connection is measured. */
export type ReturnKind =
  | "up"
  | "sim-restart"
  | "drop"
  | "faultline-start"
  /** Replica mode: a replica holding the cluster was SIGKILLed (measured to active on any replica). */
  | "replica-kill"
  /** Replica mode: a replica holding the cluster was stopped gracefully (SIGTERM). */
  | "replica-stop";

/** One measured (or cut short) return of a cluster's server. */
export interface ReturnRecord {
  cluster: string;
  kind: ReturnKind;
  /** When the server was back (wall-clock ms). */
  at_ms: number;
  /** When faultline logged the cluster `active` again; null when the run ended first. */
  active_ms: number | null;
  /** Set when another disruption (or a faultline kill) came before the cluster was active again. */
  censored?: boolean;
  /** Replica mode: the replica that was killed or stopped (kinds `replica-kill`, `replica-stop`). */
  replica?: string;
  /** Replica mode: the replica that logged the cluster active. */
  active_by?: string;
}

/** One disruption the harness performed. */
export interface ActionRecord {
  at_ms: number;
  action:
    | "drop-sessions"
    | "down"
    | "up"
    | "kill-sim"
    | "restart-sim"
    | "kill-faultline"
    | "start-faultline"
    | "kill-replica"
    | "stop-replica"
    | "start-replica";
  target: string;
  /** Anything worth knowing (e.g. an unexpected exit code). */
  note?: string;
}

/** The run's settings and what the harness saw of faultline's own exits. */
export interface RunMeta {
  seed: number;
  seconds: number;
  clusters: Array<{ name: string; sim: number }>;
  sims: number;
  rate: number;
  agent_seconds: number;
  disruptions: string[];
  faultline: "source" | "compiled";
  machine: string;
  started_at: string;
  /** faultline exits the harness did not cause (crashes), with their code or signal. */
  unexpected_exits: string[];
  /** Exit code of the final graceful stop (SIGTERM); null if it had to be killed. */
  final_exit_code: number | null;
  /** What went wrong in the harness itself (a simulator that would not restart, …). */
  harness_errors: string[];
  /** Clusters faultline did not have active when the settle period ended. */
  inactive_at_end: string[];
  /** Set when the settle period ended with incidents still queued or running. */
  settle_note?: string;
  /** Replica mode: the replicas' names and their `ha.lease_seconds`. */
  replicas?: { names: string[]; lease_seconds: number };
  /** Replica mode: clusters active on more than one replica at the end of the settle period. */
  active_twice_at_end?: string[];
}

/**
 * A run's meta at its start: the options it ran with, each cluster's simulator process, nothing gone
 * wrong yet.
 */
export function newRunMeta(
  options: Pick<ChaosOptions, "seed" | "seconds" | "sims" | "rate" | "agentSeconds" | "compiled">,
  clusters: readonly string[],
  simOf: (cluster: string) => number,
  run: Pick<RunMeta, "disruptions" | "machine" | "replicas">,
): RunMeta {
  return {
    seed: options.seed,
    seconds: options.seconds,
    clusters: clusters.map((name) => ({ name, sim: simOf(name) })),
    sims: options.sims,
    rate: options.rate,
    agent_seconds: options.agentSeconds,
    faultline: options.compiled ? "compiled" : "source",
    started_at: new Date().toISOString(),
    unexpected_exits: [],
    final_exit_code: null,
    harness_errors: [],
    inactive_at_end: [],
    ...run,
  };
}

/** Appends one JSON line to `file`. */
export function appendJsonLine(file: string, record: object): void {
  appendFileSync(file, `${JSON.stringify(record)}\n`);
}

/** Every JSON line of `file` (none when it does not exist). */
export function readJsonLines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as T);
}

/** Writes the run's `meta.json`. */
export function writeMeta(dir: string, meta: RunMeta): void {
  writeFileSync(join(dir, RUN_FILES.meta), `${JSON.stringify(meta, null, 2)}\n`);
}

/** Reads the run's `meta.json`; throws naming the file when it is missing. */
export function readMeta(dir: string): RunMeta {
  const file = join(dir, RUN_FILES.meta);
  if (!existsSync(file)) throw new Error(`${file}: not a chaos run directory (no ${RUN_FILES.meta})`);
  return JSON.parse(readFileSync(file, "utf8")) as RunMeta;
}
