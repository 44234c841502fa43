import { expect, test } from "bun:test";
import { DeadlineExceeded, deadline, fulfilsWithin } from "../../src/runtime/deadline.ts";

test("deadline passes on what settles in time, fulfilled or rejected", async () => {
  expect(
    await deadline(
      Bun.sleep(5).then(() => "done"),
      1000,
      "late",
    ),
  ).toBe("done");
  await expect(deadline(Promise.reject(new Error("own failure")), 1000, "late")).rejects.toThrow(
    "own failure",
  );
});

test("deadline rejects with DeadlineExceeded and the message when time runs out", async () => {
  const started = performance.now();
  const error = await deadline(new Promise(() => {}), 30, "session close timed out").catch((e: unknown) => e);
  expect(error).toBeInstanceOf(DeadlineExceeded);
  expect((error as DeadlineExceeded).message).toBe("session close timed out");
  expect((error as DeadlineExceeded).ms).toBe(30);
  expect(performance.now() - started).toBeLessThan(1000);
});

test("fulfilsWithin: true in time, false when late or rejected", async () => {
  expect(await fulfilsWithin(Bun.sleep(5), 1000)).toBe(true);
  expect(await fulfilsWithin(new Promise(() => {}), 20)).toBe(false);
  expect(await fulfilsWithin(Promise.reject(new Error("refused")), 1000)).toBe(false);
});
