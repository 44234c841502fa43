/**
 * The incident API (hono), read-only over the {@link IncidentStore}: `GET /incidents` (newest first,
 * filtered by cluster and status) and `GET /incidents/:id` (the incident with its events and runs).
 * Mount it on the health app with `app.route("/", incidentRoutes(store))`.
 */
import { Hono } from "hono";
import { parseIncidentFilter } from "../incidents/filter.ts";
import { type Incident, type IncidentFilter, StoreError } from "../incidents/model.ts";
import type { IncidentStore } from "../incidents/store-api.ts";

/** Body of `GET /incidents`. */
export interface IncidentListBody {
  incidents: Incident[];
}

/** Body of every 4xx/5xx answer of the incident API. */
export interface IncidentErrorBody {
  error: string;
}

/**
 * The incident routes: `GET /incidents?cluster=&status=&limit=` → {@link IncidentListBody} (newest
 * first; a bad or unknown parameter → 400 naming it) and `GET /incidents/:id` → the incident, its
 * most recent events and its runs (404 when unknown). A store failure → 503.
 */
export function incidentRoutes(store: IncidentStore): Hono {
  const app = new Hono();
  app.get("/incidents", async (c) => {
    const filter = parseListQuery(c.req.queries());
    if (typeof filter === "string") return c.json<IncidentErrorBody>({ error: filter }, 400);
    return c.json<IncidentListBody>({ incidents: await store.list(filter) });
  });
  app.get("/incidents/:id", async (c) => {
    const id = c.req.param("id");
    const detail = await store.get(id);
    if (detail === null) return c.json<IncidentErrorBody>({ error: `no incident ${id}` }, 404);
    return c.json(detail);
  });
  app.onError((error, c) =>
    c.json<IncidentErrorBody>({ error: error.message }, error instanceof StoreError ? 503 : 500),
  );
  return app;
}

/** The store filter for a `GET /incidents` query, or `param: problem` (every problem, `; `-joined). */
function parseListQuery(query: Record<string, string[]>): IncidentFilter | string {
  const values = singleValues(query);
  return typeof values === "string" ? values : parseIncidentFilter(values);
}

/**
 * Each query parameter's one value, or `param: given more than once` for every repeated one.
 *
 * @example
 * ```ts
 * singleValues(c.req.queries()); // { status: "dead" } for ?status=dead
 * ```
 */
export function singleValues(query: Record<string, string[]>): Record<string, string | undefined> | string {
  const repeated = Object.keys(query).filter((key) => (query[key] ?? []).length > 1);
  if (repeated.length > 0) return repeated.map((key) => `${key}: given more than once`).join("; ");
  return Object.fromEntries(Object.entries(query).map(([key, values]) => [key, values[0]]));
}
