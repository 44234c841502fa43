/**
 * Kubernetes-style probes: `/livez` (the process serves) and `/readyz` (ready to do its job: the store
 * is open and at least one enabled cluster is active, or none is enabled; never while shutting down).
 * With replicas, `/readyz` is this replica's own state: its heartbeat is current (not fenced), and the
 * clusters it owns are what "enabled" means (a replica owning none is ready).
 * Both answer without authentication and reveal nothing but the reason.
 */
import { Hono } from "hono";
import type { Registry } from "../cluster/registry.ts";

/** What readiness depends on besides the registry. */
export interface ProbeState {
  /** True once a graceful stop began. */
  stopping(): boolean;
  /** True while the store is open. */
  storeOpen(): boolean;
  /** With replicas (HA): why this replica is not ready (fenced: no current heartbeat), or null. */
  replica?(): string | null;
}

/** Body of `/readyz`. */
export interface ReadyBody {
  ready: boolean;
  /** Why not ready; absent when ready. */
  reason?: string;
}

/** Why faultline is not ready, or null when it is. */
export function notReadyReason(registry: Registry, state: ProbeState): string | null {
  if (state.stopping()) return "shutting down";
  if (!state.storeOpen()) return "the store is not open";
  const replica = state.replica?.() ?? null;
  if (replica !== null) return replica;
  const enabled = registry.list().filter((c) => c.status !== "disabled");
  if (enabled.length === 0 || enabled.some((c) => c.status === "active")) return null;
  return `no enabled cluster is active yet (0 of ${enabled.length})`;
}

/**
 * The probe routes.
 *
 * @example
 * ```ts
 * app.route("/", probeRoutes(registry, { stopping: () => false, storeOpen: () => true }));
 * // GET /readyz → 200 { ready: true } or 503 { ready: false, reason: "shutting down" }
 * ```
 */
export function probeRoutes(registry: Registry, state: ProbeState): Hono {
  const app = new Hono();
  app.get("/livez", (c) => c.json({ alive: true }));
  app.get("/readyz", (c) => {
    const reason = notReadyReason(registry, state);
    const body: ReadyBody = reason === null ? { ready: true } : { ready: false, reason };
    return c.json(body, reason === null ? 200 : 503);
  });
  return app;
}
