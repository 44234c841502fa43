/**
 * The events-server simulator against a real MCP SDK client: sessions, log levels, subscriptions,
 * pushed fault notifications, outages (404, connection refused), the stock-server mode, the control
 * API and the CLI.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import {
  type CallToolResult,
  type LoggingLevel,
  type LoggingMessageNotification,
  LoggingMessageNotificationSchema,
  McpError,
} from "@modelcontextprotocol/sdk/types.js";
import { parse as parseYaml } from "yaml";
import {
  EVENT_LOGGER,
  FAULT_LOGGER,
  type SimClusterInfo,
  type SimClusterOptions,
  type Simulator,
  SUBSCRIPTION_ERROR_LOGGER,
  startSimulator,
} from "../../scripts/sim/index.ts";
import { initializeRequest, mcpPost } from "../helpers/mcp.ts";
import { tempDir } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

type LogMessage = LoggingMessageNotification["params"];

/** An SDK client connected to one simulated cluster, with everything it was pushed. */
interface TestClient {
  client: Client;
  transport: StreamableHTTPClientTransport;
  messages: LogMessage[];
  errors: Error[];
}

const cleanups: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  const pending = cleanups.splice(0).reverse();
  for (const cleanup of pending) await cleanup().catch(() => undefined);
});

async function simulator(
  clusters: number | string[] | SimClusterOptions[],
  controlPort?: number,
): Promise<Simulator> {
  const sim = await startSimulator({ clusters, controlPort });
  cleanups.push(() => sim.stop());
  return sim;
}

/**
 * A session on `cluster` opened with raw requests (log level info) and its standalone GET, not awaited
 * (a server holding headers answers it with its first event); aborted at the test's end at the latest.
 */
async function rawStream(sim: Simulator, cluster: string) {
  const endpoint = sim.endpoint(cluster);
  const initialize = await mcpPost(endpoint, initializeRequest("raw"));
  const sessionId = initialize.headers.get("mcp-session-id") ?? "";
  await initialize.text();
  const setLevel = { jsonrpc: "2.0", id: 2, method: "logging/setLevel", params: { level: "info" } };
  await (await mcpPost(endpoint, setLevel, { sessionId })).text();
  const abort = new AbortController();
  cleanups.push(async () => abort.abort());
  const opened = fetch(endpoint, {
    headers: { accept: "text/event-stream", "mcp-session-id": sessionId },
    signal: abort.signal,
  });
  return { endpoint, sessionId, opened, abort };
}

/** Connects a real SDK client; `level` null skips logging/setLevel. Waits for the standalone GET stream. */
async function connect(
  sim: Simulator,
  cluster: string,
  level: LoggingLevel | null = "info",
): Promise<TestClient> {
  const streamsBefore = sim.stats(cluster).streams;
  const client = new Client({ name: "sim-test", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(sim.endpoint(cluster)));
  const messages: LogMessage[] = [];
  const errors: Error[] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
    messages.push(notification.params);
  });
  client.onerror = (error) => errors.push(error);
  cleanups.push(() => client.close());
  await client.connect(transport);
  if (level) await client.setLoggingLevel(level);
  await waitFor(`${cluster} event stream`, () => sim.stats(cluster).streams > streamsBefore, 2000, 5);
  return { client, transport, messages, errors };
}

function textOf(result: unknown): string {
  const content = (result as CallToolResult).content;
  const first = content[0];
  return first?.type === "text" ? first.text : "";
}

/** Subscribes and returns the subscription JSON embedded in the tool's text answer. */
async function subscribe(
  { client }: TestClient,
  args: Record<string, unknown> = { mode: "faults" },
): Promise<Record<string, unknown>> {
  const result = await client.callTool({ name: "events_subscribe", arguments: args });
  expect(result.isError).toBeFalsy();
  const json = textOf(result).match(/\{[\s\S]*\}/)?.[0];
  if (!json) throw new Error(`no JSON in subscribe answer: ${textOf(result)}`);
  return JSON.parse(json) as Record<string, unknown>;
}

async function waitForMessages(client: TestClient, count: number): Promise<LogMessage[]> {
  await waitFor(`${count} notifications`, () => client.messages.length >= count, 2000, 5);
  return client.messages;
}

/** The `data` object of a notification (fails the test when there is none). */
function dataOf(message: LogMessage | undefined): Record<string, unknown> {
  if (typeof message?.data !== "object" || message.data === null)
    throw new Error("notification without data");
  return message.data as Record<string, unknown>;
}

function expectedFaultId(namespace: string, kind: string, name: string, faultType: string): string {
  return createHash("sha256").update(`${namespace}/${kind}/${name}/${faultType}`).digest("hex").slice(0, 16);
}

async function connectionError(url: string): Promise<string | undefined> {
  try {
    await fetch(url, { method: "POST" });
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

describe("events extension server", () => {
  test("pushes flat and nested faults to a faults subscription on the standalone stream", async () => {
    const sim = await simulator([{ name: "east", serverClusterName: "prod-east-1" }, { name: "west" }]);
    const east = await connect(sim, "east");
    const subscription = await subscribe(east);
    expect(subscription).toMatchObject({
      cluster: "prod-east-1",
      mode: "faults",
      filters: {},
      status: "active",
    });
    expect(subscription.subscriptionId).toBeString();
    expect(subscription.createdAt).toBeString();

    expect(sim.inject("east", { name: "web-1", faultType: "CrashLoop", context: "panic: boom" })).toBe(1);
    expect(sim.inject("east", { shape: "nested", name: "api-7", namespace: "prod", reason: "BackOff" })).toBe(
      1,
    );
    const [flat, nested] = await waitForMessages(east, 2);

    expect(flat).toMatchObject({ level: "warning", logger: FAULT_LOGGER });
    expect(flat?.data).toMatchObject({
      faultId: expectedFaultId("default", "Pod", "web-1", "CrashLoop"),
      subscriptionId: subscription.subscriptionId,
      cluster: "prod-east-1",
      faultType: "CrashLoop",
      severity: "warning",
      resource: { apiVersion: "v1", kind: "Pod", name: "web-1", namespace: "default" },
      context: "panic: boom",
    });
    expect(dataOf(flat).timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    expect(nested).toMatchObject({ level: "warning", logger: FAULT_LOGGER });
    expect(nested?.data).toMatchObject({
      subscriptionId: subscription.subscriptionId,
      cluster: "prod-east-1",
      event: {
        namespace: "prod",
        type: "Warning",
        reason: "BackOff",
        involvedObject: { kind: "Pod", name: "api-7", namespace: "prod" },
        count: 1,
      },
      logs: [{ container: "app", previous: true }],
    });
    expect(nested?.data).not.toHaveProperty("faultId");

    // The same fault condition has the same id on another cluster.
    const west = await connect(sim, "west");
    await subscribe(west);
    sim.inject("west", { name: "web-1", faultType: "CrashLoop" });
    const [westFault] = await waitForMessages(west, 1);
    expect(westFault?.data).toMatchObject({
      cluster: "west",
      faultId: dataOf(flat).faultId,
    });
  });

  test("events mode gets raw events, and the namespaces filter applies", async () => {
    const sim = await simulator(["east"]);
    const east = await connect(sim, "east");
    const subscription = await subscribe(east, { mode: "events", namespaces: ["prod"] });
    expect(subscription.filters).toEqual({ namespaces: ["prod"] });

    expect(sim.inject("east", { namespace: "dev", name: "ignored" })).toBe(0);
    expect(sim.inject("east", { namespace: "prod", name: "db-0", faultType: "PodCrash" })).toBe(1);
    const [message] = await waitForMessages(east, 1);
    expect(message?.logger).toBe(EVENT_LOGGER);
    expect(message?.data).toMatchObject({
      subscriptionId: subscription.subscriptionId,
      cluster: "east",
      event: { namespace: "prod", reason: "Failed", involvedObject: { kind: "Pod", name: "db-0" } },
    });
    expect(east.messages).toHaveLength(1);
  });

  test("a session that never set a log level (or set one above warning) gets no events", async () => {
    const sim = await simulator(["east"]);
    const silent = await connect(sim, "east", null);
    const strict = await connect(sim, "east", "error");
    const listening = await connect(sim, "east", "info");
    for (const client of [silent, strict, listening]) await subscribe(client);

    expect(sim.inject("east", { name: "web-1" })).toBe(1);
    await waitForMessages(listening, 1);
    await Bun.sleep(50);
    expect(silent.messages).toEqual([]);
    expect(strict.messages).toEqual([]);
    expect(sim.stats("east")).toMatchObject({
      sessions: 3,
      subscriptions: 3,
      setLevelCalls: 2,
      delivered: 1,
    });
  });

  test("subscription errors, foreign loggers and malformed payloads reach the client", async () => {
    const sim = await simulator(["east"]);
    const east = await connect(sim, "east");
    const { subscriptionId } = await subscribe(east);

    expect(sim.subscriptionError("east", "watch failed: forbidden")).toBe(1);
    expect(sim.injectRaw("east", "kubernetes/other", { hello: "world" })).toBe(1);
    expect(sim.injectRaw("east", FAULT_LOGGER, "not an object")).toBe(1);
    const [subscriptionError, other, garbage] = await waitForMessages(east, 3);
    expect(subscriptionError).toEqual({
      level: "error",
      logger: SUBSCRIPTION_ERROR_LOGGER,
      data: { subscriptionId, cluster: "east", error: "watch failed: forbidden", degraded: true },
    });
    expect(other).toMatchObject({ logger: "kubernetes/other", data: { hello: "world" } });
    expect(garbage).toMatchObject({ logger: FAULT_LOGGER, data: "not an object" });
  });

  test("enforces 10 subscriptions per session and 100 per server", async () => {
    const sim = await simulator(["east"]);
    const clients = await Promise.all(Array.from({ length: 11 }, () => connect(sim, "east")));
    const [first, ...others] = clients;
    if (!first) throw new Error("no client");
    for (let index = 0; index < 10; index++) await subscribe(first);
    const perSession = await first.client.callTool({
      name: "events_subscribe",
      arguments: { mode: "faults" },
    });
    expect(perSession.isError).toBe(true);
    expect(textOf(perSession)).toContain("per session");

    for (const client of others.slice(0, 9)) {
      for (let index = 0; index < 10; index++) await subscribe(client);
    }
    expect(sim.stats("east").subscriptions).toBe(100);
    const perServer = await others[9]?.client.callTool({
      name: "events_subscribe",
      arguments: { mode: "faults" },
    });
    expect(perServer?.isError).toBe(true);
    expect(textOf(perServer)).toContain("per server");
  });

  test("events_unsubscribe is idempotent and stops delivery", async () => {
    const sim = await simulator(["east"]);
    const east = await connect(sim, "east");
    const { subscriptionId } = await subscribe(east);
    for (let attempt = 0; attempt < 2; attempt++) {
      const result = await east.client.callTool({
        name: "events_unsubscribe",
        arguments: { subscriptionId },
      });
      expect(result.isError).toBeFalsy();
    }
    expect(sim.stats("east")).toMatchObject({ subscriptions: 0, subscribeCalls: 1, unsubscribeCalls: 2 });
    expect(sim.inject("east")).toBe(0);
  });

  test("rejects a subscription with an invalid mode", async () => {
    const sim = await simulator(["east"]);
    const east = await connect(sim, "east");
    const result = await east.client.callTool({
      name: "events_subscribe",
      arguments: { mode: "everything" },
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain("mode");
  });

  test("answers the standalone GET at once (headers flushed before any event)", async () => {
    const sim = await simulator(["east"]);
    const east = await connect(sim, "east");
    await east.transport.terminateSession();
    const endpoint = sim.endpoint("east");
    const initialize = await mcpPost(endpoint, initializeRequest("raw"));
    const sessionId = initialize.headers.get("mcp-session-id") ?? "";
    await initialize.text();
    const abort = new AbortController();
    cleanups.push(async () => abort.abort());
    const stream = await Promise.race([
      fetch(endpoint, {
        headers: { accept: "text/event-stream", "mcp-session-id": sessionId },
        signal: abort.signal,
      }),
      Bun.sleep(1000).then(() => null),
    ]);
    expect(stream?.status).toBe(200);
    expect(stream?.headers.get("content-type")).toBe("text/event-stream");
    expect(sim.stats("east").streams).toBe(1);
    abort.abort();
    await waitFor("stream closed", () => sim.stats("east").streams === 0, 2000, 5);
  });

  test("a notification goes onto the stream in the very bytes the SDK's transport writes for it", async () => {
    const sim = await simulator(["east"]);
    const { opened, abort } = await rawStream(sim, "east");
    const stream = await opened;
    const data = { probe: "ü", n: [1, { a: null }] };
    expect(sim.injectRaw("east", "kubernetes/faults", data)).toBe(1);
    const reader = stream.body?.getReader();
    let text = "";
    while (!text.endsWith("\n\n") || text === ": stream open\n\n") {
      const chunk = await reader?.read();
      if (!chunk || chunk.done) break;
      text += new TextDecoder().decode(chunk.value, { stream: true });
    }
    // What the SDK's own transport writes for the notification its Server builds (method, params, jsonrpc).
    const message = {
      method: "notifications/message",
      params: { level: "warning", logger: "kubernetes/faults", data },
      jsonrpc: "2.0",
    };
    const written: Uint8Array[] = [];
    const sdk = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    (sdk as unknown as { writeSSEEvent(c: unknown, e: TextEncoder, m: unknown): boolean }).writeSSEEvent(
      { enqueue: (bytes: Uint8Array) => written.push(bytes) },
      new TextEncoder(),
      message,
    );
    expect(written).toHaveLength(1);
    expect(text).toBe(`: stream open\n\n${new TextDecoder().decode(written[0])}`);
    expect(text).toBe(`: stream open\n\nevent: message\ndata: ${JSON.stringify(message)}\n\n`);
    await reader?.cancel();
    abort.abort();
  });

  test("holdHeaders: the standalone GET is answered with its first event, not before", async () => {
    const sim = await simulator([{ name: "east", holdHeaders: true }]);
    const { endpoint, sessionId, opened, abort } = await rawStream(sim, "east");
    const early = await Promise.race([opened, Bun.sleep(500).then(() => null)]);
    expect(early).toBeNull();
    expect(sim.stats("east").streams).toBe(1); // the server holds the stream: events go onto it
    expect(sim.injectRaw("east", "kubernetes/faults", { probe: 1 })).toBe(1);
    const stream = await Promise.race([opened, Bun.sleep(2000).then(() => null)]);
    expect(stream?.status).toBe(200);
    const reader = stream?.body?.getReader();
    const first = new TextDecoder().decode((await reader?.read())?.value);
    expect(first).toContain('"probe":1');
    expect(first).not.toContain(": stream open");
    // Switched back: streams opened from now on flush their headers at once.
    sim.setHoldHeaders("east", false);
    await reader?.cancel();
    const again = await Promise.race([
      fetch(endpoint, { headers: { accept: "text/event-stream", "mcp-session-id": sessionId } }),
      Bun.sleep(1000).then(() => null),
    ]);
    expect(again?.status).toBe(200);
    await again?.body?.cancel();
    abort.abort();
  });

  test("HTTP DELETE closes the session and its subscriptions", async () => {
    const sim = await simulator(["east"]);
    const east = await connect(sim, "east");
    await subscribe(east);
    const sessionId = east.transport.sessionId;
    await east.transport.terminateSession();
    expect(sim.stats("east")).toMatchObject({ sessions: 0, subscriptions: 0, deletes: 1 });
    const response = await mcpPost(
      sim.endpoint("east"),
      { jsonrpc: "2.0", id: 1, method: "ping" },
      { sessionId: sessionId ?? "" },
    );
    expect(response.status).toBe(404);
  });
});

describe("outages", () => {
  test("dropSessions: the next request fails with HTTP 404, a new session works", async () => {
    const sim = await simulator(["east"]);
    const east = await connect(sim, "east");
    await subscribe(east);
    sim.dropSessions("east");
    expect(sim.stats("east")).toMatchObject({ up: true, sessions: 0, subscriptions: 0 });

    const failure = await east.client.listTools().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StreamableHTTPError);
    expect((failure as StreamableHTTPError).code).toBe(404);

    const again = await connect(sim, "east");
    await subscribe(again);
    expect(sim.inject("east")).toBe(1);
    await waitForMessages(again, 1);
  });

  test("down refuses connections; up serves fresh sessions on the same URL", async () => {
    const sim = await simulator(["east"]);
    const endpoint = sim.endpoint("east");
    const east = await connect(sim, "east");
    await subscribe(east);

    await sim.down("east");
    expect(sim.stats("east")).toMatchObject({ up: false, sessions: 0 });
    expect(await connectionError(endpoint)).toBe("ECONNREFUSED");
    await waitFor("event stream broken", () => east.errors.length > 0, 2000, 5);
    expect(sim.inject("east")).toBe(0);

    await sim.up("east");
    expect(sim.endpoint("east")).toBe(endpoint);
    const failure = await east.client.listTools().catch((error: unknown) => error);
    expect((failure as StreamableHTTPError).code).toBe(404);

    const restarted = await connect(sim, "east");
    await subscribe(restarted);
    expect(sim.inject("east")).toBe(1);
    await waitForMessages(restarted, 1);
  });
});

describe("stock server (eventsSubscribe: false)", () => {
  test("has no events_subscribe tool, and events_list lists injected events as YAML", async () => {
    const sim = await simulator([{ name: "old", eventsSubscribe: false }]);
    const old = await connect(sim, "old");
    const { tools } = await old.client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual(["events_list"]);

    const failure = await old.client
      .callTool({ name: "events_subscribe", arguments: { mode: "faults" } })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(McpError);
    expect((failure as McpError).code).toBe(-32602);
    expect((failure as McpError).message).toBe('MCP error -32602: unknown tool "events_subscribe"');

    expect(textOf(await old.client.callTool({ name: "events_list", arguments: {} }))).toBe(
      "# No events found",
    );

    sim.inject("old", { name: "web-1", message: "Back-off restarting", timestamp: "2026-11-25T02:54:13Z" });
    sim.inject("old", { faultType: "DeploymentFailure", name: "api", namespace: "prod" });
    const listed = textOf(await old.client.callTool({ name: "events_list", arguments: {} }));
    const header = "# The following events (YAML format) were found:\n";
    expect(listed.startsWith(header)).toBe(true);
    expect(parseYaml(listed.slice(header.length))).toEqual([
      {
        InvolvedObject: { Kind: "Pod", Name: "web-1", apiVersion: "v1" },
        Message: "Back-off restarting",
        Namespace: "default",
        Reason: "BackOff",
        Timestamp: "2026-11-25 02:54:13 +0000 UTC",
        Type: "Warning",
      },
      expect.objectContaining({
        InvolvedObject: { Kind: "Deployment", Name: "api", apiVersion: "apps/v1" },
        Namespace: "prod",
        Reason: "ProgressDeadlineExceeded",
      }),
    ]);

    const prodOnly = textOf(
      await old.client.callTool({ name: "events_list", arguments: { namespace: "prod" } }),
    );
    expect(parseYaml(prodOnly.slice(header.length))).toHaveLength(1);
  });
});

describe("eventsFile", () => {
  test("a simulator made again on the same file still lists the events recorded before (repeats counted once)", async () => {
    const dir = tempDir("faultline-sim-events-");
    cleanups.push(async () => dir.cleanup());
    const eventsFile = join(dir.path, "kept.jsonl");
    const first = await simulator([{ name: "kept", eventsSubscribe: false, eventsFile }]);
    first.inject("kept", {
      name: "web-1",
      message: "Back-off restarting",
      timestamp: "2026-11-25T02:54:13Z",
    });
    first.inject("kept", {
      name: "web-1",
      message: "Back-off restarting",
      timestamp: "2026-11-25T02:54:20Z",
    });
    await first.stop();
    const second = await simulator([{ name: "kept", eventsSubscribe: false, eventsFile }]);
    const listed = textOf(
      await (await connect(second, "kept")).client.callTool({ name: "events_list", arguments: {} }),
    );
    expect(parseYaml(listed.slice(listed.indexOf("\n") + 1))).toEqual([
      expect.objectContaining({
        InvolvedObject: expect.objectContaining({ Name: "web-1" }),
        Timestamp: "2026-11-25 02:54:20 +0000 UTC",
      }),
    ]);
    // Without the file, a new simulator starts empty.
    const fresh = await simulator([{ name: "kept", eventsSubscribe: false }]);
    expect(
      textOf(await (await connect(fresh, "kept")).client.callTool({ name: "events_list", arguments: {} })),
    ).toBe("# No events found");
  });
});

describe("control API", () => {
  test("lists clusters and injects, errors, drops, stops and restarts them", async () => {
    const sim = await simulator(["east", "west"], 0);
    const control = sim.controlUrl ?? "";
    expect(control).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const post = (path: string, body?: unknown) =>
      fetch(`${control}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });

    const listed = (await (await fetch(`${control}/clusters`)).json()) as { clusters: SimClusterInfo[] };
    expect(listed.clusters).toEqual([
      { name: "east", endpoint: sim.endpoint("east"), stats: sim.stats("east") },
      { name: "west", endpoint: sim.endpoint("west"), stats: sim.stats("west") },
    ]);

    const east = await connect(sim, "east");
    await subscribe(east);
    const injected = await post("/clusters/east/faults", {
      count: 3,
      namespace: "prod",
      severity: "critical",
    });
    expect(await injected.json()).toEqual({ injected: 3, delivered: 3 });
    const faults = await waitForMessages(east, 3);
    const names = faults.map((message) => (message.data as { resource: { name: string } }).resource.name);
    expect(new Set(names).size).toBe(3);
    expect(await (await post("/clusters/east/faults")).json()).toEqual({ injected: 1, delivered: 1 });

    expect(await (await post("/clusters/east/subscription-error", { error: "watch failed" })).json()).toEqual(
      {
        delivered: 1,
      },
    );
    expect(await (await post("/clusters/east/raw", { logger: "kubernetes/other", data: 1 })).json()).toEqual({
      delivered: 1,
    });

    const badBody = await post("/clusters/east/faults", { severity: "extreme" });
    expect(badBody.status).toBe(400);
    expect(((await badBody.json()) as { error: string }).error).toContain("severity");
    const notJson = await fetch(`${control}/clusters/east/faults`, { method: "POST", body: "{" });
    expect(notJson.status).toBe(400);
    expect((await post("/clusters/east/subscription-error", {})).status).toBe(400);
    const unknown = await post("/clusters/nowhere/faults", {});
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: "unknown cluster: nowhere" });

    expect((await post("/clusters/east/drop-sessions")).status).toBe(200);
    expect(sim.stats("east").sessions).toBe(0);
    expect((await post("/clusters/west/down")).status).toBe(200);
    expect(await connectionError(sim.endpoint("west"))).toBe("ECONNREFUSED");
    expect((await post("/clusters/west/up")).status).toBe(200);
    expect(sim.stats("west").up).toBe(true);
    await connect(sim, "west");
  });
});

describe("hostile payloads", () => {
  test("go onto the stream verbatim, whole, between the SDK's own messages", async () => {
    const sim = await simulator(["east"], 0);
    const east = await connect(sim, "east");
    await subscribe(east);
    const post = (body: unknown) =>
      fetch(`${sim.controlUrl}/clusters/east/hostile`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const huge = post({ kind: "huge", bytes: 3 * 1024 * 1024 });
    for (let i = 0; i < 20; i++) {
      sim.inject("east", { name: `between-${i}` }); // held while the huge payload is being written
      await Bun.sleep(1);
    }
    expect(await (await huge).json()).toEqual({ delivered: 1 });
    expect(await (await post({ kind: "deep", depth: 50 })).json()).toEqual({ delivered: 1 });
    await waitForMessages(east, 22);
    expect(east.errors).toEqual([]);
    const contexts = east.messages.map((m) => String(dataOf(m).context ?? ""));
    expect(contexts.filter((c) => c.length === 3 * 1024 * 1024)).toHaveLength(1);
    const deep = east.messages.at(-1);
    let nested: unknown = dataOf(deep).nested;
    let depth = 0;
    while (typeof nested === "object" && nested !== null) {
      nested = (nested as { a: unknown }).a;
      depth++;
    }
    expect(depth).toBe(50);
    expect(await (await post({ kind: "garbage", text: "not json" })).json()).toEqual({ delivered: 1 });
    await waitFor("parse error", () => east.errors.some((e) => e.name === "SyntaxError"), 2000, 5);
    expect((await post({ kind: "line" })).status).toBe(400);
  });
});

describe("scale and CLI", () => {
  test("200 clusters start and stop quickly, each on its own port", async () => {
    const started = performance.now();
    const sim = await startSimulator({ clusters: 200 });
    cleanups.push(() => sim.stop());
    const ports = new Set(sim.clusters.map((name) => new URL(sim.endpoint(name)).port));
    expect(ports.size).toBe(200);
    const statuses = await Promise.all(
      sim.clusters.map(async (name) => (await fetch(sim.endpoint(name), { method: "GET" })).status),
    );
    expect(statuses.every((status) => status === 400)).toBe(true);
    await sim.stop();
    expect(performance.now() - started).toBeLessThan(3000);
    expect(await connectionError(sim.endpoint("cluster-200"))).toBe("ECONNREFUSED");
  });

  test("the CLI prints its endpoints as one JSON line and exits cleanly on SIGTERM", async () => {
    const child = Bun.spawn([process.execPath, "scripts/sim.ts", "--names", "a,b", "--stock", "b"], {
      cwd: `${import.meta.dir}/../..`,
      stdout: "pipe",
      stderr: "pipe",
    });
    cleanups.push(async () => {
      if (child.exitCode === null) child.kill("SIGKILL");
      await child.exited;
    });
    const reader = child.stdout.getReader();
    let text = "";
    while (!text.includes("\n")) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
    }
    reader.releaseLock();
    const line = JSON.parse(text.trim()) as {
      control: string;
      clusters: { name: string; endpoint: string }[];
    };
    expect(line.clusters.map((cluster) => cluster.name)).toEqual(["a", "b"]);
    expect(line.control).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const listed = (await (await fetch(`${line.control}/clusters`)).json()) as { clusters: unknown[] };
    expect(listed.clusters).toHaveLength(2);

    child.kill("SIGTERM");
    expect(await child.exited).toBe(0);
    expect(await connectionError(line.clusters[0]?.endpoint ?? "")).toBe("ECONNREFUSED");
  });

  test("--ports puts each cluster on its given port (a restarted simulator keeps its endpoints); a count mismatch is refused", async () => {
    const taken = await simulator(2);
    const ports = taken.clusters.map((name) => new URL(taken.endpoint(name)).port);
    await taken.stop(); // the ports are free again, as after a simulator process was killed
    const argv = [process.execPath, "scripts/sim.ts", "--names", "a,b", "--ports", ports.join(",")];
    const child = Bun.spawn(argv, { cwd: `${import.meta.dir}/../..`, stdout: "pipe", stderr: "pipe" });
    cleanups.push(async () => {
      if (child.exitCode === null) child.kill("SIGKILL");
      await child.exited;
    });
    let text = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      if (text.includes("\n")) break;
    }
    const line = JSON.parse(text.trim()) as { clusters: { name: string; endpoint: string }[] };
    expect(line.clusters.map((cluster) => new URL(cluster.endpoint).port)).toEqual(ports);
    expect((await fetch(line.clusters[1]?.endpoint ?? "", { method: "GET" })).status).toBe(400);
    child.kill("SIGTERM");
    expect(await child.exited).toBe(0);

    const mismatch = Bun.spawnSync(
      [process.execPath, "scripts/sim.ts", "--names", "a,b", "--ports", "4000"],
      {
        cwd: `${import.meta.dir}/../..`,
      },
    );
    expect(mismatch.exitCode).toBe(2);
    expect(mismatch.stderr.toString()).toContain("--ports lists 1 ports for 2 clusters");
  });
});
