/** The dispatcher on a real SQLite store with real agent processes. */
import { Database } from "bun:sqlite";
import { afterEach, beforeEach, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { AgentConfig, ClusterConfig } from "../../src/config/types.ts";
import type { FaultEvent, Severity } from "../../src/events/fault.ts";
import { Dispatcher } from "../../src/incidents/dispatcher.ts";
import { DB_FILE } from "../../src/incidents/open.ts";
import { SqliteStore } from "../../src/incidents/store.ts";
import type { IncidentStore } from "../../src/incidents/store-api.ts";
import { setLogSink } from "../../src/log.ts";
import { makeAgentConfig, makeFault } from "../helpers/fault.ts";
import { tempDir, writeFile } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

let dir: ReturnType<typeof tempDir>;
let store: SqliteStore;
let restoreSink: (line: string) => void;
let stateDir: string;

beforeEach(() => {
  dir = tempDir();
  stateDir = join(dir.path, "state");
  store = SqliteStore.open(stateDir);
  restoreSink = setLogSink(() => {});
});
afterEach(() => {
  store.close();
  setLogSink(restoreSink);
  dir.cleanup();
});

function cluster(name: string): ClusterConfig {
  return {
    name,
    mcp_endpoint: "http://127.0.0.1:1/mcp",
    kubeconfig: join(dir.path, `${name}.kubeconfig`),
    enabled: true,
    labels: {},
    severity_threshold: "info",
    triage: true,
  };
}

function fault(clusterName: string, name: string, severity: Severity = "critical"): FaultEvent {
  return makeFault({
    cluster: clusterName,
    fault_id: `${clusterName}-${name}`,
    severity,
    resource: { name },
    at: new Date(),
  });
}

/** An agent that appends `start|end <cluster> <incident>` lines to a shared file around a sleep. */
function recordingAgent(sleepSeconds: number): { command: string[]; lines: () => string[] } {
  const file = join(dir.path, "timeline.txt");
  const script = writeFile(
    dir.path,
    "agent.sh",
    `#!/bin/sh\necho "start $FAULTLINE_CLUSTER $FAULTLINE_INCIDENT_ID" >> "${file}"\nsleep ${sleepSeconds}\necho "end $FAULTLINE_CLUSTER $FAULTLINE_INCIDENT_ID" >> "${file}"\n`,
    0o755,
  );
  return { command: [script], lines: () => readFileSync(file, "utf8").trim().split("\n") };
}

/** The most agents running at once in a {@link recordingAgent} timeline. */
function mostAtOnce(lines: readonly string[]): number {
  let overlap = 0;
  let most = 0;
  for (const line of lines) {
    overlap += line.startsWith("start") ? 1 : -1;
    most = Math.max(most, overlap);
  }
  return most;
}

/** Two agents at a time unless told otherwise. */
const agentConfig = (command: string[], overrides: Partial<AgentConfig> = {}): AgentConfig =>
  makeAgentConfig(command, { max_concurrent: 2, ...overrides });

function dispatcherFor(agent: AgentConfig, names: string[]): Dispatcher {
  return new Dispatcher({
    store,
    agent,
    stateDir,
    clusters: new Map(names.map((n) => [n, cluster(n)])),
    killGraceMs: 200,
  });
}

const ingest = (events: FaultEvent[]) =>
  store.ingest(events.map((event) => ({ event, decision: { action: "triage" as const } })));
const statuses = () => store.list({ limit: 1000 }).map((i) => i.status);

test("never runs more than max_concurrent agents; every queued incident runs once and succeeds", async () => {
  const agent = recordingAgent(0.15);
  const dispatcher = dispatcherFor(agentConfig(agent.command, { max_concurrent: 2 }), ["a"]);
  ingest(["p1", "p2", "p3", "p4", "p5"].map((n) => fault("a", n)));
  await dispatcher.kick();
  expect(dispatcher.running).toBe(2);
  expect(store.queueDepth()).toBe(3);
  await waitFor("all succeeded", () => statuses().every((s) => s === "succeeded"));
  expect(mostAtOnce(agent.lines())).toBe(2);
  expect(agent.lines().filter((l) => l.startsWith("start"))).toHaveLength(5);
  for (const incident of store.list()) {
    const runs = store.get(incident.id)?.runs ?? [];
    expect(runs.map((r) => [r.attempt, r.status, r.exit_code])).toEqual([[1, "succeeded", 0]]);
  }
});

/** `store` with a claimNext that answers after `delayMs` (as a database server would), counting claims in flight. */
function slowClaims(delayMs: number): { store: IncidentStore; mostInFlight: () => number } {
  let inFlight = 0;
  let most = 0;
  const claimNext: IncidentStore["claimNext"] = async (workspaceOf) => {
    most = Math.max(most, ++inFlight);
    try {
      await Bun.sleep(delayMs);
      return store.claimNext(workspaceOf);
    } finally {
      inFlight--;
    }
  };
  return { store: replacing(store, "claimNext", claimNext), mostInFlight: () => most };
}

/** `target` with its method `key` replaced by `method` (the others bound to it). */
function replacing<K extends keyof IncidentStore>(
  target: IncidentStore,
  key: K,
  method: IncidentStore[K],
): IncidentStore {
  return new Proxy(target, {
    get(inner, name) {
      if (name === key) return method;
      const value = Reflect.get(inner, name, inner);
      return typeof value === "function" ? value.bind(inner) : value;
    },
  });
}

test("kicks during a slow claim make one claim loop go round: each incident starts once, never more than max_concurrent", async () => {
  const agent = recordingAgent(0.05);
  const slow = slowClaims(5);
  const clusters = new Map(["a", "b"].map((n) => [n, cluster(n)]));
  const dispatcher = new Dispatcher({
    store: slow.store,
    agent: agentConfig(agent.command, { max_concurrent: 3 }),
    stateDir,
    clusters,
    killGraceMs: 200,
  });
  const results = ingest([
    ...Array.from({ length: 6 }, (_, i) => fault("a", `a${i}`)),
    ...Array.from({ length: 6 }, (_, i) => fault("b", `b${i}`)),
  ]);
  let mostRunning = 0;
  const kicks = Array.from({ length: 50 }, () => dispatcher.kick());
  const kicker = setInterval(() => {
    mostRunning = Math.max(mostRunning, dispatcher.running);
    void dispatcher.kick();
  }, 1);
  try {
    await waitFor("all succeeded", () => statuses().every((s) => s === "succeeded"), 10_000);
  } finally {
    clearInterval(kicker);
  }
  await Promise.all(kicks);
  expect(slow.mostInFlight()).toBe(1);
  const started = agent
    .lines()
    .filter((line) => line.startsWith("start"))
    .map((line) => line.split(" ")[2]);
  expect(started.sort()).toEqual(results.map((r) => r.incident.id).sort());
  expect(mostAtOnce(agent.lines())).toBeLessThanOrEqual(3);
  expect(mostRunning).toBeLessThanOrEqual(3);
  expect(mostRunning).toBeGreaterThan(1);
  for (const { incident } of results) expect(store.get(incident.id)?.runs).toHaveLength(1);
  await dispatcher.stop(1000);
});

/** `store` whose finishRun waits for `gate` (as a slow database would), saying when one is waiting. */
function gatedOutcomes(gate: Promise<void>): { store: IncidentStore; recording: () => boolean } {
  let recording = false;
  const finishRun: IncidentStore["finishRun"] = async (runId, outcome) => {
    recording = true;
    await gate;
    return store.finishRun(runId, outcome);
  };
  return { store: replacing(store, "finishRun", finishRun), recording: () => recording };
}

test("a fence waits for an ended agent's outcome to be recorded: the settle that lifts it keeps the real outcome", async () => {
  const agent = recordingAgent(0.05);
  const gate = Promise.withResolvers<void>();
  const gated = gatedOutcomes(gate.promise);
  const dispatcher = new Dispatcher({
    store: gated.store,
    agent: agentConfig(agent.command),
    stateDir,
    clusters: new Map([["a", cluster("a")]]),
    killGraceMs: 200,
  });
  ingest([fault("a", "p1")]);
  await dispatcher.kick();
  await waitFor("the agent ended and its outcome is being recorded", gated.recording);
  expect(agent.lines().map((l) => l.split(" ")[0])).toEqual(["start", "end"]);
  let fenced = false;
  const fencing = dispatcher.fence().then(() => {
    fenced = true;
  });
  await Bun.sleep(200);
  expect(fenced).toBe(false);
  gate.resolve();
  await fencing;
  // What lifting the fence does (src/ha/replica.ts): settle this replica's runs left open, keeping the running ones.
  store.recoverInterrupted({ retry: true, maxAttempts: 3, keepRunIds: dispatcher.runIds });
  const [incident] = store.list();
  expect(incident?.status).toBe("succeeded");
  expect(store.get(incident?.id ?? "")?.runs.map((r) => r.status)).toEqual(["succeeded"]);
  await dispatcher.stop(0);
});

test("a noisy cluster does not starve a quiet one: the quiet cluster's incident runs second", async () => {
  const agent = recordingAgent(0.02);
  const dispatcher = dispatcherFor(agentConfig(agent.command, { max_concurrent: 1 }), ["noisy", "quiet"]);
  ingest(Array.from({ length: 8 }, (_, i) => fault("noisy", `n${i}`)));
  ingest([fault("quiet", "q0")]);
  await dispatcher.kick();
  await waitFor("all done", () => statuses().every((s) => s === "succeeded"));
  const order = agent
    .lines()
    .filter((l) => l.startsWith("start"))
    .map((l) => l.split(" ")[1]);
  expect(order.indexOf("quiet")).toBe(1);
});

test("an agent past timeout_seconds is ended and the incident is timed_out", async () => {
  const script = writeFile(dir.path, "stuck.sh", "#!/bin/sh\nsleep 30\n", 0o755);
  const dispatcher = dispatcherFor(agentConfig([script], { timeout_seconds: 0.3 }), ["a"]);
  const [result] = ingest([fault("a", "stuck")]);
  await dispatcher.kick();
  await waitFor(
    "timed out",
    () => store.get(result?.incident.id ?? "")?.incident.status === "timed_out",
    5000,
  );
  const run = store.get(result?.incident.id ?? "")?.runs[0];
  expect(run).toMatchObject({ status: "timed_out", exit_code: null, signal: "SIGTERM" });
});

test("stop lets running agents finish within the grace, and interrupts those that do not", async () => {
  const quick = recordingAgent(0.1);
  const dispatcher = dispatcherFor(agentConfig(quick.command, { max_concurrent: 2 }), ["a"]);
  ingest([fault("a", "x"), fault("a", "y"), fault("a", "z")]);
  await dispatcher.kick();
  await dispatcher.stop(5000);
  expect(statuses().sort()).toEqual(["queued", "succeeded", "succeeded"]);

  const slow = writeFile(dir.path, "slow.sh", "#!/bin/sh\nsleep 30\n", 0o755);
  const second = dispatcherFor(agentConfig([slow]), ["a"]);
  await second.kick();
  await waitFor("slow running", () => second.running === 1);
  await second.stop(100);
  expect(statuses().sort()).toEqual(["interrupted", "succeeded", "succeeded"]);
});

test("records each agent supervisor's pid on its run, for recovery after a crash", async () => {
  const agent = recordingAgent(0.3);
  const dispatcher = dispatcherFor(agentConfig(agent.command), ["a"]);
  const [result] = ingest([fault("a", "p")]);
  await dispatcher.kick();
  await waitFor("pid recorded", () => store.openRuns()[0]?.pid);
  expect(store.openRuns()).toEqual([
    {
      run_id: expect.any(Number),
      incident_id: result?.incident.id ?? "",
      cluster: "a",
      pid: expect.any(Number),
      workspace: join(stateDir, "incidents", result?.incident.id ?? ""),
      started_ms: expect.any(Number),
    },
  ]);
  await dispatcher.stop(5000);
  expect(store.openRuns()).toEqual([]);
});

test("an incident whose cluster is no longer configured fails with a clear error instead of running", async () => {
  const agent = recordingAgent(0);
  ingest([fault("gone", "p")]);
  const dispatcher = dispatcherFor(agentConfig(agent.command), ["a"]);
  await dispatcher.kick();
  await waitFor("failed", () => statuses()[0] === "failed");
  const [incident] = store.list();
  expect(store.get(incident?.id ?? "")?.runs[0]?.error).toContain("its cluster is no longer configured");
});

test("a failing read of the next incident is logged and leaves it queued; the dispatcher still stops cleanly", async () => {
  const lines: Record<string, unknown>[] = [];
  setLogSink((line) => lines.push(JSON.parse(line)));
  const agent = recordingAgent(0.3);
  const dispatcher = dispatcherFor(agentConfig(agent.command, { max_concurrent: 1 }), ["a"]);
  ingest([fault("a", "first"), fault("a", "second")]);
  await dispatcher.kick();
  expect(dispatcher.running).toBe(1);
  // Another connection drops the events table: reading the second incident's event now fails.
  const other = new Database(join(stateDir, DB_FILE));
  other.run("DROP TABLE events");
  other.close();
  await waitFor("first finished", () => statuses().includes("succeeded"));
  await dispatcher.stop(5000);
  expect(statuses().sort()).toEqual(["queued", "succeeded"]);
  const failure = lines.find((line) => line.msg === "cannot start an incident");
  expect(failure?.error).toContain("no such table: events");
  expect(() => dispatcher.kick()).not.toThrow();
});

test("after a run, report.md and summary.json are stored with it (valid, invalid, or a FIFO that must not hang)", async () => {
  const script = writeFile(
    dir.path,
    "writer.sh",
    `#!/bin/sh
case "$(cat)" in
  *'"good"'*) printf '# Found it\n' > report.md; echo '{"summary":"disk full","actions":["free space"]}' > summary.json ;;
  *'"bad"'*) echo '{"summary":42}' > summary.json; exit 3 ;;
  *)  mkfifo report.md; mkfifo summary.json ;;
esac
`,
    0o755,
  );
  const dispatcher = dispatcherFor(agentConfig([script], { max_concurrent: 3 }), ["a"]);
  const results = ingest([fault("a", "good"), fault("a", "bad"), fault("a", "fifo")]);
  await dispatcher.kick();
  await waitFor("all finished", () => statuses().every((s) => s === "succeeded" || s === "failed"), 5000);
  const outputOf = (i: number) => store.get(results[i]?.incident.id ?? "")?.runs[0]?.output;
  expect(outputOf(0)).toMatchObject({
    report: "# Found it\n",
    summary: { summary: "disk full", actions: ["free space"] },
    summary_status: "ok",
  });
  // An invalid summary is recorded as such; the run's status is the agent's own (exit 3: failed).
  expect(store.get(results[1]?.incident.id ?? "")?.incident.status).toBe("failed");
  expect(outputOf(1)).toMatchObject({
    summary: null,
    summary_status: "invalid",
    summary_error: "summary.json: summary: must be a string",
    report_status: "missing",
  });
  expect(outputOf(2)).toMatchObject({
    report_status: "invalid",
    report_error: "report.md: is not a regular file",
    summary_status: "invalid",
  });
  expect(store.get(results[2]?.incident.id ?? "")?.incident.status).toBe("succeeded");
});
