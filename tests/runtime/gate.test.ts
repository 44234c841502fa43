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
