/** `faultline incidents show ID`: one incident with its runs, the agent's summary and report, its notifications. */
import { afterAll, beforeAll, beforeEach, expect, test } from "bun:test";
import { join } from "node:path";
import type { RunOutput } from "../../src/agent/output.ts";
import { incidentsCommand } from "../../src/cli/incidents.ts";
import type { IncidentDetail } from "../../src/incidents/model.ts";
import { SqliteStore } from "../../src/incidents/store.ts";
import { ingestOne, makeFault, makeOutcome } from "../helpers/fault.ts";
import { tempDir, writeFile, writeKubeconfig } from "../helpers/tmp.ts";

const ESC = String.fromCharCode(27);
const dir = tempDir();
let config: string;
let id: string;
let bare: string;
let out = "";
let err = "";
const io = {
  stdout: (s: string): void => {
    out += s;
  },
  stderr: (s: string): void => {
    err += s;
  },
};

const OUTPUT: RunOutput = {
  report: `# Findings\n\nThe pod ${ESC}[31mcrashes${ESC}[0m.\n`,
  report_status: "ok",
  report_bytes: 40,
  report_truncated: false,
  report_error: null,
  summary: {
    summary: "DB_URL missing",
    root_cause: "secret deleted",
    confidence: "high",
    actions: ["restore it"],
  },
  summary_status: "ok",
  summary_error: null,
};

beforeAll(() => {
  writeKubeconfig(dir.path, "k.yaml");
  config = writeFile(
    dir.path,
    "faultline.yaml",
    "state_dir: ./state\nclusters:\n  - { name: prod-eu, mcp_endpoint: http://127.0.0.1:9/mcp, kubeconfig: ./k.yaml }\n",
  );
  const store = SqliteStore.open(join(dir.path, "state"), {
    notify: ({ incident, trigger }) => [
      { sink: "ops", idempotency_key: `${incident.id}:${trigger}`, message: "{}" },
    ],
  });
  try {
    id = ingestOne(store, makeFault()).id;
    const run = store.markRunning(id, join(dir.path, "state", "incidents", id));
    store.finishRun(run.id, { ...makeOutcome({ duration_ms: 1500 }), output: OUTPUT });
    const due = store.outbox.list().find((n) => n.trigger === "opened");
    store.outbox.recordAttempt(due?.id ?? 0, { outcome: "dead", error: "HTTP 400: invalid_payload" });
    bare = ingestOne(store, makeFault({ fault_id: "other" }), {
      action: "skip",
      reason: "below_threshold",
    }).id;
  } finally {
    store.close();
  }
});
afterAll(dir.cleanup);
beforeEach(() => {
  out = "";
  err = "";
});

test("text for people: facts, runs, the summary, the report (control characters replaced), notifications", async () => {
  expect(await incidentsCommand(["show", id, "--config", config], io)).toBe(0);
  expect(out).toStartWith(`Incident ${id}\n  cluster     prod-eu\n  status      succeeded\n`);
  expect(out).toContain("Runs\n  #1  succeeded  exit 0  1.5 s");
  expect(out).toContain(
    "Summary (run #1)\n  DB_URL missing\n\n  Root cause (confidence: high):\n  secret deleted\n\n  Actions:\n  - restore it",
  );
  expect(out).toContain("Report (run #1, report.md, 40 bytes)\n# Findings\n\nThe pod ?[31mcrashes?[0m.");
  expect(out).not.toContain(ESC);
  expect(out).toContain(
    "Notifications\n  ops  opened  dead  1 attempt(s)  HTTP 400: invalid_payload\n  ops  triaged  pending  0 attempt(s)  next ",
  );
});

test("--json prints what GET /incidents/:id does", async () => {
  expect(await incidentsCommand(["show", "--json", id, "-c", config], io)).toBe(0);
  const detail = JSON.parse(out) as IncidentDetail;
  expect(detail.incident.id).toBe(id);
  expect(detail.runs[0]?.output).toEqual(OUTPUT);
  expect(detail.notifications.map((n) => [n.sink, n.trigger, n.status])).toEqual([
    ["ops", "opened", "dead"],
    ["ops", "triaged", "pending"],
  ]);
  expect(detail.events).toHaveLength(1);
});

test("an incident with no run yet says so", async () => {
  expect(await incidentsCommand(["show", bare, "--config", config], io)).toBe(0);
  expect(out).toContain("status      skipped (below_threshold)");
  expect(out).toContain("Runs\n  none yet");
  expect(out).not.toContain("Summary");
});

test("an unknown id → exit 1; no id, two ids or no --config → exit 2 with the usage; --help → 0", async () => {
  expect(await incidentsCommand(["show", "nope", "--config", config], io)).toBe(1);
  expect(err).toContain(`no incident "nope" in ${join(dir.path, "state")}`);
  for (const argv of [
    ["show", "--config", config],
    ["show", id, id, "--config", config],
    ["show", id],
  ]) {
    err = "";
    expect(await incidentsCommand(argv, io)).toBe(2);
    expect(err).toContain("Usage: faultline incidents show ID");
  }
  expect(await incidentsCommand(["show", "--help"], io)).toBe(0);
  expect(out).toStartWith("Usage: faultline incidents show ID --config FILE [--json]");
});
