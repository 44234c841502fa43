/** SqliteStore.claimNext: fair order, one claimant per incident across stores and processes on one file. */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Incident } from "../../src/incidents/model.ts";
import { SqliteStore } from "../../src/incidents/store.ts";
import { setLogSink } from "../../src/log.ts";
import { ingestOne, makeFault } from "../helpers/fault.ts";
import { tempDir } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

const STORE_MODULE = join(import.meta.dir, "../../src/incidents/store.ts");

let dir: ReturnType<typeof tempDir>;
let stateDir: string;
let stores: SqliteStore[];
let restoreSink: (line: string) => void;

beforeEach(() => {
  dir = tempDir("faultline-claim-");
  stateDir = join(dir.path, "state");
  stores = [];
  restoreSink = setLogSink(() => {});
});
afterEach(() => {
  for (const store of stores) store.close();
  setLogSink(restoreSink);
  dir.cleanup();
});

function open(): SqliteStore {
  const store = SqliteStore.open(stateDir, { maxQueue: 10_000 });
  stores.push(store);
  return store;
}

/** Queues one incident per name on `cluster`, in order (one second apart), and returns their ids. */
function queue(store: SqliteStore, cluster: string, names: string[], startSecond: number): string[] {
  return names.map(
    (name, i) =>
      ingestOne(
        store,
        makeFault({
          cluster,
          fault_id: `${cluster}-${name}`,
          resource: { name },
          at: new Date(Date.parse("2026-11-25T03:00:00Z") + (startSecond + i) * 1000),
        }),
      ).id,
  );
}

const workspaceOf = (incident: Incident) => join(stateDir, "incidents", incident.id);

test("claimNext starts the incident, opens its run and hands over its newest event; null when none is queued", () => {
  const store = open();
  expect(store.claimNext(workspaceOf)).toBeNull();
  const [id] = queue(store, "a", ["p"], 0);
  const claimed = store.claimNext(workspaceOf);
  expect(claimed?.incident).toMatchObject({
    id,
    status: "running",
    attempts: 1,
    workspace: workspaceOf(claimed?.incident as Incident),
  });
  expect(claimed?.run).toMatchObject({
    attempt: 1,
    status: "running",
    workspace: join(stateDir, "incidents", id ?? ""),
  });
  expect(claimed?.event).toMatchObject({ cluster: "a", fault_id: "a-p", resource: { name: "p" } });
  expect(store.queueDepth()).toBe(0);
  expect(store.openRuns().map((run) => run.incident_id)).toEqual([id ?? ""]);
  expect(store.claimNext(workspaceOf)).toBeNull();
});

test("two SqliteStore instances on one file claim disjoint incidents, in the fair order", () => {
  const first = open();
  const second = open();
  const a = queue(first, "a", ["a1", "a2", "a3"], 0);
  const b = queue(second, "b", ["b1", "b2"], 10);
  const c = queue(first, "c", ["c1"], 20);
  const claimed: string[] = [];
  for (let turn = 0; ; turn++) {
    const next = (turn % 2 === 0 ? first : second).claimNext(workspaceOf);
    if (next === null) break;
    claimed.push(next.incident.id);
  }
  // Oldest first within a cluster, round-robin across clusters (least recently served first).
  const fair: Array<string | undefined> = [a[0], b[0], c[0], a[1], b[1], a[2]];
  expect<Array<string | undefined>>(claimed).toEqual(fair);
  expect(new Set(claimed).size).toBe(6);
  expect(first.openRuns()).toHaveLength(6);
});

test("two processes claiming at once from one file never claim the same incident", async () => {
  const store = open();
  const ids = [
    ...queue(
      store,
      "a",
      Array.from({ length: 60 }, (_, i) => `a${i}`),
      0,
    ),
    ...queue(
      store,
      "b",
      Array.from({ length: 60 }, (_, i) => `b${i}`),
      100,
    ),
  ];
  const script = join(dir.path, "claimer.ts");
  writeFileSync(
    script,
    `import { existsSync, writeFileSync } from "node:fs";
import { SqliteStore } from ${JSON.stringify(STORE_MODULE)};
const store = SqliteStore.open(process.argv[2]);
writeFileSync(process.argv[3] + "/ready-" + process.pid, "");
while (!existsSync(process.argv[3] + "/go")) await Bun.sleep(1);
const claimed = [];
for (let next = store.claimNext((i) => "/ws/" + i.id); next !== null; next = store.claimNext((i) => "/ws/" + i.id)) {
  claimed.push(next.incident.id);
  await Bun.sleep(1);
}
store.close();
console.log(JSON.stringify(claimed));
`,
  );
  const children = [0, 1].map(() =>
    Bun.spawn([process.execPath, script, stateDir, dir.path], { stdout: "pipe", stderr: "pipe" }),
  );
  // Both open and ready before either claims, so their claims overlap.
  await waitFor(
    "both claimers ready",
    () => readdirSync(dir.path).filter((f) => f.startsWith("ready-")).length === 2,
  );
  writeFileSync(join(dir.path, "go"), "");
  const results = await Promise.all(
    children.map(async (child) => {
      const [stdout, stderr, code] = await Promise.all([
        new Response(child.stdout).text(),
        new Response(child.stderr).text(),
        child.exited,
      ]);
      expect(stderr).toBe("");
      expect(code).toBe(0);
      return JSON.parse(stdout) as string[];
    }),
  );
  const all = results.flat();
  expect(all.sort()).toEqual([...ids].sort());
  expect(new Set(all).size).toBe(ids.length);
  // Both took part (each claim is one short transaction; they interleave).
  for (const claimed of results) expect(claimed.length).toBeGreaterThan(0);
  expect(store.openRuns()).toHaveLength(ids.length);
  expect(store.list({ status: "running", limit: 1000 })).toHaveLength(ids.length);
});
