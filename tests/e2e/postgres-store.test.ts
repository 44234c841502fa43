/**
 * A real faultline (workers, health server, agent processes) on the PostgreSQL store: `store.postgres`
 * in the config, a simulated cluster, a fault injected; its incident is stored in the database, claimed,
 * triaged by an agent and finished, and the API and health answer from the database. Skipped, saying
 * why, where the PostgreSQL binaries are missing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { ClustersBody } from "../../src/http/app.ts";
import type { Incident, IncidentDetail } from "../../src/incidents/model.ts";
import { PostgresStore } from "../../src/incidents/pg/store.ts";
import { type Fleet, startFleet } from "../helpers/fleet.ts";
import { type PostgresServer, postgresAvailable, startPostgres } from "../helpers/postgres.ts";
import { waitFor } from "../helpers/wait.ts";

describe.skipIf(!postgresAvailable("e2e postgres store"))("faultline on the PostgreSQL store", () => {
  let pg: PostgresServer;
  let fleet: Fleet;
  let url: string;

  beforeAll(async () => {
    pg = await startPostgres();
    fleet = await startFleet({
      clusters: ["pg-a"],
      extra: `store:\n  postgres:\n    url: "${pg.url}"\n    max_connections: 4\nha: { replica: e2e-replica }\n`,
      agentScript: "#!/bin/sh\necho triaged > report.md\n",
    });
    await fleet.waitActive();
    url = fleet.app.http?.url ?? "";
  }, 120_000);

  afterAll(async () => {
    await fleet?.stop();
    await pg?.stop();
  });

  const get = async <T>(path: string): Promise<T> => (await (await fetch(`${url}${path}`)).json()) as T;

  test("a fault is stored in PostgreSQL, triaged once, and shown by the API and health", async () => {
    expect(fleet.app.store.backend).toBe("postgres");
    expect(fleet.app.store.location).not.toContain(pg.password);
    fleet.sim.inject("pg-a", { name: "crash", faultId: "pg-fault" });
    fleet.sim.inject("pg-a", { name: "crash", faultId: "pg-fault" });
    const incident = await waitFor("its run succeeded", async () => {
      const { incidents } = await get<{ incidents: Incident[] }>("/incidents?cluster=pg-a");
      const [only] = incidents;
      return incidents.length === 1 && only?.status === "succeeded" && only.count === 2 ? only : null;
    });
    const detail = await get<IncidentDetail>(`/incidents/${incident.id}`);
    expect(detail.events).toHaveLength(2);
    expect(detail.runs.map((r) => [r.status, r.exit_code])).toEqual([["succeeded", 0]]);
    expect(detail.runs[0]?.output?.report).toContain("triaged");
    const health = await get<ClustersBody>("/health/clusters");
    expect(health.clusters.find((c) => c.name === "pg-a")?.incidents).toEqual({ succeeded: 1 });
    // Another replica on the same database sees the same incident.
    const other = await PostgresStore.open({ url: pg.url, replica: "another" });
    try {
      expect((await other.get(incident.id))?.incident.status).toBe("succeeded");
      expect(await other.openRuns()).toEqual([]);
    } finally {
      await other.close();
    }
  });
});
