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

test("linger: waits until the first item's deadline for more, then takes them together", async () => {
  const channel = new Channel<number>(100);
  const startedMs = Date.now();
  // Each item is its own send time: the take waits until 40 ms after the first one's.
  const waiting = channel.take(10, { linger: { until: (first) => first + 40, maxMs: 1000 } });
  channel.push(Date.now());
  setTimeout(() => channel.push(Date.now()), 10);
  setTimeout(() => channel.push(Date.now()), 20);
  const batch = await waiting;
  expect(batch).toHaveLength(3);
  expect(Date.now() - startedMs).toBeGreaterThanOrEqual(35);
  channel.close();
});

test("linger: an item already past its deadline waits for nothing; maxMs caps the wait", async () => {
  const channel = new Channel<number>(100);
  channel.push(Date.now() - 1000);
  // Waiting for nothing means no timer: the take settles before a 0 ms timer can fire, however loaded the
  // machine is (a wall-clock bound here failed under CI load).
  const taken = channel.take(10, { linger: { until: (first) => first + 40, maxMs: 1000 } });
  const first = await Promise.race([
    taken,
    new Promise<"timer">((resolve) => setTimeout(() => resolve("timer"), 0)),
  ]);
  expect(first).toEqual([expect.any(Number)]);
  channel.push(Date.now());
  const startedMs = Date.now();
  expect(await channel.take(10, { linger: { until: (first) => first + 60_000, maxMs: 30 } })).toHaveLength(1);
  const waitedMs = Date.now() - startedMs;
  expect(waitedMs).toBeGreaterThanOrEqual(25);
  expect(waitedMs).toBeLessThan(1000);
  channel.close();
});

test("linger ends as soon as max items are queued, or the channel closes", async () => {
  const channel = new Channel<number>(100);
  const linger = { until: () => Date.now() + 60_000, maxMs: 60_000 };
  const full = channel.take(3, { linger });
  for (const n of [1, 2, 3, 4]) channel.push(n);
  expect(await full).toEqual([1, 2, 3]);
  const closing = channel.take(3, { linger });
  setTimeout(() => channel.close(), 10);
  expect(await closing).toEqual([4]);
  expect(await channel.take(3, { linger })).toEqual([]);
});
