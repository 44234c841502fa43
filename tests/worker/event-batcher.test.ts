import { expect, test } from "bun:test";
import type { FaultEvent } from "../../src/events/fault.ts";
import { FAN_IN_LINGER_MS } from "../../src/pipeline/sink.ts";
import { EventBatcher } from "../../src/worker/event-batcher.ts";
import { EVENT_BATCH_MS } from "../../src/worker/protocol.ts";

const event = (cluster: string): FaultEvent => ({ cluster }) as FaultEvent;

test("events within the wait cross as one batch, sent once the first has waited", async () => {
  const sent: Array<{ at: number; clusters: string[] }> = [];
  const batcher = new EventBatcher((events) => {
    sent.push({ at: performance.now(), clusters: events.map((e) => e.cluster) });
  }, 40);
  const startedMs = performance.now();
  batcher.add(event("a"));
  await Bun.sleep(10);
  batcher.add(event("b"));
  await Bun.sleep(10);
  batcher.add(event("c"));
  expect(sent).toEqual([]);
  expect(batcher.pending.map((e) => e.cluster)).toEqual(["a", "b", "c"]);
  await Bun.sleep(60);
  expect(sent.map((batch) => batch.clusters)).toEqual([["a", "b", "c"]]);
  // Counted from the first event, not the last: the wait is bounded.
  expect((sent[0]?.at ?? 0) - startedMs).toBeLessThan(40 + 20);
  expect(batcher.pending).toEqual([]);
});

test("a full batch goes at once; flush sends what waits; nothing waits, nothing is sent", async () => {
  const sent: string[][] = [];
  const batcher = new EventBatcher((events) => sent.push(events.map((e) => e.cluster)), 60_000, 2);
  batcher.add(event("a"));
  batcher.add(event("b"));
  expect(sent).toEqual([["a", "b"]]);
  batcher.add(event("c"));
  batcher.flush();
  batcher.flush();
  expect(sent).toEqual([["a", "b"], ["c"]]);
  // The timer went with the flush: nothing more is sent later.
  await Bun.sleep(20);
  expect(sent).toHaveLength(2);
});

test("a batch that fails to send stays pending (a dying worker counts it)", () => {
  const batcher = new EventBatcher(() => {
    throw new RangeError("cannot encode");
  }, 60_000);
  batcher.add(event("a"));
  expect(() => batcher.flush()).toThrow(/cannot encode/);
  expect(batcher.pending.map((e) => e.cluster)).toEqual(["a"]);
});

test("a worker's wait is never longer than the sink's (counted from received_at, the two do not add up)", () => {
  // Longer, a batch would reach the sink after its own wait ended: the difference adds to every event's latency.
  expect(EVENT_BATCH_MS).toBeGreaterThan(0);
  expect(EVENT_BATCH_MS).toBeLessThanOrEqual(FAN_IN_LINGER_MS);
});
