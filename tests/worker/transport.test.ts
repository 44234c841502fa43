/**
 * The per-cluster transport without a server: what every request gets (headers, the bearer token,
 * TLS options), the token file read again for each connection attempt, refusals named by field.
 */
import { afterAll, describe, expect, test } from "bun:test";
import type { PoolTls } from "../../src/runtime/http-pool.ts";
import type { ClusterSpec } from "../../src/worker/protocol.ts";
import {
  CredentialFileError,
  credentialsRefused,
  insecureWarning,
  openClusterTransport,
  type SendWith,
} from "../../src/worker/transport.ts";
import { tempDir, writeFile } from "../helpers/tmp.ts";

const dir = tempDir("faultline-transport-");
afterAll(dir.cleanup);

/** A self-signed test CA certificate (parsed, never used to connect). */
const PEM = `-----BEGIN CERTIFICATE-----
MIIBmjCCAT+gAwIBAgIUNjCRoEyy/Yv+cYcOn2XlI/bmNrIwCgYIKoZIzj0EAwIw
ITEfMB0GA1UEAwwWZmF1bHRsaW5lIHVuaXQtdGVzdCBDQTAgFw0yNjExMjYxODI1
MzBaGA8yMTI2MTEwMjE4MjUzMFowITEfMB0GA1UEAwwWZmF1bHRsaW5lIHVuaXQt
dGVzdCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABIN5x0yxqemhhPQ5pEFR
NWWs4GHxcNvMvXchOLEHjo1l2ZT5fM0r7VcpQzy22I86eVIegtJC3rIavVs6/K8c
4mGjUzBRMB0GA1UdDgQWBBQibxZ+m/KZ6tFnO+jMGw2RCWvSKDAfBgNVHSMEGDAW
gBQibxZ+m/KZ6tFnO+jMGw2RCWvSKDAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49
BAMCA0kAMEYCIQCDrdMWKQ2ngQGvcZlzYNBgPIPYMzkEXDxHm0HhvAxXuAIhALP3
MjBb4JH/2TfYPs16XVL2zopJjYJ7AgY7UXX68pOD
-----END CERTIFICATE-----
`;

function spec(extra: Partial<ClusterSpec> = {}): ClusterSpec {
  return {
    name: "c",
    labels: {},
    config_path: "clusters[3]",
    mcp_endpoint: "https://mcp.example/mcp",
    ...extra,
  };
}

/** A SendWith that records the TLS settings and each request it was given, and answers `status`. */
function recorder(status = 200) {
  const sent: Array<{ url: string; headers: Headers; tls: PoolTls }> = [];
  const send: SendWith = (tls) => async (url, init) => {
    sent.push({ url: String(url), headers: new Headers(init?.headers), tls });
    return new Response("{}", { status });
  };
  return { sent, send };
}

describe("openClusterTransport", () => {
  test("headers, the bearer token and the SDK's own headers go out together; no TLS options unless configured", async () => {
    const { sent, send } = recorder();
    const transport = openClusterTransport(
      spec({ auth: { bearer_token: "tok-1" }, headers: { "X-Tenant": "platform" } }),
      undefined,
      send,
    );
    await transport.fetch()("https://mcp.example/mcp", {
      method: "POST",
      headers: { accept: "text/event-stream" },
    });
    expect(sent[0]?.headers.get("authorization")).toBe("Bearer tok-1");
    expect(sent[0]?.headers.get("x-tenant")).toBe("platform");
    expect(sent[0]?.headers.get("accept")).toBe("text/event-stream");
    expect(sent[0]?.tls).toEqual({});
  });

  test("the token file is read for each connection attempt (rotation) and joins the scrubber", async () => {
    const file = writeFile(dir.path, "token", "first-token\n");
    const { sent, send } = recorder();
    const cluster = spec({ auth: { bearer_token_file: file } });
    const first = openClusterTransport(cluster, undefined, send);
    writeFile(dir.path, "token", "second-token\n");
    await first.fetch()("https://mcp.example/mcp", {});
    const second = openClusterTransport(cluster, undefined, send);
    await second.fetch()("https://mcp.example/mcp", {});
    expect(sent.map((s) => s.headers.get("authorization"))).toEqual([
      "Bearer first-token",
      "Bearer second-token",
    ]);
    expect(second.scrubber.scrub("got second-token")).toBe("got ***");
  });

  test("TLS settings become the pool's TLS options", async () => {
    const ca = writeFile(dir.path, "ca.pem", PEM);
    const { sent, send } = recorder();
    const transport = openClusterTransport(
      spec({ tls: { ca_file: ca, server_name: "mcp.internal", insecure_skip_verify: true } }),
      undefined,
      send,
    );
    await transport.fetch()("https://mcp.example/mcp", {});
    expect(sent[0]?.tls).toEqual({ ca: PEM, servername: "mcp.internal", rejectUnauthorized: false });
  });

  test("an unusable file fails the attempt naming the field", () => {
    expect(() => openClusterTransport(spec({ auth: { bearer_token_file: `${dir.path}/absent` } }))).toThrow(
      new CredentialFileError(
        "clusters[3].auth.bearer_token_file",
        new Error(`cannot read "${dir.path}/absent": no such file`),
      ),
    );
  });

  test("401 and 403 are reported through onRefused, naming the credentials' field", async () => {
    const reasons: string[] = [];
    for (const status of [401, 403, 200]) {
      const { send } = recorder(status);
      const transport = openClusterTransport(spec({ auth: { bearer_token: "x-token" } }), undefined, send);
      await transport.fetch({ onRefused: (why) => reasons.push(why) })("https://mcp.example/mcp", {});
    }
    expect(reasons).toEqual([
      "credentials refused by https://mcp.example/mcp (HTTP 401 Unauthorized): check clusters[3].auth.bearer_token",
      "credentials refused by https://mcp.example/mcp (HTTP 403 Forbidden): check clusters[3].auth.bearer_token",
    ]);
  });
});

test("refusals and warnings name the field where the credentials are: per cluster or at top level", () => {
  const single = { config_path: undefined };
  expect(credentialsRefused(spec({ ...single }), "https://mcp.example/mcp", 401)).toBe(
    "https://mcp.example/mcp requires credentials (HTTP 401 Unauthorized): set auth.bearer_token or auth.bearer_token_file",
  );
  expect(credentialsRefused(spec({ headers: { Authorization: "ApiKey k" } }), "E", 403)).toBe(
    "credentials refused by E (HTTP 403 Forbidden): check clusters[3].headers.Authorization",
  );
  expect(credentialsRefused(spec({ mcp_endpoint: "https://u:p@h/mcp" }), "https://***:***@h/mcp", 401)).toBe(
    "credentials refused by https://***:***@h/mcp (HTTP 401 Unauthorized): check clusters[3].mcp_endpoint",
  );
  expect(insecureWarning(spec({ ...single, tls: { insecure_skip_verify: true } }))).toStartWith(
    "tls.insecure_skip_verify is true",
  );
  expect(insecureWarning(spec({ tls: { insecure_skip_verify: false } }))).toBeNull();
});
