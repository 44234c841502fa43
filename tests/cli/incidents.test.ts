import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { AgentOutcome } from "../../src/agent/runner.ts";
import { formatIncidentTable, relativeTime } from "../../src/cli/incident-table.ts";
import { incidentsCommand } from "../../src/cli/incidents.ts";
import type { FaultEvent, Severity } from "../../src/events/fault.ts";
import type { RouteDecision } from "../../src/incidents/model.ts";
import { type Incident, MAX_LIST_LIMIT } from "../../src/incidents/model.ts";
import { DB_FILE } from "../../src/incidents/open.ts";
import { SqliteStore } from "../../src/incidents/store.ts";
import { logger, setLogSink } from "../../src/log.ts";
import { ingestOne, makeFault, makeOutcome } from "../helpers/fault.ts";
import { tempDir, writeFile, writeKubeconfig } from "../helpers/tmp.ts";

const NOW = new Date("2026-11-25T12:00:00.000Z");
const ESC = String.fromCharCode(27);
const ANSI_PATTERN = new RegExp(`${ESC}\\[[0-9;]*m`, "g");
const STATUS_CHOICES = "queued, running, succeeded, failed, timed_out, skipped, interrupted";

/** An incident last seen `agoSeconds` before {@link NOW}. */
function incident(overrides: Partial<Incident> = {}, agoSeconds = 180): Incident {
  const seen = new Date(NOW.getTime() - agoSeconds * 1000).toISOString();
  return {
    id: "20261125T115700Z-prod-eu-1f2e3d4c",
    cluster: "prod-eu",
    fault_id: "f-1",
    fault_type: "CrashLoop",
    severity: "critical",
    resource: { apiVersion: "v1", kind: "Pod", name: "api-7f9c", namespace: "shop", uid: null },
    status: "queued",
    skip_reason: null,
    count: 3,
    first_seen: seen,
    last_seen: seen,
    attempts: 0,
    workspace: null,
    created_at: seen,
    updated_at: seen,
    ...overrides,
  };
}

/** The table's lines split into cells on runs of 2+ spaces. */
function cells(table: string): string[][] {
  return table.split("\n").map((line) => line.trim().split(/ {2,}/));
}

describe("formatIncidentTable", () => {
  test("no incidents", () => {
    expect(formatIncidentTable([], { now: NOW })).toBe("No incidents.");
  });

  test("a header and one aligned row per incident, in the given order", () => {
    const table = formatIncidentTable(
      [
        incident(),
        incident(
          {
            id: "20261125T100000Z-prod-us-00000001",
            cluster: "prod-us",
            status: "skipped",
            skip_reason: "queue_full",
            fault_type: "NodeUnhealthy",
            severity: "warning",
            resource: { apiVersion: "v1", kind: "Node", name: "node-1", namespace: null, uid: null },
            count: 1234,
          },
          2 * 3600 + 5,
        ),
      ],
      { now: NOW },
    );
    const lines = table.split("\n");
    expect(lines).toHaveLength(3);
    expect(cells(table)).toEqual([
      ["ID", "CLUSTER", "STATUS", "TYPE", "SEVERITY", "RESOURCE", "COUNT", "LAST SEEN"],
      [
        "20261125T115700Z-prod-eu-1f2e3d4c",
        "prod-eu",
        "queued",
        "CrashLoop",
        "critical",
        "Pod/shop/api-7f9c",
        "3",
        "3m ago",
      ],
      [
        "20261125T100000Z-prod-us-00000001",
        "prod-us",
        "skipped (queue_full)",
        "NodeUnhealthy",
        "warning",
        "Node/node-1",
        "1234",
        "2h ago",
      ],
    ]);
    // Columns line up: each header starts where its cells start; COUNT is right-aligned.
    const header = lines[0] ?? "";
    for (const name of ["CLUSTER", "STATUS", "TYPE", "SEVERITY", "RESOURCE", "LAST SEEN"]) {
      const at = header.indexOf(name);
      expect(at).toBeGreaterThan(0);
      for (const line of lines.slice(1)) expect(line[at - 1]).toBe(" ");
    }
    const countEnd = header.indexOf("COUNT") + "COUNT".length;
    expect(lines[1]?.slice(countEnd - 1, countEnd)).toBe("3");
    expect(lines[2]?.slice(countEnd - 4, countEnd)).toBe("1234");
    for (const line of lines) expect(line).toBe(line.trimEnd());
  });

  test("long values are cut with … at a sane width; ids never are", () => {
    const longCluster = "c".repeat(63);
    const id = `20261125T115700Z-${longCluster}-1f2e3d4c`;
    const table = formatIncidentTable(
      [
        incident({
          id,
          cluster: longCluster,
          fault_type: "SomeVeryLongKubernetesEventReason",
          resource: { apiVersion: "v1", kind: "Pod", name: "n".repeat(100), namespace: "shop", uid: null },
        }),
      ],
      { now: NOW },
    );
    const [, row] = cells(table);
    expect(row?.[0]).toBe(id);
    expect(row?.[1]).toBe(`${"c".repeat(23)}…`);
    expect(row?.[3]).toBe("SomeVeryLongKubernetesE…");
    expect(row?.[5]).toHaveLength(48);
    expect(row?.[5]?.startsWith("Pod/shop/nnn")).toBe(true);
    expect(row?.[5]?.endsWith("…")).toBe(true);
  });

  test("control characters from a cluster cannot reach the terminal", () => {
    const table = formatIncidentTable([incident({ fault_type: `Bad${ESC}[2JReason\nx` })], { now: NOW });
    expect(table).not.toContain(ESC);
    expect(table.split("\n")).toHaveLength(2);
    expect(table).toContain("Bad?[2JReason?x");
  });

  test("color paints status, severity and header without changing the layout", () => {
    const rows = [incident({ status: "failed" }), incident({ status: "succeeded", severity: "info" })];
    const plain = formatIncidentTable(rows, { now: NOW });
    const colored = formatIncidentTable(rows, { now: NOW, color: true });
    expect(plain).not.toContain(ESC);
    expect(colored).toContain(`${ESC}[31mfailed`);
    expect(colored).toContain(`${ESC}[32msucceeded`);
    expect(colored).toContain(`${ESC}[1mID`);
    expect(
      colored
        .replace(ANSI_PATTERN, "")
        .split("\n")
        .map((l) => l.trimEnd()),
    ).toEqual(plain.split("\n"));
  });

  test("LAST SEEN is relative to now", () => {
    const at = (ms: number) => new Date(NOW.getTime() - ms).toISOString();
    expect(relativeTime(at(0), NOW)).toBe("just now");
    expect(relativeTime(at(-5000), NOW)).toBe("just now");
    expect(relativeTime(at(45_000), NOW)).toBe("45s ago");
    expect(relativeTime(at(3 * 60_000 + 59_000), NOW)).toBe("3m ago");
    expect(relativeTime(at(5 * 3_600_000), NOW)).toBe("5h ago");
    expect(relativeTime(at(3 * 86_400_000), NOW)).toBe("3d ago");
    expect(relativeTime("not a time", NOW)).toBe("?");
  });
});

describe("incidentsCommand", () => {
  const T0 = Date.parse("2026-11-25T03:00:00.000Z");
  let dir: { path: string; cleanup: () => void };
  let configFile: string;
  let ids: { crash: string; oom: string; node: string };
  let out: string;
  let err: string;
  const io = {
    stdout: (s: string): void => {
      out += s;
    },
    stderr: (s: string): void => {
      err += s;
    },
  };
  let restoreSink: (line: string) => void;
  let logLines: string[];

  function faultEvent(
    cluster: string,
    faultId: string,
    offsetSeconds: number,
    severity: Severity,
  ): FaultEvent {
    return makeFault({
      cluster,
      fault_id: faultId,
      severity,
      context: "",
      resource: { apiVersion: "apps/v1", kind: "Deployment", name: faultId },
      at: new Date(T0 + offsetSeconds * 1000),
    });
  }

  const ingest = (store: SqliteStore, event: FaultEvent, decision: RouteDecision): string =>
    ingestOne(store, event, decision).id;

  function failed(workspace: string): AgentOutcome {
    return makeOutcome({
      workspace,
      exit_code: 3,
      duration_ms: 10,
      started_at: new Date(T0).toISOString(),
      finished_at: new Date(T0 + 10).toISOString(),
    });
  }

  /** A config for two clusters with its state in `stateDir` (relative to the config's folder). */
  function writeConfig(name: string, stateDir: string): string {
    return writeFile(
      dir.path,
      name,
      `state_dir: ${stateDir}
clusters:
  - name: prod-eu
    mcp_endpoint: http://127.0.0.1:9/mcp
    kubeconfig: ./eu.kubeconfig
  - name: prod-us
    mcp_endpoint: http://127.0.0.1:9/mcp
    kubeconfig: ./us.kubeconfig
`,
    );
  }

  async function run(...argv: string[]): Promise<number> {
    return incidentsCommand(argv, io);
  }

  beforeAll(() => {
    logLines = [];
    restoreSink = setLogSink((line) => logLines.push(line));
    dir = tempDir("faultline-incidents-cli-");
    writeKubeconfig(dir.path, "eu.kubeconfig");
    writeKubeconfig(dir.path, "us.kubeconfig");
    configFile = writeConfig("faultline.yaml", "./state");
    const store = SqliteStore.open(join(dir.path, "state"));
    const crash = ingest(store, faultEvent("prod-eu", "crash", 0, "critical"), { action: "triage" });
    const run = store.markRunning(crash, join(dir.path, "state", "incidents", crash));
    store.finishRun(run.id, failed(run.workspace));
    const oom = ingest(store, faultEvent("prod-eu", "oom", 10, "warning"), { action: "triage" });
    const node = ingest(store, faultEvent("prod-us", "node", 20, "info"), {
      action: "skip",
      reason: "below_threshold",
    });
    store.close();
    ids = { crash, oom, node };
  });

  afterAll(() => {
    dir.cleanup();
    setLogSink(restoreSink);
  });

  beforeEach(() => {
    out = "";
    err = "";
  });

  test("prints the table, newest first, and exits 0", async () => {
    expect(await run("--config", configFile)).toBe(0);
    expect(err).toBe("");
    const rows = cells(out.trimEnd());
    expect(rows[0]).toEqual([
      "ID",
      "CLUSTER",
      "STATUS",
      "TYPE",
      "SEVERITY",
      "RESOURCE",
      "COUNT",
      "LAST SEEN",
    ]);
    expect(rows.slice(1).map((row) => row[0])).toEqual([ids.node, ids.oom, ids.crash]);
    expect(rows[1]?.[2]).toBe("skipped (below_threshold)");
    expect(rows[3]?.slice(1, 6)).toEqual([
      "prod-eu",
      "failed",
      "CrashLoop",
      "critical",
      "Deployment/shop/crash",
    ]);
    expect(out).not.toContain(ESC);
  });

  test("works while another process has the store open", async () => {
    const running = SqliteStore.open(join(dir.path, "state"));
    try {
      expect(await run("-c", configFile, "--status", "queued")).toBe(0);
      expect(
        cells(out.trimEnd())
          .slice(1)
          .map((row) => row[0]),
      ).toEqual([ids.oom]);
    } finally {
      running.close();
    }
  });

  test("--json prints {incidents} and honours --cluster, --status and --limit", async () => {
    expect(await run("--config", configFile, "--json")).toBe(0);
    const all = JSON.parse(out) as { incidents: Incident[] };
    expect(all.incidents.map((i) => i.id)).toEqual([ids.node, ids.oom, ids.crash]);
    out = "";
    expect(await run("--config", configFile, "--json", "--cluster", "prod-eu", "--limit", "1")).toBe(0);
    expect((JSON.parse(out) as { incidents: Incident[] }).incidents.map((i) => i.id)).toEqual([ids.oom]);
    out = "";
    expect(await run("--config", configFile, "--json", "--status", "failed")).toBe(0);
    expect((JSON.parse(out) as { incidents: Incident[] }).incidents.map((i) => i.id)).toEqual([ids.crash]);
    expect(err).toBe("");
  });

  test("a filter that matches nothing prints No incidents.", async () => {
    expect(await run("--config", configFile, "--cluster", "staging")).toBe(0);
    expect(out).toBe("No incidents.\n");
  });

  test("a bad --status or --limit → exit 2 naming the flag", async () => {
    expect(await run("--config", configFile, "--status", "done")).toBe(2);
    expect(err).toBe(`faultline incidents: --status: must be one of ${STATUS_CHOICES}\n`);
    for (const limit of ["0", "abc", "1.5", `${MAX_LIST_LIMIT + 1}`]) {
      err = "";
      expect(await run("--config", configFile, "--limit", limit)).toBe(2);
      expect(err).toBe(`faultline incidents: --limit: must be an integer from 1 to ${MAX_LIST_LIMIT}\n`);
    }
    err = "";
    expect(await run("--config", configFile, "--cluster", "")).toBe(2);
    expect(err).toContain("--cluster: must not be empty");
    expect(out).toBe("");
  });

  test("a missing --config, an unknown flag or a stray argument → exit 2", async () => {
    expect(await run()).toBe(2);
    expect(err).toBe("faultline incidents: --config FILE is required\n");
    err = "";
    expect(await run("--config", configFile, "--verbose")).toBe(2);
    expect(err).toContain("--verbose");
    expect(err).toContain("Usage: faultline incidents");
    err = "";
    expect(await run("--config", configFile, "extra")).toBe(2);
    expect(err).toContain("extra");
    expect(out).toBe("");
  });

  test("--help prints the usage and exits 0", async () => {
    expect(await run("--help")).toBe(0);
    expect(out).toContain("Usage: faultline incidents --config FILE");
    expect(out).toContain(STATUS_CHOICES);
  });

  test("an invalid config → exit 2 with every problem", async () => {
    const bad = writeFile(dir.path, "bad.yaml", "state_dir: ./state\nclusters: []\nlog_level: loud\n");
    expect(await run("--config", bad)).toBe(2);
    expect(err).toContain(`${bad}: invalid configuration (2 problem(s)):`);
    expect(err).toContain("  clusters: must list at least one cluster");
    expect(err).toContain("  log_level: must be one of debug, info, warn, error");
    expect(out).toBe("");
    err = "";
    expect(await run("--config", join(dir.path, "absent.yaml"))).toBe(2);
    expect(err).toContain("cannot read config file");
  });

  test("no database yet → an empty list and a note, and nothing is created", async () => {
    const config = writeConfig("fresh.yaml", "./fresh-state");
    expect(await run("--config", config)).toBe(0);
    expect(out).toBe("No incidents.\n");
    expect(err).toContain(`no incident store in ${join(dir.path, "fresh-state")} yet`);
    expect(existsSync(join(dir.path, "fresh-state"))).toBe(false);
    out = "";
    expect(await run("--config", config, "--json")).toBe(0);
    expect(JSON.parse(out)).toEqual({ incidents: [] });
  });

  test("a store that cannot be read → exit 1 with the store's message", async () => {
    const config = writeConfig("broken.yaml", "./broken-state");
    const brokenDir = join(dir.path, "broken-state");
    mkdirSync(brokenDir);
    writeFile(brokenDir, DB_FILE, "this is not a SQLite database, just text ".repeat(200));
    expect(await run("--config", config)).toBe(1);
    expect(err).toContain(`faultline incidents: incident store ${join(brokenDir, DB_FILE)}`);
    expect(err).toContain("not a database");
    expect(out).toBe("");
  });

  test("log lines (a schema migration) go to stderr, so --json output stays parseable", async () => {
    const config = writeConfig("empty.yaml", "./empty-state");
    const emptyDir = join(dir.path, "empty-state");
    mkdirSync(emptyDir);
    writeFile(emptyDir, DB_FILE, "");
    logLines.length = 0;
    expect(await run("--config", config, "--json")).toBe(0);
    expect(JSON.parse(out)).toEqual({ incidents: [] });
    expect(err).toContain('"msg":"incident store schema migrated"');
    expect(logLines).toEqual([]);
    // …and the test's own sink is back once the command is done.
    logger().info("after the command");
    expect(logLines.map((line) => JSON.parse(line).msg)).toEqual(["after the command"]);
  });
});
