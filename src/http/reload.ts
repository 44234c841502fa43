/**
 * `POST /-/reload`: re-reads and applies the config, like SIGHUP. 200 with what changed; 400 when the
 * file is invalid (field paths only, the log has the messages); 503 while shutting down. Any other
 * method gets 405. Mount it behind an auth middleware when `health.auth_token` is set.
 */
import { Hono } from "hono";
import type { ReloadOutcome } from "../reload/reloader.ts";

/** The reload route's path. */
export const RELOAD_PATH = "/-/reload";

/**
 * The reload route; `guards` run before it (e.g. a bearer-token check).
 *
 * @example
 * ```ts
 * app.route("/", reloadRoutes(() => reloader.reload("http")));
 * ```
 */
export function reloadRoutes(reload: () => Promise<ReloadOutcome>): Hono {
  const app = new Hono();
  app.post(RELOAD_PATH, async (c) => {
    const outcome = await reload();
    if (outcome.ok) return c.json(outcome, 200);
    return c.json(outcome, outcome.error === "shutting down" ? 503 : 400);
  });
  app.all(RELOAD_PATH, (c) => c.json({ error: `use POST ${RELOAD_PATH}` }, 405, { allow: "POST" }));
  return app;
}
