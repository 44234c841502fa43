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
