/** `GET /notifications` over a real store's outbox. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { notificationRoutes } from "../../src/http/notifications.ts";
import type { Notification } from "../../src/incidents/outbox.ts";
import { SqliteStore } from "../../src/incidents/store.ts";
import { ingestOne, makeFault } from "../helpers/fault.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
let store: SqliteStore;
beforeAll(() => {
  store = SqliteStore.open(join(dir.path, "state"), {
    notify: ({ incident }) =>
      ["slack", "hook"].map((sink) => ({ sink, idempotency_key: `${incident.id}:opened`, message: "{}" })),
  });
  ingestOne(store, makeFault());
  const hook = store.outbox.list({ sink: "hook" })[0];
  store.outbox.recordAttempt(hook?.id ?? 0, { outcome: "dead", error: "HTTP 404" });
});
afterAll(() => {
  store.close();
  dir.cleanup();
});

const get = async (query: string) => {
  const response = await notificationRoutes(store.outbox).request(`/notifications${query}`);
  return {
    status: response.status,
    body: (await response.json()) as { notifications?: Notification[]; error?: string },
  };
};

test("lists messages newest first, filtered by status and sink; dead-letter is ?status=dead", async () => {
  expect((await get("")).body.notifications?.map((n) => [n.sink, n.status])).toEqual([
    ["hook", "dead"],
    ["slack", "pending"],
  ]);
  const dead = await get("?status=dead");
  expect(dead.body.notifications).toMatchObject([
    { sink: "hook", status: "dead", attempts: 1, last_error: "HTTP 404" },
  ]);
  expect((await get("?sink=slack&status=dead")).body.notifications).toEqual([]);
  expect((await get("?limit=1")).body.notifications).toHaveLength(1);
});

test("a bad parameter → 400 naming it", async () => {
  expect(await get("?status=lost")).toEqual({
    status: 400,
    body: { error: "status: must be one of pending, sent, dead" },
  });
  expect((await get("?limit=0")).body.error).toStartWith("limit: must be an integer");
  expect((await get("?status=dead&status=sent")).body.error).toBe("status: given more than once");
  expect((await get("?url=x")).body.error).toBe("url: unknown query parameter");
});
