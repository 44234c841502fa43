/**
 * The bench's simulator process (scripts/bench/sim-process.ts) driven over its JSON lines, as the bench
 * drives it: a command names N clusters from index `from` (the alternating rounds give the baseline
 * clusters of its own); a bad `from` or an unknown command is an error reply, which `request` rejects
 * with the child's name, the command and the reason.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { type JsonLineChild, spawnChild } from "../../scripts/bench/proc.ts";
import { ROOT } from "../../scripts/runtime.ts";
import { initializeRequest, mcpPost } from "../helpers/mcp.ts";

let sim: JsonLineChild;
let endpoints: string[] = [];

/** Opens an MCP session on `endpoint` (an initialize request, as any client's first). */
async function initialize(endpoint: string): Promise<void> {
  const response = await mcpPost(endpoint, initializeRequest("t"));
  expect(response.status).toBe(200);
  await response.text();
}

beforeAll(async () => {
  sim = spawnChild(
    "simulator",
    [process.execPath, join(ROOT, "scripts/bench/sim-process.ts"), "--clusters", "4"],
    {
      stdin: true,
    },
  );
  const ready = await sim.waitForLine("simulator ready", (line) => line.type === "ready", 30_000);
  endpoints = (ready.clusters as Array<{ endpoint: string }>).map((c) => c.endpoint);
});

afterAll(async () => {
  await sim.stop(5000);
});

test("a command over N clusters from index F counts those clusters only", async () => {
  await initialize(endpoints[3] as string);
  expect(await sim.request({ cmd: "stats", clusters: 2, from: 2 }, 10_000)).toMatchObject({ sessions: 1 });
  expect(await sim.request({ cmd: "stats", clusters: 2 }, 10_000)).toMatchObject({ sessions: 0 });
  expect(await sim.request({ cmd: "stats", clusters: 1, from: 3 }, 10_000)).toMatchObject({ sessions: 1 });
  // A burst over them sends every fault (none delivered: the session has no event stream).
  const reply = await sim.request({ cmd: "burst", clusters: 2, from: 2, total: 6, tag: "t" }, 10_000);
  expect(reply).toMatchObject({ sent: 6, delivered: 0 });
  // It collected its garbage first, before the burst's window (which starts at its first send).
  expect(reply.gc_ms).toBeGreaterThanOrEqual(0);
  expect(Number.isFinite(reply.gc_ms)).toBe(true);
});

test("a from outside the simulator's clusters, or not an index, is an error naming it; so is an unknown command", async () => {
  for (const from of [4, -1, 1.5, "2"]) {
    await expect(sim.request({ cmd: "stats", clusters: 1, from }, 10_000)).rejects.toThrow(
      "simulator: stats: from must be an index of the simulator's 4 clusters",
    );
  }
  await expect(sim.request({ cmd: "nope" }, 10_000)).rejects.toThrow("simulator: nope: unknown command nope");
  // Still serving after the errors.
  expect(await sim.request({ cmd: "stats", clusters: 4 }, 10_000)).toHaveProperty("sessions");
});
