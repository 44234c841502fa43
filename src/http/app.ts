/**
 * The operator-facing HTTP API (hono): `/health`, `/health/clusters`, the probes, incidents, notifications,
 * metrics and `POST /-/reload`; no kubeconfig path, contents or other secret ever appears in a response.
 * With a token configured, every route but the probes requires it (auth.ts).
 */
import { Hono, type MiddlewareHandler } from "hono";
import type { ClusterState, Registry, RegistrySummary } from "../cluster/registry.ts";
import type { IncidentStatus } from "../incidents/model.ts";
import type { IncidentStore } from "../incidents/store.ts";
import type { ReloadOutcome } from "../reload/reloader.ts";
import { VERSION } from "../version.ts";
import { requireBearerToken } from "./auth.ts";
import { incidentRoutes } from "./incidents.ts";
import type { FaultlineMetrics } from "./metrics.ts";
import { notificationRoutes } from "./notifications.ts";
import { type ProbeState, probeRoutes } from "./probes.ts";
import { reloadRoutes } from "./reload.ts";

/**
 * `ok`: every enabled cluster active and receiving; `down`: none active; `degraded`: in between, or an
 * active cluster's server reports its watch (or listing) failing, so it receives nothing.
 */
export type OverallStatus = "ok" | "degraded" | "down";

/** Body of `GET /health`. */
export interface HealthBody {
  status: OverallStatus;
  version: string;
  uptime_seconds: number;
  summary: RegistrySummary;
}

/** Body of `GET /health/clusters`. */
export interface ClustersBody {
  clusters: ClusterHealth[];
  summary: RegistrySummary;
}

/** What the HTTP API reads. */
export interface HealthDeps {
  registry: Registry;
  startedAt: Date;
  /** Serves `GET /metrics` when given. */
  metrics?: FaultlineMetrics;
  /** Serves `/incidents` and `/notifications`, and adds per-cluster incident counts to `/health/clusters`, when given. */
  store?: IncidentStore;
  /** Serves `/livez` and `/readyz` when given. */
  probes?: ProbeState;
  /** When set, every route but `/livez` and `/readyz` requires `Authorization: Bearer <authToken>`. */
  authToken?: string | null;
  /** Serves `POST /-/reload` when given (see reload.ts; wrap it with `reloadGuards`). */
  reload?: () => Promise<ReloadOutcome>;
  /** Run before the reload route, e.g. a bearer-token check when `health.auth_token` is set. */
  reloadGuards?: MiddlewareHandler[];
}

/** A cluster in `/health/clusters`: its live state plus its incidents by status. */
export interface ClusterHealth extends ClusterState {
  incidents: Partial<Record<IncidentStatus, number>>;
}

/** Overall status from the per-cluster states (disabled clusters do not count). */
export function overallStatus(clusters: readonly ClusterState[]): OverallStatus {
  const enabled = clusters.filter((c) => c.status !== "disabled");
  const active = enabled.filter((c) => c.status === "active").length;
  if (enabled.length > 0 && active === 0) return "down";
  if (active === enabled.length && !enabled.some((c) => c.subscription_error !== null)) return "ok";
  return "degraded";
}

/** Builds the health routes. Mount further routes on the returned app. */
export function createHealthApp(deps: HealthDeps): Hono {
  const app = new Hono();
  if (deps.authToken) app.use("*", requireBearerToken(deps.authToken));
  app.get("/health", (c) => {
    const clusters = deps.registry.list();
    const body: HealthBody = {
      status: overallStatus(clusters),
      version: VERSION,
      uptime_seconds: Math.round((Date.now() - deps.startedAt.getTime()) / 1000),
      summary: deps.registry.summary(),
    };
    return c.json(body);
  });
  app.get("/health/clusters", (c) => {
    const counts = deps.store?.countsByCluster();
    const clusters = deps.registry.list().map((c) => ({ ...c, incidents: counts?.get(c.name) ?? {} }));
    const body: ClustersBody = { clusters, summary: deps.registry.summary() };
    return c.json(body);
  });
  if (deps.probes) app.route("/", probeRoutes(deps.registry, deps.probes));
  if (deps.store) {
    app.route("/", incidentRoutes(deps.store));
    app.route("/", notificationRoutes(deps.store.outbox));
  }
  if (deps.reload) app.route("/", reloadRoutes(deps.reload, ...(deps.reloadGuards ?? [])));
  const metrics = deps.metrics;
  if (metrics) {
    app.get("/metrics", async (c) =>
      c.body(await metrics.text(), 200, { "content-type": metrics.contentType }),
    );
  }
  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${c.req.path}` }, 404));
  app.onError((error, c) => c.json({ error: error.message }, 500));
  return app;
}
