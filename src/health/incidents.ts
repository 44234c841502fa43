/**
 * The incident API (hono), read-only over the {@link IncidentStore}: `GET /incidents` (newest first,
 * filtered by cluster and status) and `GET /incidents/:id` (the incident with its events and runs).
 * Mount it on the health app with `app.route("/", incidentRoutes(store))`.
 */
import { Hono } from "hono";
import * as v from "valibot";
import {
  INCIDENT_STATUSES,
  type Incident,
  type IncidentFilter,
  type IncidentStatus,
  type IncidentStore,
  MAX_LIST_LIMIT,
  StoreError,
} from "../incidents/store.ts";

/** Body of `GET /incidents`. */
export interface IncidentListBody {
  incidents: Incident[];
}

/** Body of every 4xx/5xx answer of the incident API. */
export interface IncidentErrorBody {
  error: string;
}

const LIMIT_MESSAGE = `must be an integer from 1 to ${MAX_LIST_LIMIT}`;

/** `GET /incidents` query: every parameter optional, no others allowed (values arrive as strings). */
const ListQuerySchema = v.strictObject(
  {
    cluster: v.optional(v.pipe(v.string(), v.minLength(1, "must not be empty"))),
    status: v.optional(v.picklist(INCIDENT_STATUSES, `must be one of ${INCIDENT_STATUSES.join(", ")}`)),
    limit: v.optional(
      v.pipe(
        v.string(),
        v.regex(/^[0-9]{1,7}$/, LIMIT_MESSAGE),
        v.transform(Number),
        v.minValue(1, LIMIT_MESSAGE),
        v.maxValue(MAX_LIST_LIMIT, LIMIT_MESSAGE),
      ),
    ),
  },
  "unknown query parameter",
);

/**
 * The incident routes: `GET /incidents?cluster=&status=&limit=` → {@link IncidentListBody} (newest
 * first; a bad or unknown parameter → 400 naming it) and `GET /incidents/:id` → the incident, its
 * most recent events and its runs (404 when unknown). A store failure → 503.
 */
export function incidentRoutes(store: IncidentStore): Hono {
  const app = new Hono();
  app.get("/incidents", (c) => {
    const filter = parseListQuery(c.req.queries());
    if (typeof filter === "string") return c.json<IncidentErrorBody>({ error: filter }, 400);
    return c.json<IncidentListBody>({ incidents: store.list(filter) });
  });
  app.get("/incidents/:id", (c) => {
    const id = c.req.param("id");
    const detail = store.get(id);
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
  const repeated = Object.keys(query).filter((key) => (query[key] ?? []).length > 1);
  if (repeated.length > 0) return repeated.map((key) => `${key}: given more than once`).join("; ");
  const single = Object.fromEntries(Object.entries(query).map(([key, values]) => [key, values[0]]));
  const result = v.safeParse(ListQuerySchema, single);
  if (!result.success) {
    return result.issues.map((issue) => `${v.getDotPath(issue) ?? "query"}: ${issue.message}`).join("; ");
  }
  return result.output;
}

/**
 * Incident counts per cluster and status, as a plain object (for `/health/clusters` to embed per
 * cluster): `{ "prod-eu": { queued: 2, succeeded: 5 } }`. Statuses with none are left out.
 */
export function incidentCountsByCluster(
  store: IncidentStore,
): Record<string, Partial<Record<IncidentStatus, number>>> {
  return Object.fromEntries(store.countsByCluster());
}
