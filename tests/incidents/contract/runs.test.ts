/**
 * Store contract, agent runs: a run's end records its outcome, its output and the notifications it
 * causes in one transaction; a run already closed is left alone; recovery closes open runs as
 * interrupted (except those kept), requeues within max_attempts, and on a shared store settles the
 * runs of the replica it is told. Runs on SQLite and PostgreSQL.
 */
import { expect, test } from "bun:test";
import type { RunOutput } from "../../../src/agent/output.ts";
import { IncidentStateError } from "../../../src/incidents/model.ts";
import { contractSuite } from "./backends.ts";
import { claim, eventAt, item, outcome, plannerFor } from "./fixtures.ts";

const OUTPUT: RunOutput = {
  report: "# Pod shop/api crash-loops\nThe image tag is wrong.",
  report_status: "ok",
  report_bytes: 48,
  report_truncated: false,
  report_error: null,
  summary: { summary: "bad image tag", confidence: "high", actions: ["roll back"] },
  summary_status: "ok",
  summary_error: null,
};

contractSuite("store contract: runs", (ctx, backend) => {
  test("finishRun records the outcome and output, and plans the notifications, in one step", async () => {
    const store = await ctx().open({ notify: plannerFor("slack", "pager") });
    const [opened] = await store.ingest([item(eventAt(0))]);
    const { incident, run } = await claim(store);
    expect(incident.id).toBe(opened?.incident.id ?? "");
    const done = await store.finishRun(run.id, { ...outcome({ exit_code: 0 }), output: OUTPUT });
    expect(done.status).toBe("succeeded");
    expect(done.workspace).toBe(`/state/incidents/${incident.id}`);
    const detail = await store.get(incident.id);
    expect(detail?.runs).toHaveLength(1);
    expect(detail?.runs[0]?.status).toBe("succeeded");
    expect(detail?.runs[0]?.exit_code).toBe(0);
    expect(detail?.runs[0]?.duration_ms).toBe(1234);
    expect(detail?.runs[0]?.output).toEqual(OUTPUT);
    expect(detail?.notifications.map((n) => [n.sink, n.trigger, n.status])).toEqual([
      ["slack", "opened", "pending"],
      ["pager", "opened", "pending"],
      ["slack", "triaged", "pending"],
      ["pager", "triaged", "pending"],
    ]);
    expect((await store.outbox.counts()).get("slack")).toEqual({ pending: 2 });
  });

  test("a change and its messages commit together: when planning fails, neither is written", async () => {
    const store = await ctx().open({ notify: plannerFor("hook") });
    await store.ingest([item(eventAt(0))]);
    const { incident, run } = await claim(store);
    store.configure({
      notify: () => {
        throw new Error("planner broke");
      },
    });
    await expect(
      Promise.resolve().then(() => store.finishRun(run.id, { ...outcome(), output: OUTPUT })),
    ).rejects.toThrow("planner broke");
    await expect(
      Promise.resolve().then(() => store.ingest([item(eventAt(1, { fault_id: "new" }))])),
    ).rejects.toThrow("planner broke");
    const detail = await store.get(incident.id);
    expect(detail?.incident.status).toBe("running");
    expect(detail?.runs.map((r) => [r.status, r.output])).toEqual([["running", null]]);
    expect(detail?.notifications.map((n) => n.trigger)).toEqual(["opened"]);
    expect(await store.list()).toHaveLength(1);
  });

  test("failed and timed-out runs notify `failed`; a closed run is left as it is; an unknown run is an error", async () => {
    const store = await ctx().open({ notify: plannerFor("hook"), maxQueue: 10 });
    await store.ingest([item(eventAt(0, { fault_id: "a" })), item(eventAt(1, { fault_id: "b" }))]);
    const first = await claim(store);
    const second = await claim(store);
    expect((await store.finishRun(first.run.id, outcome({ exit_code: 3 }))).status).toBe("failed");
    expect((await store.finishRun(second.run.id, outcome({ timed_out: true, exit_code: null }))).status).toBe(
      "timed_out",
    );
    const again = await store.finishRun(first.run.id, outcome({ exit_code: 0 }));
    expect(again.status).toBe("failed");
    const triggers = (await store.outbox.list({ sink: "hook" })).map((n) => n.trigger).sort();
    expect(triggers).toEqual(["failed", "failed", "opened", "opened"]);
    await expect(Promise.resolve().then(() => store.finishRun(999_999, outcome()))).rejects.toBeInstanceOf(
      IncidentStateError,
    );
  });

  test("recordPid and openRuns: the runs this process's replica left open", async () => {
    const store = await ctx().open();
    await store.ingest([item(eventAt(0, { fault_id: "a" })), item(eventAt(1, { fault_id: "b" }))]);
    const first = await claim(store);
    const second = await claim(store);
    await store.recordPid(first.run.id, 4242);
    await store.finishRun(second.run.id, outcome());
    const open = await store.openRuns();
    expect(open.map((r) => [r.run_id, r.incident_id, r.pid, r.workspace])).toEqual([
      [first.run.id, first.incident.id, 4242, `/state/incidents/${first.incident.id}`],
    ]);
  });

  test("recoverInterrupted: kept runs stay, the rest are interrupted and requeued within max_attempts", async () => {
    const store = await ctx().open();
    await store.ingest([0, 1, 2].map((i) => item(eventAt(i, { fault_id: `f${i}` }))));
    const kept = await claim(store);
    const lost = await claim(store);
    const result = await store.recoverInterrupted({ retry: true, maxAttempts: 2, keepRunIds: [kept.run.id] });
    expect(result).toEqual({ interrupted: 1, requeued: 1 });
    expect((await store.get(kept.incident.id))?.incident.status).toBe("running");
    const lostNow = await store.get(lost.incident.id);
    expect(lostNow?.incident.status).toBe("queued");
    expect(lostNow?.runs.map((r) => r.status)).toEqual(["interrupted"]);
    expect(lostNow?.runs[0]?.error).toContain("stopped");
    expect(await store.queueDepth()).toBe(2);
    // Its second attempt is lost too: with max_attempts 2 it stays interrupted.
    let retried = await claim(store);
    while (retried.incident.id !== lost.incident.id) retried = await claim(store);
    expect(retried.run.attempt).toBe(2);
    const last = await store.recoverInterrupted({ retry: true, maxAttempts: 2, keepRunIds: [kept.run.id] });
    expect(last.requeued).toBe(0);
    expect((await store.get(lost.incident.id))?.incident.status).toBe("interrupted");
    // Without retry nothing is requeued.
    const none = await store.recoverInterrupted({ retry: false, maxAttempts: 5 });
    expect(none.requeued).toBe(0);
    expect((await store.get(kept.incident.id))?.incident.status).toBe("interrupted");
  });

  // One process per SQLite file: `replica` is ignored there.
  test.skipIf(backend.name !== "postgres")(
    "a shared store settles the runs of the replica it is told, and only those",
    async () => {
      const dead = await ctx().open({ replica: "replica-dead" });
      const live = await ctx().open({ replica: "replica-live" });
      await live.ingest([item(eventAt(0, { fault_id: "a" })), item(eventAt(1, { fault_id: "b" }))]);
      const deadRun = await claim(dead);
      const liveRun = await claim(live);
      expect((await live.openRuns()).map((r) => r.run_id)).toEqual([liveRun.run.id]);
      expect((await dead.openRuns()).map((r) => r.run_id)).toEqual([deadRun.run.id]);
      const result = await live.recoverInterrupted({ retry: true, maxAttempts: 3, replica: "replica-dead" });
      expect(result).toEqual({ interrupted: 1, requeued: 1 });
      expect((await live.get(liveRun.incident.id))?.incident.status).toBe("running");
      expect((await live.get(deadRun.incident.id))?.incident.status).toBe("queued");
      // The dead replica's late outcome is not recorded over the recovery.
      const late = await dead.finishRun(deadRun.run.id, outcome());
      expect(late.status).toBe("queued");
      const again = await claim(live);
      expect(again.incident.id).toBe(deadRun.incident.id);
      expect(again.run.attempt).toBe(2);
    },
  );
});
