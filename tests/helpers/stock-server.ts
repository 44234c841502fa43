/**
 * Runs the REAL stock kubernetes-mcp-server binary (its npm platform package
 * `kubernetes-mcp-server-<os>-<arch>`, an optional dependency) as a child process serving MCP Streamable HTTP on
 * `http://127.0.0.1:<port>/mcp` (or HTTPS with `tls`). The platform binary is executed directly (not through the package's node
 * wrapper), so the PID is the server's own. It needs a kubeconfig with a current context but no reachable
 * cluster (see fake-kube.ts for one it can talk to).
 */
import { readFileSync } from "node:fs";
import { initializeRequest, mcpPost } from "./mcp.ts";

/** A running stock server. */
export interface StockServer {
  /** `http://127.0.0.1:<port>/mcp`. */
  endpoint: string;
  /** SIGTERM by PID, then SIGKILL after 5 s; resolves when the process has exited. Idempotent. */
  stop(): Promise<void>;
}

/** Options for {@link startStockServer}. */
export interface StockServerOptions {
  /** Extra environment (e.g. `TZ`: the server formats event timestamps in its local time zone). */
  env?: Record<string, string>;
  /** Serve HTTPS (`--tls-cert/--tls-key`); `caFile` is what the start-up probe trusts. */
  tls?: { certFile: string; keyFile: string; caFile: string };
}

const PLATFORMS: Readonly<Record<string, string>> = {
  "linux-x64": "linux-amd64",
  "linux-arm64": "linux-arm64",
  "darwin-x64": "darwin-amd64",
  "darwin-arm64": "darwin-arm64",
  "win32-x64": "windows-amd64",
  "win32-arm64": "windows-arm64",
};

/**
 * True when this platform's kubernetes-mcp-server binary is installed. It comes from the optional
 * dependency `kubernetes-mcp-server-linux-amd64` (the registry here carries 0.0.67 for linux/x64 only);
 * elsewhere the interop tests are skipped.
 */
export function stockServerAvailable(): boolean {
  try {
    stockServerBinary();
    return true;
  } catch {
    return false;
  }
}

/** Absolute path of the platform binary (the npm package `kubernetes-mcp-server-<platform>`). */
function stockServerBinary(): string {
  const platform = PLATFORMS[`${process.platform}-${process.arch}`];
  if (!platform)
    throw new Error(`kubernetes-mcp-server has no binary for ${process.platform}/${process.arch}`);
  const name = `kubernetes-mcp-server-${platform}`;
  const file = `${name}/bin/${name}${process.platform === "win32" ? ".exe" : ""}`;
  try {
    return Bun.resolveSync(file, import.meta.dir);
  } catch {
    throw new Error(`cannot find ${file}: is the optional dependency ${name} installed (npm ci)?`);
  }
}

/** A port that was free a moment ago (bound on 127.0.0.1 port 0, read, released). */
async function freePort(): Promise<number> {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port;
  await probe.stop(true);
  if (port === undefined) throw new Error("could not get a free port");
  return port;
}

/**
 * Starts the binary with `--port <free port> --bind-address 127.0.0.1 --cluster-provider kubeconfig
 * --kubeconfig <kubeconfig>` and waits until `/mcp` answers an MCP `initialize` (that probe session is
 * deleted again). If the process exits before that (e.g. the port was taken meanwhile), retries twice on
 * another port; otherwise throws with its output.
 */
export async function startStockServer(
  kubeconfig: string,
  options: StockServerOptions = {},
): Promise<StockServer> {
  const binary = stockServerBinary();
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(binary, kubeconfig, await freePort(), options);
    } catch (error) {
      lastError = error;
      if (!(error instanceof EarlyExit)) throw error;
    }
  }
  throw lastError;
}

/** The process exited before it answered. */
class EarlyExit extends Error {}

async function startOnce(
  binary: string,
  kubeconfig: string,
  port: number,
  options: StockServerOptions,
): Promise<StockServer> {
  const argv = [
    binary,
    "--port",
    String(port),
    "--bind-address",
    "127.0.0.1",
    "--cluster-provider",
    "kubeconfig",
    "--kubeconfig",
    kubeconfig,
    ...(options.tls ? ["--tls-cert", options.tls.certFile, "--tls-key", options.tls.keyFile] : []),
  ];
  const proc = Bun.spawn(argv, {
    env: { ...process.env, ...options.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const pid = proc.pid;
  let stdout = "";
  let stderr = "";
  const drained = Promise.all([
    (async () => {
      for await (const chunk of proc.stdout.pipeThrough(new TextDecoderStream())) stdout += chunk;
    })(),
    (async () => {
      for await (const chunk of proc.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
    })(),
  ]);
  const logs = () => (stderr ? `${stdout}${stdout.endsWith("\n") || !stdout ? "" : "\n"}${stderr}` : stdout);
  const exited = () => proc.exitCode !== null || proc.signalCode !== null;
  const stop = async () => {
    if (!exited()) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          if (!exited()) process.kill(pid, "SIGKILL");
        } catch {
          // exited meanwhile
        }
      }, 5_000);
      await proc.exited;
      clearTimeout(timer);
    }
    await drained;
  };
  const endpoint = `${options.tls ? "https" : "http"}://127.0.0.1:${port}/mcp`;
  const tls = options.tls ? { ca: readFileSync(options.tls.caFile, "utf8") } : undefined;
  const timeoutMs = 15_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    if (exited()) {
      await stop();
      throw new EarlyExit(
        `kubernetes-mcp-server (pid ${pid}) exited with ${proc.exitCode ?? proc.signalCode} before it answered; output:\n${logs()}`,
      );
    }
    try {
      if (await initializeProbe(endpoint, tls)) break;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `kubernetes-mcp-server (pid ${pid}) did not answer initialize at ${endpoint} within ${timeoutMs} ms${lastError ? ` (last error: ${String(lastError)})` : ""}; output:\n${logs()}`,
      );
    }
    await Bun.sleep(25);
  }
  return { endpoint, stop };
}

/** POSTs an MCP initialize; true when answered with a result (then deletes the probe session). */
async function initializeProbe(endpoint: string, tls?: { ca: string }): Promise<boolean> {
  const response = await mcpPost(endpoint, initializeRequest("probe"), {
    signal: AbortSignal.timeout(2_000),
    ...(tls ? { tls } : {}),
  });
  const body = await response.text();
  if (!response.ok || !body.includes('"result"')) return false;
  const session = response.headers.get("mcp-session-id");
  if (session) {
    await fetch(endpoint, {
      method: "DELETE",
      headers: { "mcp-session-id": session },
      ...(tls ? { tls } : {}),
    }).catch(() => undefined);
  }
  return true;
}
