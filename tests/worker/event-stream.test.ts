/** The event stream as the SDK gets it from `watchEventStream` (a real SSE server on loopback). */
import { afterAll, expect, test } from "bun:test";
import { watchEventStream } from "../../src/worker/mcp.ts";
import { commentsOnly } from "../../src/worker/wire-bounds.ts";

const encoder = new TextEncoder();
const server = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  fetch: () =>
    new Response(
      ": stream open\n\ndata: one\n\n: keepalive\n\n:a\n:b\n\nid: 7\n\nevent: message\ndata: two\n\n",
      {
        headers: { "content-type": "text/event-stream" },
      },
    ),
});
afterAll(() => server.stop(true));

test("keep-alive comments stop at the edge; every other event reaches the SDK unchanged", async () => {
  const noop = () => {};
  const response = await watchEventStream(noop, noop)(`http://127.0.0.1:${server.port}/`, { method: "GET" });
  expect(await response.text()).toBe("data: one\n\nid: 7\n\nevent: message\ndata: two\n\n");
});

test("commentsOnly: comment lines and blank lines only", () => {
  for (const event of [": keepalive\n\n", "\n", ":a\r\n:b\r\n\r\n", ":\r\r"])
    expect(commentsOnly(encoder.encode(event))).toBe(true);
  for (const event of ["data: x\n\n", ": c\ndata: x\n\n", "id: 1\n\n", "event: message\n\n", "x\n\n"])
    expect(commentsOnly(encoder.encode(event))).toBe(false);
});
