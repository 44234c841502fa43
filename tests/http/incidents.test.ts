import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { AgentOutcome } from "../../src/agent/runner.ts";
import type { FaultEvent, Severity } from "../../src/events/fault.ts";
import { incidentRoutes } from "../../src/http/incidents.ts";
import type { RouteDecision } from "../../src/incidents/model.ts";
import { type AgentRun, type Incident, MAX_LIST_LIMIT, type StoredEvent } from "../../src/incidents/model.ts";
import { SqliteStore } from "../../src/incidents/store.ts";
import { setLogSink } from "../../src/log.ts";
import { ingestOne, makeFault, makeOutcome } from "../helpers/fault.ts";
import { tempDir } from "../helpers/tmp.ts";

const T0 = Date.parse("2026-11-25T03:00:00.000Z");
const TRIAGE: RouteDecision = { action: "triage" };

let dir: { path: string; cleanup: () => void };
let store: SqliteStore;
let restoreSink: (line: string) => void;
/** The fixture's incidents, oldest first. */
let crash: Incident;
let oom: Incident;
let node: Incident;
let runId: number;

/** An event of `cluster`'s fault `faultId`, received `offsetSeconds` after T0. */
function faultEvent(cluster: string, faultId: string, offsetSeconds: number, severity: Severity): FaultEvent {
  return makeFault({
    cluster,
    fault_id: faultId,
    severity,
    resource: { name: `${faultId}-pod` },
    at: new Date(T0 + offsetSeconds * 1000),
  });
}

const ingest = (event: FaultEvent, decision: RouteDecision = TRIAGE): Incident =>
  ingestOne(store, event, decision);

function succeeded(workspace: string): AgentOutcome {
  return makeOutcome({
    workspace,
    duration_ms: 1500,
    started_at: new Date(T0 + 2000).toISOString(),
    finished_at: new Date(T0 + 3500).toISOString(),
  });
}

beforeAll(() => {
  restoreSink = setLogSink(() => {});
  dir = tempDir("faultline-incidents-api-");
  let nowMs = T0;
  store = SqliteStore.open(join(dir.path, "state"), { now: () => new Date(nowMs) });
  crash = ingest(faultEvent("prod-eu", "crash", 0, "critical"));
  const workspace = join(dir.path, "state", "incidents", crash.id);
  runId = store.markRunning(crash.id, workspace).id;
  nowMs = T0 + 4000;
  store.finishRun(runId, succeeded(workspace));
  oom = ingest(faultEvent("prod-eu", "oom", 10, "warning"));
  ingest(faultEvent("prod-eu", "crash", 20, "critical"));
  node = ingest(faultEvent("prod-us", "node", 30, "info"), { action: "skip", reason: "below_threshold" });
});

afterAll(() => {
  store.close();
  dir.cleanup();
  setLogSink(restoreSink);
});

async function getJson(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await incidentRoutes(store).request(path);
  expect(response.headers.get("content-type")).toContain("application/json");
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function listIds(path: string): Promise<string[]> {
  const { status, body } = await getJson(path);
  expect(status).toBe(200);
  return (body.incidents as Incident[]).map((incident) => incident.id);
}

async function expectBadRequest(path: string, error: string): Promise<void> {
  const { status, body } = await getJson(path);
  expect(status).toBe(400);
  expect(body).toEqual({ error });
}

describe("GET /incidents", () => {
  test("lists every incident newest first, with their current state", async () => {
    const { status, body } = await getJson("/incidents");
    expect(status).toBe(200);
    const incidents = body.incidents as Incident[];
    expect(incidents.map((i) => i.id)).toEqual([node.id, oom.id, crash.id]);
    const [skipped, queued, done] = incidents;
    expect(skipped).toMatchObject({ cluster: "prod-us", status: "skipped", skip_reason: "below_threshold" });
    expect(queued).toMatchObject({ cluster: "prod-eu", status: "queued", count: 1 });
    expect(done).toMatchObject({ cluster: "prod-eu", status: "succeeded", count: 2, attempts: 1 });
  });

  test("filters by cluster, by status, and by both", async () => {
    expect(await listIds("/incidents?cluster=prod-eu")).toEqual([oom.id, crash.id]);
    expect(await listIds("/incidents?cluster=prod-us")).toEqual([node.id]);
    expect(await listIds("/incidents?status=queued")).toEqual([oom.id]);
    expect(await listIds("/incidents?cluster=prod-eu&status=succeeded")).toEqual([crash.id]);
    expect(await listIds("/incidents?cluster=prod-us&status=succeeded")).toEqual([]);
    expect(await listIds("/incidents?cluster=nowhere")).toEqual([]);
  });

  test("limit keeps the newest", async () => {
    expect(await listIds("/incidents?limit=1")).toEqual([node.id]);
    expect(await listIds("/incidents?limit=2&cluster=prod-eu")).toEqual([oom.id, crash.id]);
    expect(await listIds(`/incidents?limit=${MAX_LIST_LIMIT}`)).toHaveLength(3);
  });

  test("a bad status → 400 naming the parameter and the choices", async () => {
    await expectBadRequest(
      "/incidents?status=done",
      "status: must be one of queued, running, succeeded, failed, timed_out, skipped, interrupted",
    );
    await expectBadRequest(
      "/incidents?status=",
      "status: must be one of queued, running, succeeded, failed, timed_out, skipped, interrupted",
    );
  });

  test("a limit that is not an integer from 1 to the maximum → 400", async () => {
    const error = `limit: must be an integer from 1 to ${MAX_LIST_LIMIT}`;
    for (const limit of ["0", `${MAX_LIST_LIMIT + 1}`, "1.5", "-1", "ten", "", "1e3", "99999999999"]) {
      await expectBadRequest(`/incidents?limit=${encodeURIComponent(limit)}`, error);
    }
  });

  test("an empty cluster, an unknown key or a repeated key → 400 naming it", async () => {
    await expectBadRequest("/incidents?cluster=", "cluster: must not be empty");
    await expectBadRequest("/incidents?clusters=prod-eu", "clusters: unknown query parameter");
    await expectBadRequest("/incidents?status=queued&status=failed", "status: given more than once");
  });

  test("several problems are all reported", async () => {
    await expectBadRequest(
      "/incidents?status=nope&limit=0&page=2",
      "status: must be one of queued, running, succeeded, failed, timed_out, skipped, interrupted; " +
        `limit: must be an integer from 1 to ${MAX_LIST_LIMIT}; page: unknown query parameter`,
    );
  });
});

describe("GET /incidents/:id", () => {
  test("returns the incident with its events (oldest first) and runs", async () => {
    const { status, body } = await getJson(`/incidents/${crash.id}`);
    expect(status).toBe(200);
    expect(body.incident).toMatchObject({ id: crash.id, status: "succeeded", count: 2 });
    const events = body.events as StoredEvent[];
    expect(events.map((e) => e.received_at)).toEqual([
      new Date(T0).toISOString(),
      new Date(T0 + 20_000).toISOString(),
    ]);
    expect(events[0]?.event.fault_id).toBe("crash");
    const runs = body.runs as AgentRun[];
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      id: runId,
      attempt: 1,
      status: "succeeded",
      exit_code: 0,
      duration_ms: 1500,
    });
  });

  test("a skipped incident has no runs", async () => {
    const { status, body } = await getJson(`/incidents/${node.id}`);
    expect(status).toBe(200);
    expect(body.runs).toEqual([]);
    expect(body.events as StoredEvent[]).toHaveLength(1);
  });

  test("an unknown id → 404 naming it", async () => {
    const { status, body } = await getJson("/incidents/20261125T000000Z-nowhere-00000000");
    expect(status).toBe(404);
    expect(body).toEqual({ error: "no incident 20261125T000000Z-nowhere-00000000" });
  });
});

describe("over real HTTP", () => {
  test("a Bun.serve round trip on loopback lists, filters, rejects and reads", async () => {
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: incidentRoutes(store).fetch });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const list = await fetch(`${base}/incidents?cluster=prod-eu&limit=1`);
      expect(list.status).toBe(200);
      expect(((await list.json()) as { incidents: Incident[] }).incidents.map((i) => i.id)).toEqual([oom.id]);
      const bad = await fetch(`${base}/incidents?limit=0`);
      expect(bad.status).toBe(400);
      expect(await bad.json()).toEqual({ error: `limit: must be an integer from 1 to ${MAX_LIST_LIMIT}` });
      const one = await fetch(`${base}/incidents/${encodeURIComponent(oom.id)}`);
      expect(one.status).toBe(200);
      expect(((await one.json()) as { incident: Incident }).incident.id).toBe(oom.id);
      const missing = await fetch(`${base}/incidents/nope`);
      expect(missing.status).toBe(404);
    } finally {
      await server.stop(true);
    }
  });
});

describe("a failing store", () => {
  test("a store error → 503 with the store's message; a closed store → 500", async () => {
    const other = tempDir("faultline-incidents-broken-");
    const broken = SqliteStore.open(join(other.path, "state"));
    try {
      const sabotage = new Database(broken.path);
      sabotage.run("DROP TABLE incidents");
      sabotage.close();
      const response = await incidentRoutes(broken).request("/incidents");
      expect(response.status).toBe(503);
      expect(((await response.json()) as { error: string }).error).toContain(`incident store ${broken.path}`);
      broken.close();
      const closed = await incidentRoutes(broken).request("/incidents");
      expect(closed.status).toBe(500);
      expect(await closed.json()).toHaveProperty("error");
    } finally {
      broken.close();
      other.cleanup();
    }
  });
});
