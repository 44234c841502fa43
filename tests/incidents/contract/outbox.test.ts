/**
 * Store contract, the outbox: messages are written with the change that causes them, due in order of
 * their next attempt, retried, given up on (dead), and buried when their sink is no longer configured;
 * listings and counts by sink and status. Runs on SQLite and PostgreSQL.
 */
import { expect, test } from "bun:test";
import { contractSuite } from "./backends.ts";
import { eventAt, item, plannerFor, T0, testClock } from "./fixtures.ts";

contractSuite("store contract: outbox", (ctx) => {
  test("due order, retry, sent and dead; a message never goes out before its time", async () => {
    const clock = testClock();
    const store = await ctx().open({ now: clock.now, notify: plannerFor("hook") });
    await store.ingest([item(eventAt(0, { fault_id: "a" })), item(eventAt(0, { fault_id: "b" }))]);
    expect(await store.outbox.nextAttemptAt("hook")).toBe(T0);
    expect(await store.outbox.nextAttemptAt("other")).toBeNull();
    const first = await store.outbox.nextDue("hook", T0);
    expect(first?.attempts).toBe(0);
    expect(JSON.parse(first?.message ?? "{}")).toMatchObject({ trigger: "opened" });
    await store.outbox.recordAttempt(first?.id ?? 0, {
      outcome: "retry",
      error: "HTTP 503",
      retryAtMs: T0 + 30_000,
    });
    const second = await store.outbox.nextDue("hook", T0);
    expect(second?.id).not.toBe(first?.id);
    await store.outbox.recordAttempt(second?.id ?? 0, { outcome: "sent" });
    expect(await store.outbox.nextDue("hook", T0 + 29_999)).toBeNull();
    expect(await store.outbox.nextAttemptAt("hook")).toBe(T0 + 30_000);
    const retried = await store.outbox.nextDue("hook", T0 + 30_000);
    expect(retried?.id).toBe(first?.id ?? -1);
    expect(retried?.attempts).toBe(1);
    await store.outbox.recordAttempt(retried?.id ?? 0, { outcome: "dead", error: "HTTP 400" });
    // A second outcome for a message no longer pending changes nothing.
    await store.outbox.recordAttempt(retried?.id ?? 0, { outcome: "sent" });
    expect(await store.outbox.nextAttemptAt("hook")).toBeNull();
    expect((await store.outbox.counts()).get("hook")).toEqual({ sent: 1, dead: 1 });
    const dead = await store.outbox.list({ status: "dead" });
    expect(dead.map((n) => [n.sink, n.attempts, n.last_error, n.next_attempt_at])).toEqual([
      ["hook", 2, "HTTP 400", null],
    ]);
  });

  test("messages of sinks no longer configured go to dead-letter, counted per sink", async () => {
    const store = await ctx().open({ notify: plannerFor("kept", "gone", "also-gone") });
    await store.ingest([item(eventAt(0, { fault_id: "a" })), item(eventAt(1, { fault_id: "b" }))]);
    const buried = await store.outbox.buryUnknownSinks(new Set(["kept"]));
    expect(Object.fromEntries(buried)).toEqual({ gone: 2, "also-gone": 2 });
    expect((await store.outbox.counts()).get("kept")).toEqual({ pending: 2 });
    const [one] = await store.outbox.list({ sink: "gone", status: "dead", limit: 1 });
    expect(one?.last_error).toBe('sink "gone" is no longer configured');
    expect(await store.outbox.list({ limit: 3 })).toHaveLength(3);
    expect(await store.outbox.buryUnknownSinks(new Set(["kept"]))).toEqual(new Map());
  });

  test("a repeat plans nothing new; a planner answering nothing writes nothing", async () => {
    const store = await ctx().open({ notify: plannerFor("hook") });
    await store.ingest([item(eventAt(0)), item(eventAt(1))]);
    expect(await store.outbox.list()).toHaveLength(1);
    store.configure({ notify: () => [] });
    await store.ingest([item(eventAt(0, { fault_id: "quiet" }))]);
    expect(await store.outbox.list()).toHaveLength(1);
  });
});
