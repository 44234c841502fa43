import { expect, test } from "bun:test";
import { Channel } from "../../src/pipeline/channel.ts";

test("FIFO; a full channel refuses and queues nothing; the consumer drains after close", async () => {
  const channel = new Channel<number>(3);
  expect([channel.push(1), channel.push(2), channel.push(3), channel.push(4)]).toEqual([
    true,
    true,
    true,
    false,
  ]);
  expect(channel.size).toBe(3);
  channel.close();
  expect(channel.push(5)).toBe(false);
  const seen: number[] = [];
  for await (const n of channel) seen.push(n);
  expect(seen).toEqual([1, 2, 3]);
});

test("take waits for items and returns batches of at most max", async () => {
  const channel = new Channel<number>(100);
  const waiting = channel.take(2);
  setTimeout(() => {
    for (let i = 0; i < 5; i++) channel.push(i);
  }, 5);
  // The pushes all happen before the waiting consumer resumes.
  expect(await waiting).toEqual([0, 1]);
  expect(await channel.take(2)).toEqual([2, 3]);
  expect(await channel.take(10)).toEqual([4]);
  channel.close();
  expect(await channel.take(10)).toEqual([]);
});

test("stays correct over many pushes and takes (internal compaction)", async () => {
  const channel = new Channel<number>(10_000);
  let next = 0;
  let expected = 0;
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 500; i++) channel.push(next++);
    for (const n of await channel.take(400)) expect(n).toBe(expected++);
  }
  channel.close();
  for await (const n of channel) expect(n).toBe(expected++);
  expect(expected).toBe(next);
});

test("capacity must be at least 1", () => {
  expect(() => new Channel(0)).toThrow(/capacity must be at least 1/);
});

test("gatherMs: items trickling in within the wait share one take; a full batch or a close ends the wait early", async () => {
  const channel = new Channel<number>(100);
  const taking = channel.take(10, { gatherMs: 40 });
  channel.push(1);
  await Bun.sleep(5);
  channel.push(2);
  await Bun.sleep(5);
  channel.push(3);
  expect(await taking).toEqual([1, 2, 3]);

  const started = performance.now();
  const full = channel.take(3, { gatherMs: 5000 });
  for (const n of [4, 5, 6, 7]) channel.push(n);
  expect(await full).toEqual([4, 5, 6]);
  expect(performance.now() - started).toBeLessThan(1000);

  expect(await channel.take(10, { gatherMs: 5000 })).toEqual([7]); // waited for nothing: no gathering
  const closing = channel.take(10, { gatherMs: 5000 });
  channel.push(8);
  await Bun.sleep(5);
  channel.close();
  expect(await closing).toEqual([8]);
  expect(performance.now() - started).toBeLessThan(1000);
});
