/** The notification outbox in a real SQLite store: written in the transaction of the change that causes it. */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { join } from "node:path";
import type { RunOutput } from "../../src/agent/output.ts";
import type { RunEnd } from "../../src/incidents/model.ts";
import type { NotificationPlanner, StatusChange } from "../../src/incidents/outbox.ts";
import { SqliteStore } from "../../src/incidents/store.ts";
import { setLogSink } from "../../src/log.ts";
import { ingestOne, makeFault, makeOutcome } from "../helpers/fault.ts";
import { tempDir } from "../helpers/tmp.ts";

let dir: ReturnType<typeof tempDir>;
let changes: StatusChange[];
let restoreSink: (line: string) => void;
const stores: SqliteStore[] = [];

/** A planner that records every change and gives every one to sinks `a` and `b`. */
const recordAll: NotificationPlanner = (change) => {
  changes.push(change);
  const key = `${change.incident.id}:${change.trigger}:${change.run?.attempt ?? 0}`;
  return ["a", "b"].map((sink) => ({
    sink,
    idempotency_key: key,
    message: JSON.stringify({ trigger: change.trigger }),
  }));
};

function open(notify: NotificationPlanner | undefined = recordAll, now?: () => Date): SqliteStore {
  const store = SqliteStore.open(join(dir.path, "state"), { notify, now });
  stores.push(store);
  return store;
}

const OUTPUT: RunOutput = {
  report: "# r",
  report_status: "ok",
  report_bytes: 3,
  report_truncated: false,
  report_error: null,
  summary: { summary: "it broke" },
  summary_status: "ok",
  summary_error: null,
};

beforeEach(() => {
  dir = tempDir();
  changes = [];
  restoreSink = setLogSink(() => {});
});
afterEach(() => {
  for (const store of stores.splice(0)) store.close();
  setLogSink(restoreSink);
  dir.cleanup();
});

test("an opened incident queues its messages in the ingest; a repeat queues nothing", () => {
  const store = open();
  const incident = ingestOne(store, makeFault());
  ingestOne(store, makeFault({ at: "2026-11-25T03:05:20.000Z" }));
  expect(changes.map((c) => [c.trigger, c.incident.id, c.run])).toEqual([["opened", incident.id, null]]);
  const listed = store.outbox.list();
  expect(listed.map((n) => [n.sink, n.trigger, n.status, n.attempts, n.incident_id])).toEqual([
    ["b", "opened", "pending", 0, incident.id],
    ["a", "opened", "pending", 0, incident.id],
  ]);
  expect(store.get(incident.id)?.notifications.map((n) => n.sink)).toEqual(["a", "b"]);
});

test("a finished run stores its output and queues triaged / failed (timed_out is failed; interrupted is none)", () => {
  const store = open();
  const outcomes: RunEnd[] = [
    { ...makeOutcome(), output: OUTPUT },
    makeOutcome({ exit_code: 2 }),
    makeOutcome({ exit_code: null, signal: "SIGTERM", timed_out: true }),
    makeOutcome({ exit_code: null, signal: "SIGTERM", interrupted: true }),
  ];
  const ids = outcomes.map((outcome, i) => {
    const incident = ingestOne(store, makeFault({ fault_id: `f${i}` }));
    const run = store.markRunning(incident.id, join(dir.path, incident.id));
    store.finishRun(run.id, outcome);
    return incident.id;
  });
  expect(
    changes.filter((c) => c.trigger !== "opened").map((c) => [c.trigger, c.incident.id, c.run?.status]),
  ).toEqual([
    ["triaged", ids[0], "succeeded"],
    ["failed", ids[1], "failed"],
    ["failed", ids[2], "timed_out"],
  ]);
  // The planner sees the run with its output, as the API shows it.
  expect(changes.find((c) => c.trigger === "triaged")?.run?.output).toEqual(OUTPUT);
  expect(store.get(ids[0] ?? "")?.runs[0]?.output).toEqual(OUTPUT);
  expect(store.get(ids[1] ?? "")?.runs[0]?.output).toBeNull();
  expect(store.outbox.counts().get("a")).toEqual({ pending: 7 });
});

test("the messages share the change's transaction: when it fails, neither the incident nor a message is written", () => {
  const store = open(() => {
    throw new Error("planner broke");
  });
  expect(() => ingestOne(store, makeFault())).toThrow("planner broke");
  expect(store.list()).toEqual([]);
  expect(store.outbox.list()).toEqual([]);
});

test("attempts: retry keeps it pending until its time, sent and dead end it; removed sinks are buried", () => {
  let nowMs = Date.parse("2026-11-25T03:06:00.000Z");
  const store = open(recordAll, () => new Date(nowMs));
  ingestOne(store, makeFault());
  const due = store.outbox.nextDue("a", nowMs);
  expect(due).toMatchObject({ sink: "a", attempts: 0 });
  store.outbox.recordAttempt(due?.id ?? 0, { outcome: "retry", error: "HTTP 500", retryAtMs: nowMs + 5000 });
  expect(store.outbox.nextDue("a", nowMs)).toBeNull();
  expect(store.outbox.nextAttemptAt("a")).toBe(nowMs + 5000);
  nowMs += 5000;
  expect(store.outbox.nextDue("a", nowMs)).toMatchObject({ id: due?.id, attempts: 1 });
  store.outbox.recordAttempt(due?.id ?? 0, { outcome: "sent" });
  expect(store.outbox.nextAttemptAt("a")).toBeNull();
  const [sent] = store.outbox.list({ sink: "a" });
  expect(sent).toMatchObject({ status: "sent", attempts: 2, last_error: null, next_attempt_at: null });
  // A sent message is never changed again.
  store.outbox.recordAttempt(due?.id ?? 0, { outcome: "dead", error: "late" });
  expect(store.outbox.list({ sink: "a" })[0]?.status).toBe("sent");

  expect(store.outbox.buryUnknownSinks(new Set(["a"]))).toEqual(new Map([["b", 1]]));
  expect(store.outbox.list({ status: "dead" })).toMatchObject([
    { sink: "b", status: "dead", last_error: 'sink "b" is no longer configured' },
  ]);
});

test("the outbox survives closing and reopening the store (a crash loses nothing committed)", () => {
  const first = open();
  const incident = ingestOne(first, makeFault());
  first.close();
  stores.splice(0);
  const second = open(undefined);
  expect(second.outbox.list({ status: "pending" }).map((n) => n.incident_id)).toEqual([
    incident.id,
    incident.id,
  ]);
});
