/**
 * The operator-facing HTTP API (hono): `/health`, `/health/clusters`, the probes, incidents, notifications,
 * metrics, `POST /-/reload` and the status page (`/`, `/ui/...`, see src/ui); no kubeconfig path, contents or other secret ever appears in a response.
 * With a token configured, every route but the probes requires it (auth.ts).
 */
import { Hono } from "hono";
import { type ClusterState, type Registry, type RegistrySummary, summarize } from "../cluster/registry.ts";
import type { IncidentStatus } from "../incidents/model.ts";
import type { IncidentStore } from "../incidents/store-api.ts";
import type { ReloadOutcome } from "../reload/reloader.ts";
import { statusPageRoutes } from "../ui/routes.tsx";
import { VERSION } from "../version.ts";
import { requireToken } from "./auth.ts";
import type { FailedAuthThrottle } from "./failed-auth-throttle.ts";
import { incidentRoutes } from "./incidents.ts";
import type { FaultlineMetrics } from "./metrics.ts";
import { notificationRoutes } from "./notifications.ts";
import { type OverallStatus, overallStatus } from "./overall.ts";
import { type ProbeState, probeRoutes } from "./probes.ts";
import { reloadRoutes } from "./reload.ts";

export { type OverallStatus, overallStatus } from "./overall.ts";

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
  /** With replicas (HA): the replica that answered. */
  replica?: string;
}

/** With replicas (HA): the whole fleet's clusters, each with its owner (see src/ha/fleet-status.ts). */
export interface FleetView {
  /** This replica's name. */
  replica: string;
  /** Every configured cluster's state, in config order, with its owner (null: none live). */
  clusters(): Promise<Array<ClusterState & { owner: string | null }>>;
}

/** What the HTTP API reads. */
export interface HealthDeps {
  registry: Registry;
  startedAt: Date;
  /** Serves `GET /metrics` when given. */
  metrics?: FaultlineMetrics;
  /** Serves `/incidents`, `/notifications` and the status page, and adds per-cluster incident counts to `/health/clusters`, when given. */
  store?: IncidentStore;
  /** Serves `/livez` and `/readyz` when given. */
  probes?: ProbeState;
  /** When set, every route but `/livez` and `/readyz` requires `Authorization: Bearer <authToken>`. */
  authToken?: string | null;
  /** Failed-attempt budgets per client address (default: one of {@link FailedAuthThrottle}'s defaults). */
  authThrottle?: FailedAuthThrottle;
  /** With replicas: `/health/clusters` answers for the whole fleet, with each cluster's owner. */
  fleet?: FleetView;
  /** Serves `POST /-/reload` when given (see reload.ts; behind the token like every route but the probes). */
  reload?: () => Promise<ReloadOutcome>;
}

/** A cluster in `/health/clusters`: its live state plus its incidents by status. */
export interface ClusterHealth extends ClusterState {
  incidents: Partial<Record<IncidentStatus, number>>;
  /** With replicas (HA): the replica that holds the cluster (null: none live holds it now). */
  owner?: string | null;
}

/** Builds the health routes. Mount further routes on the returned app. */
export function createHealthApp(deps: HealthDeps): Hono {
  const app = new Hono();
  if (deps.authToken) app.use("*", requireToken(deps.authToken, deps.authThrottle));
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
  app.get("/health/clusters", async (c) => {
    const counts = await deps.store?.countsByCluster();
    const fleet = deps.fleet;
    const states = fleet ? await fleet.clusters() : deps.registry.list();
    const clusters = states.map((c) => ({ ...c, incidents: counts?.get(c.name) ?? {} }));
    const body: ClustersBody = fleet
      ? { replica: fleet.replica, clusters, summary: summarize(states) }
      : { clusters, summary: deps.registry.summary() };
    return c.json(body);
  });
  if (deps.probes) app.route("/", probeRoutes(deps.registry, deps.probes));
  if (deps.store) {
    app.route("/", incidentRoutes(deps.store));
    app.route("/", notificationRoutes(deps.store.outbox));
    app.route("/", statusPageRoutes({ ...deps, store: deps.store }));
  }
  if (deps.reload) app.route("/", reloadRoutes(deps.reload));
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
