/**
 * The durable pipeline seen from outside: dedup, the queue bound, the incidents API, per-cluster
 * counts in health, and Prometheus metrics.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { deriveFaultId } from "../../src/events/normalise.ts";
import type { ClustersBody } from "../../src/http/app.ts";
import type { Incident, IncidentDetail } from "../../src/incidents/model.ts";
import { type Fleet, startFleet } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";

let fleet: Fleet;
let url: string;
beforeAll(async () => {
  fleet = await startFleet({
    clusters: ["busy", "calm"],
    // One slow agent at a time and room for two waiting: the rest of a storm is skipped, not lost.
    extra: "dedup_window_seconds: 60\n",
    agentExtra: "max_concurrent: 1, max_queue: 2",
    agentScript: "#!/bin/sh\nsleep 1\n",
  });
  await fleet.waitActive();
  url = fleet.app.http?.url ?? "";
});
afterAll(() => fleet?.stop());

const get = async <T>(path: string): Promise<T> => (await (await fetch(`${url}${path}`)).json()) as T;

test("repeats of one fault within the dedup window join one incident and start one agent", async () => {
  for (let i = 0; i < 3; i++) fleet.sim.inject("calm", { name: "flappy", faultId: "f00d" });
  const incident = await waitFor("3 events on one incident", async () => {
    const { incidents } = await get<{ incidents: Incident[] }>("/incidents?cluster=calm");
    return incidents.length === 1 && incidents[0]?.count === 3 ? incidents[0] : null;
  });
  const detail = await get<IncidentDetail>(`/incidents/${incident.id}`);
  expect(detail.events).toHaveLength(3);
  // The key is faultline's id of the condition; the server's own id stays in the payload.
  const condition = deriveFaultId("default", "Pod", "flappy", "CrashLoop");
  expect(detail.events.every((e) => e.event.fault_id === condition)).toBe(true);
  expect(detail.events.every((e) => (e.event.raw as { faultId?: string }).faultId === "f00d")).toBe(true);
  await waitFor("its one run succeeded", async () => {
    const d = await get<IncidentDetail>(`/incidents/${incident.id}`);
    return d.incident.status === "succeeded" && d.runs.length === 1;
  });
});

test("past agent.max_queue, new incidents are recorded as skipped (queue_full), never dropped", async () => {
  for (let i = 0; i < 6; i++) fleet.sim.inject("busy", { name: `storm-${i}` });
  const incidents = await waitFor("6 incidents", async () => {
    const body = await get<{ incidents: Incident[] }>("/incidents?cluster=busy");
    return body.incidents.length === 6 ? body.incidents : null;
  });
  const skipped = incidents.filter((i) => i.status === "skipped");
  // One runs, two wait (max_queue): at least three of the six are skipped.
  expect(skipped.length).toBeGreaterThanOrEqual(3);
  expect(skipped.every((i) => i.skip_reason === "queue_full")).toBe(true);
  const { incidents: listed } = await get<{ incidents: Incident[] }>("/incidents?status=skipped&limit=1");
  expect(listed).toHaveLength(1);
  const bad = await fetch(`${url}/incidents?status=bogus`);
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { error: string }).error).toStartWith("status: must be one of");
  expect((await fetch(`${url}/incidents/nope`)).status).toBe(404);

  const health = await get<ClustersBody>("/health/clusters");
  const busy = health.clusters.find((c) => c.name === "busy");
  expect(busy?.incidents.skipped).toBe(skipped.length);
  expect(Object.values(busy?.incidents ?? {}).reduce((a, b) => a + (b ?? 0), 0)).toBe(6);
});

test("GET /metrics is Prometheus text with per-cluster and global series", async () => {
  const response = await fetch(`${url}/metrics`);
  expect(response.headers.get("content-type")).toContain("text/plain");
  const samples = parsePrometheus(await response.text());
  expect(samples.get('faultline_cluster_up{cluster="busy"}')).toBe(1);
  expect(samples.get('faultline_cluster_status{cluster="calm",status="active"}')).toBe(1);
  expect(samples.get('faultline_cluster_status{cluster="calm",status="failed"}')).toBe(0);
  expect(samples.get('faultline_cluster_events_received_total{cluster="busy"}')).toBe(6);
  expect(samples.get('faultline_cluster_events_received_total{cluster="calm"}')).toBe(3);
  expect(samples.get('faultline_cluster_reconnects_total{cluster="busy"}')).toBe(0);
  expect(samples.get('faultline_cluster_last_event_timestamp_seconds{cluster="busy"}')).toBeGreaterThan(
    1.7e9,
  );
  expect(samples.get('faultline_events_dropped_total{reason="malformed"}')).toBe(0);
  expect(samples.get('faultline_incidents{status="skipped"}')).toBeGreaterThanOrEqual(3);
  expect(samples.get('faultline_incidents_skipped{reason="queue_full"}')).toBe(
    samples.get('faultline_incidents{status="skipped"}'),
  );
  expect(samples.has("faultline_agents_running")).toBe(true);
  expect(samples.has("faultline_agent_queue_depth")).toBe(true);
  expect(samples.get("faultline_journal_pending_events")).toBe(0); // every event built by now
  expect(
    samples.get('faultline_agent_run_duration_seconds_count{status="succeeded"}'),
  ).toBeGreaterThanOrEqual(1);
  expect(samples.get("process_resident_memory_bytes")).toBeGreaterThan(0);
});

/** Parses Prometheus text exposition into `name{labels}` → value, checking every line's syntax. */
function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("# HELP ") || line.startsWith("# TYPE ")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (!match) throw new Error(`not Prometheus text: ${line}`);
    samples.set(match[1] ?? "", Number(match[2]));
  }
  return samples;
}
