import { expect, test } from "bun:test";
import { Gate } from "../../src/runtime/gate.ts";

test("at most `limit` holders at once, waiters served in arrival order", async () => {
  const gate = new Gate(2);
  const order: number[] = [];
  let holding = 0;
  let most = 0;
  await Promise.all(
    [0, 1, 2, 3, 4].map(async (n) => {
      const release = await gate.acquire();
      order.push(n);
      holding++;
      most = Math.max(most, holding);
      await Bun.sleep(5);
      holding--;
      release();
      release(); // a second release is ignored
    }),
  );
  expect(most).toBe(2);
  expect(order).toEqual([0, 1, 2, 3, 4]);
  expect(gate.waiting).toBe(0);
});

test("a limit below 1 still lets one holder through; a fractional one is rounded down", async () => {
  const none = new Gate(0);
  const release = await none.acquire();
  let second = false;
  const waiting = none.acquire().then((r) => {
    second = true;
    return r;
  });
  await Bun.sleep(5);
  expect(second).toBe(false);
  expect(none.waiting).toBe(1);
  release();
  (await waiting)();
  expect(second).toBe(true);

  const fractional = new Gate(2.9);
  const held = [await fractional.acquire(), await fractional.acquire()];
  const third = fractional.acquire();
  await Bun.sleep(5);
  expect(fractional.waiting).toBe(1);
  for (const r of held) r();
  (await third)();
});
