/**
 * Probes: `/livez` answers while the process serves; `/readyz` follows the store, the clusters and
 * shutdown; `/health` is degraded while a server reports its watch failing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Registry } from "../../src/cluster/registry.ts";
import type { ClusterConfig } from "../../src/config/types.ts";
import { createHealthApp, type HealthBody } from "../../src/http/app.ts";
import type { ReadyBody } from "../../src/http/probes.ts";
import type { ConnectionStatus } from "../../src/worker/protocol.ts";
import { type Fleet, startFleet } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";

function cluster(name: string, enabled = true): ClusterConfig {
  return {
    name,
    mcp_endpoint: `http://127.0.0.1:1/${name}`,
    kubeconfig: `/tmp/${name}.kubeconfig`,
    enabled,
    labels: {},
    severity_threshold: "info",
    triage: true,
  };
}

function setStatus(registry: Registry, name: string, status: ConnectionStatus): void {
  registry.applyStatus({
    type: "status",
    cluster: name,
    status,
    error: null,
    retry_in_ms: null,
    at: new Date().toISOString(),
  });
}

describe("probes, in process", () => {
  const state = { stopping: false, storeOpen: true };
  const registry = new Registry([cluster("a"), cluster("b"), cluster("off", false)]);
  const app = createHealthApp({
    registry,
    startedAt: new Date(),
    probes: { stopping: () => state.stopping, storeOpen: () => state.storeOpen },
  });
  const get = async (path: string) => {
    const response = await app.request(path);
    return {
      status: response.status,
      body: (await response.json()) as Partial<ReadyBody & HealthBody> & Record<string, unknown>,
    };
  };

  test("/livez answers 200 whatever the clusters do", async () => {
    expect(await get("/livez")).toEqual({ status: 200, body: { alive: true } });
  });

  test("/readyz: 503 until an enabled cluster is active, then 200; 503 with the reason when the store is closed or faultline stops", async () => {
    expect(await get("/readyz")).toEqual({
      status: 503,
      body: { ready: false, reason: "no enabled cluster is active yet (0 of 2)" },
    });
    setStatus(registry, "a", "active");
    expect(await get("/readyz")).toEqual({ status: 200, body: { ready: true } });
    state.storeOpen = false;
    expect((await get("/readyz")).body.reason).toBe("the store is not open");
    state.storeOpen = true;
    state.stopping = true;
    expect(await get("/readyz")).toEqual({
      status: 503,
      body: { ready: false, reason: "shutting down" },
    });
    state.stopping = false;
  });

  test("/readyz with replicas: 503 with the reason while fenced, whatever the clusters", async () => {
    let fenced: string | null = "no heartbeat within the lease (15 s): fenced, holding no cluster";
    const replica = createHealthApp({
      registry: new Registry([]),
      startedAt: new Date(),
      probes: { stopping: () => false, storeOpen: () => true, replica: () => fenced },
    });
    const response = await replica.request("/readyz");
    expect(response.status).toBe(503);
    expect(((await response.json()) as ReadyBody).reason).toBe(fenced ?? "");
    fenced = null;
    // Owning no cluster (the others hold them all) is ready.
    expect((await replica.request("/readyz")).status).toBe(200);
  });

  test("/readyz is 200 when no cluster is enabled", async () => {
    const none = createHealthApp({
      registry: new Registry([cluster("off", false)]),
      startedAt: new Date(),
      probes: { stopping: () => false, storeOpen: () => true },
    });
    expect((await none.request("/readyz")).status).toBe(200);
  });

  test("/health: degraded while an active cluster's server reports its watch failing, ok once it clears", async () => {
    setStatus(registry, "b", "active");
    expect((await get("/health")).body.status).toBe("ok");
    registry.recordSubscriptionError("b", "watch failed: forbidden");
    expect((await get("/health")).body.status).toBe("degraded");
    registry.recordSubscriptionError("b", null);
    expect((await get("/health")).body.status).toBe("ok");
  });
});

describe("probes on a real faultline", () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await startFleet({
      clusters: ["p1"],
      agentScript: "#!/bin/sh\nsleep 3\n",
    });
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  test("/readyz turns 200 once the cluster is active and 503 (shutting down) while agents finish at stop", async () => {
    const url = fleet.app.http?.url;
    await fleet.waitActive();
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect((await fetch(`${url}/livez`)).status).toBe(200);
    fleet.sim.inject("p1", { name: "slow-agent" });
    await waitFor("agent running", () => (fleet.app.dispatcher?.running ?? 0) > 0);
    const stopped = fleet.app.stop(5000);
    const during = await waitFor("readyz 503", async () => {
      const response = await fetch(`${url}/readyz`);
      return response.status === 503 ? ((await response.json()) as ReadyBody) : null;
    });
    expect(during).toEqual({ ready: false, reason: "shutting down" });
    expect((await fetch(`${url}/livez`)).status).toBe(200);
    await stopped;
  });
});
