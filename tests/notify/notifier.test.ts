/** The outbox worker against real HTTP receivers on loopback and a real SQLite store. */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { join } from "node:path";
import * as v from "valibot";
import { NotifySinkSchema } from "../../src/config/schema.ts";
import type { NotifySinkConfig } from "../../src/config/types.ts";
import { SqliteStore } from "../../src/incidents/store.ts";
import { setLogSink } from "../../src/log.ts";
import { planNotifications } from "../../src/notify/message.ts";
import { Notifier } from "../../src/notify/notifier.ts";
import { ingestOne, makeFault } from "../helpers/fault.ts";
import { freePort, type Receiver, type Reply, startReceiver } from "../helpers/receiver.ts";
import { tempDir } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

let dir: ReturnType<typeof tempDir>;
let store: SqliteStore | undefined;
let notifier: Notifier | undefined;
let receiver: Receiver | undefined;
let logs: Array<Record<string, unknown>>;
let restoreSink: (line: string) => void;

beforeEach(() => {
  dir = tempDir();
  logs = [];
  restoreSink = setLogSink((line) => logs.push(JSON.parse(line)));
});
afterEach(async () => {
  await notifier?.stop();
  store?.close();
  await receiver?.stop();
  setLogSink(restoreSink);
  dir.cleanup();
  notifier = store = receiver = undefined;
});

/** Sinks hearing about every opened incident, a store planning for them, and their notifier (started). */
function start(
  sinks: Array<Record<string, unknown>>,
  reply?: (path: string, n: number) => Reply,
): NotifySinkConfig[] {
  receiver = startReceiver(reply);
  const base = receiver.url;
  const parsed = sinks.map((s) =>
    v.parse(NotifySinkSchema, { type: "webhook", on: ["opened"], url: `${base}/${s.name}`, ...s }),
  );
  store = SqliteStore.open(join(dir.path, "state"), {
    notify: planNotifications({ notify: parsed, clusters: [], health: {} }),
  });
  notifier = new Notifier({ sinks: parsed, outbox: store.outbox, random: () => 0 });
  notifier.start();
  return parsed;
}

function open(n: number): void {
  for (let i = 0; i < n; i++)
    ingestOne(store as SqliteStore, makeFault({ fault_id: `f${i}`, resource: { name: `p${i}` } }));
  notifier?.kick();
}

test("a sink that never answers does not hold another; stopping abandons its attempt without counting it", async () => {
  start([{ name: "slow", timeout_seconds: 30 }, { name: "fast" }], (path) =>
    path === "/slow" ? "hang" : { status: 200 },
  );
  const began = performance.now();
  open(1);
  await waitFor("fast delivered", () => receiver?.at("/fast").length === 1);
  await waitFor("fast recorded", () => store?.outbox.list({ sink: "fast" })[0]?.status === "sent");
  expect(performance.now() - began).toBeLessThan(2000);
  expect(receiver?.at("/slow")).toHaveLength(1);
  await notifier?.stop();
  // Abandoned at shutdown: still pending, no attempt counted; the next start sends it again.
  expect(store?.outbox.list({ sink: "slow" })[0]).toMatchObject({ status: "pending", attempts: 0 });
  expect(notifier?.totals().get("slow")).toEqual({ sent: 0, failed: 0, dead: 0 });
});

test("a 4xx or a redirect is permanent: dead after one attempt, with the status and the receiver's words", async () => {
  start([{ name: "bad" }, { name: "moved" }], (path) =>
    path === "/bad"
      ? { status: 400, body: "invalid_payload" }
      : { status: 302, headers: { location: "http://elsewhere/" } },
  );
  open(1);
  await waitFor("both dead", () => store?.outbox.list({ status: "dead" }).length === 2);
  const dead = Object.fromEntries((store?.outbox.list({ status: "dead" }) ?? []).map((n) => [n.sink, n]));
  expect(dead.bad).toMatchObject({ attempts: 1, last_error: "HTTP 400: invalid_payload" });
  expect(dead.moved?.last_error).toStartWith("HTTP 302 (redirects are not followed");
  expect(notifier?.totals().get("bad")).toEqual({ sent: 0, failed: 0, dead: 1 });
  expect(logs.some((l) => l.msg === "notification moved to dead-letter" && l.sink === "bad")).toBe(true);
});

test("an unreachable sink is retried with backoff, then dead-lettered after max_attempts", async () => {
  const port = await freePort();
  start([
    {
      name: "down",
      url: `http://127.0.0.1:${port}/down`,
      max_attempts: 3,
      retry: { initial_seconds: 0.05, max_seconds: 0.1 },
    },
  ]);
  open(1);
  const dead = await waitFor("dead", () => store?.outbox.list({ status: "dead" })[0]);
  expect(dead).toMatchObject({ sink: "down", attempts: 3 });
  expect(dead.last_error).toStartWith("unreachable");
  expect(dead.last_error).toEndWith("(gave up after 3 attempts)");
  expect(dead.last_error).not.toContain(String(port));
  expect(notifier?.totals().get("down")).toEqual({ sent: 0, failed: 2, dead: 1 });
  const retries = logs.filter((l) => l.msg === "notification not delivered, will retry");
  expect(retries.map((l) => l.retry_in_ms)).toEqual([50, 100]);
});

test("each sink has its own rate limit: messages to a limited sink are spaced, another sink is not slowed", async () => {
  start([
    { name: "limited", max_per_minute: 300 },
    { name: "free", max_per_minute: 60_000 },
  ]);
  open(4);
  await waitFor(
    "all delivered",
    () => receiver?.at("/limited").length === 4 && receiver.at("/free").length === 4,
    5000,
  );
  const times = (path: string) => (receiver?.at(path) ?? []).map((r) => r.at);
  const limited = times("/limited");
  for (let i = 1; i < limited.length; i++)
    expect((limited[i] ?? 0) - (limited[i - 1] ?? 0)).toBeGreaterThanOrEqual(180);
  const free = times("/free");
  expect((free.at(-1) ?? 0) - (free[0] ?? 0)).toBeLessThan(400);
  expect(new Set(receiver?.at("/limited").map((r) => r.headers["idempotency-key"])).size).toBe(4);
});
