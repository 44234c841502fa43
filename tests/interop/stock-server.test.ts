/**
 * The REAL stock kubernetes-mcp-server binary (npm kubernetes-mcp-server 0.0.67) against a fake Kubernetes
 * API on loopback: what poll mode relies on (PROTOCOL.md §2).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { listedEventToFault, parseEventsList } from "../../src/events/events-list.ts";
import { type FakeKube, startFakeKube } from "../helpers/fake-kube.ts";
import { type StockServer, startStockServer, stockServerAvailable } from "../helpers/stock-server.ts";
import { tempDir } from "../helpers/tmp.ts";

/** The real binary comes from an optional dependency that exists for linux/x64 only; elsewhere these tests skip. */
const binaryInstalled = stockServerAvailable();

const T1 = new Date("2026-11-25T02:54:13.000Z");
const T2 = new Date("2026-11-25T02:55:00.000Z");
const T3 = new Date("2026-11-25T02:56:30.000Z");

/** A stock server with its fake cluster and a connected MCP client. */
interface Rig {
  fake: FakeKube;
  server: StockServer;
  client: Client;
  transport: StreamableHTTPClientTransport;
}

const tmp = tempDir("faultline-stock-");
const rigs: Rig[] = [];

async function startRig(options: {
  allowAccessReviews?: boolean;
  env?: Record<string, string>;
  kubeconfigName: string;
}): Promise<Rig> {
  const fake = await startFakeKube({ allowAccessReviews: options.allowAccessReviews });
  let server: StockServer | undefined;
  try {
    server = await startStockServer(fake.writeKubeconfig(tmp.path, options.kubeconfigName), {
      env: options.env,
    });
    const client = new Client({ name: "faultline-test", version: "0.0.0" });
    const transport = new StreamableHTTPClientTransport(new URL(server.endpoint));
    await client.connect(transport);
    const rig = { fake, server, client, transport };
    rigs.push(rig);
    return rig;
  } catch (error) {
    await server?.stop();
    await fake.stop();
    throw error;
  }
}

/** The one text content of an `events_list` answer (asserting that shape). */
async function eventsList(client: Client, args: Record<string, string> = {}): Promise<string> {
  const result = await client.callTool({ name: "events_list", arguments: args });
  expect(result.isError).toBeFalsy();
  const content = result.content as Array<{ type: string; text?: string }>;
  expect(content).toHaveLength(1);
  expect(content[0]?.type).toBe("text");
  return content[0]?.text ?? "";
}

afterAll(async () => {
  if (!binaryInstalled) return;
  for (const rig of rigs) {
    await rig.transport.terminateSession().catch(() => undefined);
    await rig.client.close().catch(() => undefined);
    await rig.server.stop();
    await rig.fake.stop();
  }
  tmp.cleanup();
});

describe("stock kubernetes-mcp-server 0.0.67", () => {
  let rig: Rig;

  beforeAll(async () => {
    if (!binaryInstalled) return;
    rig = await startRig({ kubeconfigName: "main.kubeconfig" });
  });

  test.skipIf(!binaryInstalled)("initialize: serverInfo and the logging capability", () => {
    expect(rig.client.getServerVersion()).toMatchObject({
      name: "kubernetes-mcp-server",
      version: "v0.0.67",
    });
    expect(rig.client.getServerCapabilities()?.logging).toEqual({});
    // Discovery of the (fake) cluster happened at start-up (group versions are fetched concurrently).
    expect(rig.fake.requests.slice(0, 2)).toEqual(["GET /api?timeout=10s", "GET /apis?timeout=10s"]);
    expect(rig.fake.requests.slice(2, 4).sort()).toEqual([
      "GET /api/v1?timeout=10s",
      "GET /apis/authorization.k8s.io/v1?timeout=10s",
    ]);
  });

  test.skipIf(!binaryInstalled)("has events_list but no events_subscribe", async () => {
    const { tools } = await rig.client.listTools();
    const names = tools.map((tool) => tool.name);
    expect(names).toContain("events_list");
    expect(names).not.toContain("events_subscribe");
    expect(
      Object.keys(tools.find((tool) => tool.name === "events_list")?.inputSchema.properties ?? {}).sort(),
    ).toEqual(["fieldSelector", "namespace"]);
  });

  test.skipIf(!binaryInstalled)(
    "events_subscribe fails with JSON-RPC error -32602 (thrown McpError, not an isError result)",
    async () => {
      const call = rig.client.callTool({ name: "events_subscribe", arguments: { mode: "faults" } });
      const error = await call.then(
        (result) => {
          throw new Error(`expected a rejection, got ${JSON.stringify(result)}`);
        },
        (reason: unknown) => reason,
      );
      expect(error).toBeInstanceOf(McpError);
      expect((error as McpError).code).toBe(ErrorCode.InvalidParams);
      expect((error as McpError).code).toBe(-32602);
      expect((error as McpError).message).toBe('MCP error -32602: unknown tool "events_subscribe"');
      expect((error as McpError).data).toBeUndefined();
      // The session is still usable afterwards.
      await rig.client.ping();
    },
  );

  test.skipIf(!binaryInstalled)(
    "events_list: no events, then the added events; all namespaces or one",
    async () => {
      rig.fake.clearEvents();
      expect(await eventsList(rig.client)).toBe("# No events found");
      expect(rig.fake.requests).toContain("POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews");
      expect(rig.fake.requests.at(-1)).toBe("GET /api/v1/events");

      rig.fake.addEvent({
        namespace: "default",
        kind: "Pod",
        name: "web-1",
        reason: "BackOff",
        message: "Back-off restarting failed container web in pod web-1",
        timestamp: T1,
        count: 3,
      });
      rig.fake.addEvent({
        namespace: "default",
        kind: "Node",
        name: "node-1",
        reason: "NodeNotReady",
        message: "Node node-1 status is now: NodeNotReady",
        type: "Normal",
        timestamp: T2,
      });
      rig.fake.addEvent({
        namespace: "kube-system",
        kind: "Deployment",
        name: "coredns",
        reason: "ProgressDeadlineExceeded",
        message: '  Deployment "coredns" has timed out progressing.\nsecond line: with a colon  ',
        timestamp: T3,
      });

      const text = await eventsList(rig.client);
      expect(text.startsWith("# The following events (YAML format) were found:\n")).toBe(true);
      expect(parseEventsList(text)).toEqual([
        {
          namespace: "default",
          kind: "Pod",
          name: "web-1",
          apiVersion: "v1",
          reason: "BackOff",
          message: "Back-off restarting failed container web in pod web-1",
          type: "Warning",
          timestamp: T1.toISOString(),
        },
        {
          namespace: "default",
          kind: "Node",
          name: "node-1",
          apiVersion: "v1",
          reason: "NodeNotReady",
          message: "Node node-1 status is now: NodeNotReady",
          type: "Normal",
          timestamp: T2.toISOString(),
        },
        {
          namespace: "kube-system",
          kind: "Deployment",
          name: "coredns",
          apiVersion: "apps/v1",
          reason: "ProgressDeadlineExceeded",
          // The server trims messages.
          message: 'Deployment "coredns" has timed out progressing.\nsecond line: with a colon',
          type: "Warning",
          timestamp: T3.toISOString(),
        },
      ]);

      const inNamespace = await eventsList(rig.client, { namespace: "kube-system" });
      expect(rig.fake.requests.at(-1)).toBe("GET /api/v1/namespaces/kube-system/events");
      expect(
        parseEventsList(inNamespace).map((e) => `${e.namespace}/${e.kind}/${e.name}/${e.reason}`),
      ).toEqual(["kube-system/Deployment/coredns/ProgressDeadlineExceeded"]);
      expect(await eventsList(rig.client, { namespace: "empty" })).toBe("# No events found");

      const warnings = await eventsList(rig.client, { fieldSelector: "type=Warning" });
      expect(rig.fake.requests.at(-1)).toBe("GET /api/v1/events?fieldSelector=type%3DWarning");
      expect(parseEventsList(warnings).map((e) => e.name)).toEqual(["web-1", "coredns"]);

      const faults = parseEventsList(text).map((e) => listedEventToFault(e, { name: "c1", labels: {} }));
      expect(faults.map((f) => [f.fault_type, f.severity, f.resource.namespace])).toEqual([
        ["CrashLoop", "warning", "default"],
        ["NodeUnhealthy", "critical", null],
        ["DeploymentFailure", "warning", "kube-system"],
      ]);
    },
  );

  test.skipIf(!binaryInstalled)("a namespace without events (or unknown) is not an error", async () => {
    expect(await eventsList(rig.client, { namespace: "does-not-exist" })).toBe("# No events found");
  });
});

describe("stock kubernetes-mcp-server 0.0.67, other set-ups", () => {
  test.skipIf(!binaryInstalled)(
    "timestamps are in the server's local time zone; the parser honours the offset",
    async () => {
      const rig = await startRig({ kubeconfigName: "tz.kubeconfig", env: { TZ: "Asia/Kolkata" } });
      rig.fake.addEvent({
        namespace: "default",
        kind: "Pod",
        name: "web-1",
        reason: "Failed",
        message: "x",
        timestamp: T1,
      });
      const text = await eventsList(rig.client);
      expect(text).toContain("Timestamp: 2026-11-25 08:24:13 +0530 IST");
      expect(parseEventsList(text)[0]?.timestamp).toBe(T1.toISOString());
    },
  );

  test.skipIf(!binaryInstalled)(
    "without permission to list all namespaces, events_list silently lists the context's namespace",
    async () => {
      const rig = await startRig({ kubeconfigName: "denied.kubeconfig", allowAccessReviews: false });
      rig.fake.addEvent({
        namespace: "default",
        kind: "Pod",
        name: "a",
        reason: "Failed",
        message: "x",
        timestamp: T1,
      });
      rig.fake.addEvent({
        namespace: "prod",
        kind: "Pod",
        name: "b",
        reason: "Failed",
        message: "x",
        timestamp: T1,
      });
      const text = await eventsList(rig.client);
      expect(rig.fake.requests.at(-1)).toBe("GET /api/v1/namespaces/default/events");
      expect(parseEventsList(text).map((e) => e.name)).toEqual(["a"]);
    },
  );

  test.skipIf(!binaryInstalled)(
    "when the cluster is unreachable, events_list answers isError with the reason",
    async () => {
      const rig = await startRig({ kubeconfigName: "gone.kubeconfig" });
      await rig.fake.stop();
      const result = await rig.client.callTool({ name: "events_list", arguments: {} });
      expect(result.isError).toBe(true);
      const content = result.content as Array<{ type: string; text?: string }>;
      expect(content[0]?.text).toMatch(/^failed to list events in all namespaces: .*connection refused/);
    },
  );
});
