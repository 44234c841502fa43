/**
 * The notification API (hono), read-only over the outbox: `GET /notifications?status=&sink=&limit=`,
 * newest first, e.g. `?status=dead` for the dead-letter. Sinks appear by name only, never their URL.
 * Mount it with `app.route("/", notificationRoutes(store.outbox))`.
 */
import { Hono } from "hono";
import { parseNotificationFilter } from "../incidents/filter.ts";
import { StoreError } from "../incidents/model.ts";
import type { Notification } from "../incidents/outbox.ts";
import type { OutboxStore } from "../incidents/store-api.ts";
import { type IncidentErrorBody, singleValues } from "./incidents.ts";

/** Body of `GET /notifications`. */
export interface NotificationListBody {
  notifications: Notification[];
}

/** `GET /notifications` → {@link NotificationListBody}; a bad parameter → 400 naming it; a store failure → 503. */
export function notificationRoutes(outbox: OutboxStore): Hono {
  const app = new Hono();
  app.get("/notifications", async (c) => {
    const values = singleValues(c.req.queries());
    const filter = typeof values === "string" ? values : parseNotificationFilter(values);
    if (typeof filter === "string") return c.json<IncidentErrorBody>({ error: filter }, 400);
    return c.json<NotificationListBody>({ notifications: await outbox.list(filter) });
  });
  app.onError((error, c) =>
    c.json<IncidentErrorBody>({ error: error.message }, error instanceof StoreError ? 503 : 500),
  );
  return app;
}
