import { afterAll, expect, test } from "bun:test";
import { DEFAULT_LIMITS } from "../../src/config/schema.ts";
import { watchEventStream } from "../../src/worker/mcp.ts";
import type { Refusal } from "../../src/worker/wire-bounds.ts";

/** Answers each POST with the body its path names, as a JSON answer (202 for `/accepted`). */
const deep = `${"[".repeat(DEFAULT_LIMITS.max_event_depth + 1)}1${"]".repeat(DEFAULT_LIMITS.max_event_depth + 1)}`;
const server = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  fetch: (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/accepted") return new Response(null, { status: 202 });
    const body = path === "/deep" ? deep : '{"jsonrpc":"2.0","id":1,"result":{}}';
    return new Response(body, { headers: { "content-type": "application/json", "mcp-session-id": "s1" } });
  },
});
afterAll(() => server.stop(true));

function watched(refused: Refusal[]) {
  return watchEventStream(
    () => {},
    () => {},
    undefined,
    { limits: DEFAULT_LIMITS, onRefused: (reason) => refused.push(reason) },
  );
}

test("a JSON answer within bounds reaches the SDK unchanged, with its status and headers", async () => {
  const refused: Refusal[] = [];
  const response = await watched(refused)(`${server.url}ok`, { method: "POST", body: "{}" });
  expect(response.status).toBe(200);
  expect(response.headers.get("mcp-session-id")).toBe("s1");
  expect(await response.json()).toEqual({ jsonrpc: "2.0", id: 1, result: {} });
  expect(refused).toEqual([]);
});

test("a JSON answer nested too deep fails its request, and the refusal is reported", async () => {
  const refused: Refusal[] = [];
  const sending = watched(refused)(`${server.url}deep`, { method: "POST", body: "{}" });
  await expect(sending).rejects.toThrow("answer refused");
  expect(refused).toEqual(["too_deep"]);
});

test("an accepted notification (202) is passed on without reading its body", async () => {
  const response = await watched([])(`${server.url}accepted`, { method: "POST", body: "{}" });
  expect(response.status).toBe(202);
});
