/** Backpressure: a held event stream is not read until released (a real SSE server on loopback). */
import { afterAll, expect, test } from "bun:test";
import { Flow } from "../../src/worker/flow.ts";
import { watchEventStream } from "../../src/worker/mcp.ts";
import { waitFor } from "../helpers/wait.ts";

let write: ((text: string) => void) | null = null;
const server = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  idleTimeout: 0,
  fetch: () =>
    new Response(
      new ReadableStream<string>({
        start(controller) {
          write = (text) => controller.enqueue(text);
          controller.enqueue("data: open\n\n"); // comments are not passed on
        },
      }),
      { headers: { "content-type": "text/event-stream" } },
    ),
});
afterAll(() => server.stop(true));

test("while held, nothing more is read from the stream; released, everything arrives in order", async () => {
  const flow = new Flow();
  const noop = () => {};
  const response = await watchEventStream(
    noop,
    noop,
    flow,
  )(`http://127.0.0.1:${server.port}/`, { method: "GET" });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let received = "";
  const reading = (async () => {
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      received += decoder.decode(chunk.value, { stream: true });
    }
  })();
  await waitFor("priming comment", () => received.includes(": open"));
  write?.("data: one\n\n");
  await waitFor("first event", () => received.includes("data: one"));

  flow.hold();
  // The read already waiting when the hold began may still complete with the next chunk…
  write?.("data: two\n\n");
  await Bun.sleep(100);
  // …but nothing after it is read while held.
  write?.("data: three\n\n");
  await Bun.sleep(200);
  expect(received.includes("data: three")).toBe(false);

  flow.release();
  await waitFor("all events after release", () => received.includes("data: three"));
  expect(received.indexOf("data: two")).toBeLessThan(received.indexOf("data: three"));
  await reader.cancel();
  await reading.catch(() => {});
});
