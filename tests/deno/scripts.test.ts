/**
 * The scripts under Deno (`deno run -A`, the npm-installed binary): the simulator serves MCP to a real SDK
 * client and obeys its control API, and the benchmark runs the baseline under Deno (`--runtime deno`).
 * These need no more than the `deno` devDependency.
 */
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  type LoggingMessageNotification,
  LoggingMessageNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { ROOT, scriptCommand } from "../../scripts/runtime.ts";
import { FAULT_LOGGER } from "../../scripts/sim/index.ts";
import { type FaultlineProcess, runToEnd, startProcess } from "../helpers/process.ts";
import { waitFor } from "../helpers/wait.ts";

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

/** `deno run -A scripts/sim.ts …` until its JSON line; stopped after the test. */
async function denoSimulator(
  args: string[],
): Promise<{ proc: FaultlineProcess; control: string; endpoints: Record<string, string> }> {
  const proc = startProcess([...scriptCommand("deno", join(ROOT, "scripts", "sim.ts")), ...args]);
  cleanups.push(() => proc.stop("SIGKILL"));
  const line = await proc.waitForLog(
    "the simulator's JSON line",
    (l) => typeof l.control === "string",
    60_000,
  );
  const clusters = line.clusters as Array<{ name: string; endpoint: string }>;
  return {
    proc,
    control: String(line.control),
    endpoints: Object.fromEntries(clusters.map((c) => [c.name, c.endpoint])),
  };
}

/** A real SDK client subscribed to faults at `endpoint`, collecting what it is pushed. */
async function subscribedClient(endpoint: string): Promise<LoggingMessageNotification["params"][]> {
  const client = new Client({ name: "deno-sim-test", version: "1.0.0" });
  cleanups.push(() => client.close());
  const messages: LoggingMessageNotification["params"][] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    messages.push(n.params);
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(endpoint)));
  await client.setLoggingLevel("info");
  const result = await client.callTool({ name: "events_subscribe", arguments: { mode: "faults" } });
  expect(result.isError).toBeFalsy();
  return messages;
}

const post = (url: string, body?: unknown) =>
  fetch(url, {
    method: "POST",
    ...(body === undefined
      ? {}
      : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  });

test("the simulator under Deno: faults injected over the control API reach an SDK client; down refuses connections, up serves again; SIGTERM exits 0", async () => {
  const sim = await denoSimulator(["--names", "east,west", "--control-port", "0"]);
  const east = sim.endpoints.east ?? "";
  const messages = await subscribedClient(east);
  await waitFor(
    "east's event stream",
    async () => {
      const info = (await (await fetch(`${sim.control}/clusters/east`)).json()) as {
        stats: { streams: number };
      };
      return info.stats.streams === 1;
    },
    5000,
  );

  const injected = await post(`${sim.control}/clusters/east/faults`, {
    faultType: "CrashLoop",
    name: "deno-pod",
  });
  expect(await injected.json()).toEqual({ injected: 1, delivered: 1 });
  const [message] = await waitFor("the pushed fault", () => (messages.length > 0 ? messages : null), 5000);
  expect(message?.logger).toBe(FAULT_LOGGER);
  expect(message?.data).toMatchObject({ cluster: "east", faultType: "CrashLoop" });

  expect((await post(`${sim.control}/clusters/east/down`)).status).toBe(200);
  const refused = await fetch(east, { method: "POST" }).then(
    () => "answered",
    (error: { code?: string }) => error.code,
  );
  expect(refused).toBe("ECONNREFUSED");
  expect((await post(`${sim.control}/clusters/east/up`)).status).toBe(200);
  await subscribedClient(east);

  expect(await sim.proc.stop("SIGTERM")).toBe(0);
}, 90_000);

test("bench --runtime deno runs the baseline under Deno against the Bun simulator", async () => {
  const bench = await runToEnd(
    [
      ...scriptCommand("bun", join(ROOT, "scripts", "bench.ts")),
      ...["--sizes", "3", "--quick", "--only", "baseline", "--runtime", "deno"],
      ...["--burst", "300", "--rate", "200", "--seconds", "1"],
    ],
    ROOT,
  );
  expect(bench.stderr).not.toContain("failed");
  expect(bench.code).toBe(0);
  expect(bench.stdout).toMatch(/faultline and the baseline on deno \d+\.\d+\.\d+/);
  expect(bench.stdout).toContain("baseline: burst 300/300");
  expect(bench.stdout).toMatch(/RSS once all active \(MB\) +— +\d+\.\d/);
}, 120_000);
