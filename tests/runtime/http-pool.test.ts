import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { makeTestCertificates, type TestCertificates } from "../../scripts/certs.ts";
import { startSimulator } from "../../scripts/sim/index.ts";
import { createHttpPool, type HttpPool, PooledFetchError } from "../../src/runtime/http-pool.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir("faultline-http-pool-");
let certs: TestCertificates;
let otherCerts: TestCertificates;
const servers: http.Server[] = [];
const pools: HttpPool[] = [];

beforeAll(() => {
  certs = makeTestCertificates(dir.path, "pool", ["mcp.internal"]);
  otherCerts = makeTestCertificates(dir.path, "other");
});

afterAll(async () => {
  for (const pool of pools) pool.close();
  await Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    ),
  );
  dir.cleanup();
});

function newPool(): HttpPool {
  const pool = createHttpPool();
  pools.push(pool);
  return pool;
}

/** A loopback HTTPS (or HTTP) server counting the connections it accepts. */
interface CountingServer {
  url: string;
  /** TLS handshakes completed (HTTPS) or connections accepted (HTTP). */
  connections(): number;
  server: http.Server;
}

async function startServer(
  handler: http.RequestListener,
  options: { tls?: https.ServerOptions | false } = {},
): Promise<CountingServer> {
  const tls = options.tls === undefined ? { cert: certs.cert, key: certs.key } : options.tls;
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  server.keepAliveTimeout = 60_000;
  let connections = 0;
  server.on(tls ? "secureConnection" : "connection", () => connections++);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `${tls ? "https" : "http"}://127.0.0.1:${port}/mcp`, connections: () => connections, server };
}

/** Answers every POST with the body it received, as JSON. */
const echo: http.RequestListener = (request, response) => {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    response.setHeader("content-type", "application/json");
    response.setHeader("x-echo", ["one", "two"]);
    response.end(JSON.stringify({ method: request.method, body: Buffer.concat(chunks).toString("utf8") }));
  });
};

describe("keep-alive pool", () => {
  test("keeps an idle TLS connection per origin past Bun fetch's 64: 210 origins, no new connection on later rounds", async () => {
    const origins = await Promise.all(Array.from({ length: 210 }, () => startServer(echo)));
    const pool = newPool();
    const fetch = pool.fetchWith({ ca: certs.ca });
    const total = () => origins.reduce((sum, origin) => sum + origin.connections(), 0);
    const round = async () => {
      await Promise.all(
        origins.map(async (origin) => {
          const response = await fetch(origin.url, { method: "POST", body: '{"ping":1}' });
          expect(response.status).toBe(200);
          await response.text();
        }),
      );
      await Bun.sleep(20); // sockets go back to the pool after the response's end
    };
    await round();
    expect(total()).toBe(210);
    expect(pool.stats()).toEqual({ active: 0, idle: 210 });
    await round();
    await round();
    expect(total()).toBe(210); // every later ping reused its origin's idle connection: no handshake
    expect(pool.stats().idle).toBeGreaterThanOrEqual(200);
  });

  test("a connection the server closed while idle is replaced, and the request succeeds", async () => {
    const origin = await startServer(echo);
    const pool = newPool();
    const fetch = pool.fetchWith({ ca: certs.ca });
    await (await fetch(origin.url, { method: "POST", body: "1" })).text();
    await Bun.sleep(20);
    expect(pool.stats().idle).toBe(1);
    origin.server.closeIdleConnections();
    await Bun.sleep(50);
    const response = await fetch(origin.url, { method: "POST", body: "2" });
    expect(await response.json()).toEqual({ method: "POST", body: "2" });
    expect(origin.connections()).toBe(2);
  });

  test("different TLS settings never share a connection; equal ones do", async () => {
    const origin = await startServer(echo);
    const pool = newPool();
    await (await pool.fetchWith({ ca: certs.ca })(origin.url, { method: "POST", body: "a" })).text();
    await Bun.sleep(20);
    await (await pool.fetchWith({ ca: certs.ca })(origin.url, { method: "POST", body: "b" })).text();
    expect(origin.connections()).toBe(1);
    await (await pool.fetchWith({ ca: [certs.ca, otherCerts.ca] })(origin.url, { method: "POST" })).text();
    expect(origin.connections()).toBe(2);
  });
});

describe("TLS per cluster", () => {
  test("each cluster's CA verifies its own server; an unknown CA fails with a certificate error", async () => {
    const first = await startServer(echo);
    const second = await startServer(echo, { tls: { cert: otherCerts.cert, key: otherCerts.key } });
    const pool = newPool();
    const firstFetch = pool.fetchWith({ ca: certs.ca });
    const secondFetch = pool.fetchWith({ ca: otherCerts.ca });
    expect((await firstFetch(first.url, { method: "POST", body: "x" })).status).toBe(200);
    expect((await secondFetch(second.url, { method: "POST", body: "x" })).status).toBe(200);

    const crossed = await firstFetch(second.url, { method: "POST", body: "x" }).catch((error) => error);
    expect(crossed).toBeInstanceOf(PooledFetchError);
    expect(crossed).toBeInstanceOf(TypeError); // what fetch rejects with
    expect(crossed.code).toBe("UNABLE_TO_VERIFY_LEAF_SIGNATURE");
    expect(crossed.message).toContain(`request to ${new URL(second.url).origin} failed`);
    expect(crossed.message).toContain("unable to verify the first certificate");

    const systemRoots = await pool
      .fetchWith()(first.url, { method: "POST", body: "x" })
      .catch((error) => error);
    expect(systemRoots.code).toBe("UNABLE_TO_VERIFY_LEAF_SIGNATURE");
  });

  test("servername is sent and verified instead of the URL host", async () => {
    const origin = await startServer(echo);
    const pool = newPool();
    const named = pool.fetchWith({ ca: certs.ca, servername: "mcp.internal" });
    expect((await named(origin.url, { method: "POST" })).status).toBe(200);
    const wrong = await pool
      .fetchWith({ ca: certs.ca, servername: "wrong.example" })(origin.url, { method: "POST" })
      .catch((error) => error);
    expect(wrong.code).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
  });

  test("rejectUnauthorized: false accepts an unknown CA", async () => {
    const origin = await startServer(echo);
    const insecure = newPool().fetchWith({ rejectUnauthorized: false });
    expect((await insecure(origin.url, { method: "POST" })).status).toBe(200);
  });

  test("a client certificate is presented for mutual TLS", async () => {
    const origin = await startServer(echo, {
      tls: { cert: certs.cert, key: certs.key, ca: certs.ca, requestCert: true, rejectUnauthorized: true },
    });
    const pool = newPool();
    const mutual = pool.fetchWith({ ca: certs.ca, cert: certs.cert, key: certs.key });
    expect((await mutual(origin.url, { method: "POST" })).status).toBe(200);
    const anonymous = await pool
      .fetchWith({ ca: certs.ca })(origin.url, { method: "POST" })
      .then((response) => response.status)
      .catch((error) => error);
    expect(anonymous).toBeInstanceOf(PooledFetchError);
  });
});

describe("fetch semantics the MCP transport relies on", () => {
  test("method, headers, body and status round-trip; repeated headers are kept", async () => {
    const origin = await startServer(echo);
    const fetch = newPool().fetchWith({ ca: certs.ca });
    const response = await fetch(new URL(origin.url), {
      method: "POST",
      headers: { "content-type": "application/json", "mcp-session-id": "s-1" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    });
    expect(response.ok).toBe(true);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(response.headers.get("x-echo")).toBe("one, two");
    expect(await response.json()).toEqual({
      method: "POST",
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    });
    const head = await startServer((_request, reply) => {
      reply.statusCode = 204;
      reply.end();
    });
    const empty = await fetch(head.url, { method: "DELETE" });
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();
  });

  test("a streaming response is readable chunk by chunk while the server holds it open", async () => {
    let finish = () => {};
    const origin = await startServer((_request, reply) => {
      reply.writeHead(200, { "content-type": "text/event-stream" });
      reply.write(": ok\n\n");
      const timer = setTimeout(() => reply.write("data: 1\n\n"), 30);
      finish = () => {
        clearTimeout(timer);
        reply.end();
      };
    });
    const pool = newPool();
    const response = await pool.fetchWith({ ca: certs.ca })(origin.url);
    if (!response.body) throw new Error("no body");
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    expect((await reader.read()).value).toBe(": ok\n\n");
    expect((await reader.read()).value).toBe("data: 1\n\n");
    expect(pool.stats().active).toBe(1);
    finish();
    expect((await reader.read()).done).toBe(true);
  });

  test("aborting ends a pending request and a streaming body", async () => {
    const origin = await startServer((_request, reply) => {
      reply.writeHead(200, { "content-type": "text/event-stream" });
      reply.write(": ok\n\n");
    });
    const fetch = newPool().fetchWith({ ca: certs.ca });
    const controller = new AbortController();
    const response = await fetch(origin.url, { signal: controller.signal });
    if (!response.body) throw new Error("no body");
    const reader = response.body.getReader();
    await reader.read();
    controller.abort();
    await expect(reader.read()).rejects.toThrow();

    const silent = await startServer(() => {}); // never answers
    const late = new AbortController();
    const pending = fetch(silent.url, { signal: late.signal });
    setTimeout(() => late.abort(), 20);
    expect(await pending.catch((error) => error)).toBeInstanceOf(Error);
    const already = await fetch(silent.url, { signal: AbortSignal.abort() }).catch((error) => error);
    expect(already.name).toBe("AbortError");
  });

  test("a refused connection rejects with the origin only: no user-info or query in the message", async () => {
    const origin = await startServer(echo, { tls: false });
    const port = new URL(origin.url).port;
    await new Promise<void>((resolve) => {
      origin.server.close(() => resolve());
      origin.server.closeAllConnections();
    });
    const fetch = newPool().fetchWith();
    const error = await fetch(`http://user:hunter2@127.0.0.1:${port}/mcp?token=abc`).catch((e) => e);
    expect(error).toBeInstanceOf(PooledFetchError);
    expect(error.code).toBe("ECONNREFUSED");
    expect(error.message).toContain(`request to http://127.0.0.1:${port} failed`);
    expect(error.message).not.toContain("hunter2");
    expect(error.message).not.toContain("token=abc");
  });

  test("plain HTTP goes through the pool too", async () => {
    const origin = await startServer(echo, { tls: false });
    const pool = newPool();
    const fetch = pool.fetchWith({ ca: certs.ca }); // TLS settings are ignored for http:
    for (let i = 0; i < 3; i++) {
      await (await fetch(origin.url, { method: "POST", body: String(i) })).text();
      await Bun.sleep(10);
    }
    expect(origin.connections()).toBe(1);
  });
});

test("the MCP SDK's Streamable HTTP transport runs over it: session, tool call, pushed notification on the GET stream", async () => {
  const sim = await startSimulator({ clusters: ["pooled"] });
  const pool = newPool();
  const transport = new StreamableHTTPClientTransport(new URL(sim.endpoint("pooled")), {
    fetch: pool.fetchWith(),
  });
  const client = new Client({ name: "pool-test", version: "0" });
  try {
    const notified = Promise.withResolvers<unknown>();
    client.fallbackNotificationHandler = async (notification) => notified.resolve(notification.params);
    await client.connect(transport);
    await client.setLoggingLevel("debug");
    const result = await client.callTool({ name: "events_subscribe", arguments: { mode: "faults" } });
    expect(result.isError).toBeFalsy();
    await client.ping();
    sim.inject("pooled", { severity: "critical" });
    expect(JSON.stringify(await notified.promise)).toContain("critical");
    expect(pool.stats().active).toBeGreaterThanOrEqual(1); // the standing event stream
  } finally {
    await client.close();
    await sim.stop();
  }
});
