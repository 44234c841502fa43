import { describe, expect, test } from "bun:test";
import { boundSseStream, DepthScanner, type Refusal, readBoundedJson } from "../../src/worker/wire-bounds.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A stream of `chunks` (strings encoded as UTF-8). */
function streamOf(chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks)
        controller.enqueue(typeof chunk === "string" ? encoder.encode(chunk) : chunk);
      controller.close();
    },
  });
}

/** Everything an SSE body bounded by `maxBytes`/`maxDepth` lets through, and what it refused. */
async function throughSse(
  chunks: (string | Uint8Array)[],
  maxBytes = 100,
  maxDepth = 4,
): Promise<{ text: string; refused: Refusal[] }> {
  const refused: Refusal[] = [];
  const body = boundSseStream(streamOf(chunks), { maxBytes, maxDepth }, (reason) => refused.push(reason));
  return { text: await new Response(body).text(), refused };
}

describe("DepthScanner", () => {
  test("follows nesting across pieces and ignores brackets in strings", () => {
    const scanner = new DepthScanner(3);
    expect(scanner.feed(encoder.encode('{"a":[{"b":"[[[[{{{{\\"]]"'))).toBe(false);
    expect(scanner.feed(encoder.encode("}]}"))).toBe(false);
    scanner.reset();
    expect(scanner.feed(encoder.encode("[[["))).toBe(false);
    expect(scanner.feed(encoder.encode("["))).toBe(true);
  });
});

describe("boundSseStream", () => {
  test("events that fit pass through byte for byte, however the chunks split them", async () => {
    const events = 'data: {"a":1}\n\n: comment [[[[[[\n\nevent: message\ndata: [1,\ndata: 2]\n\n';
    for (const split of [1, 2, 3, 7, events.length]) {
      const chunks: string[] = [];
      for (let i = 0; i < events.length; i += split) chunks.push(events.slice(i, i + split));
      expect(await throughSse(chunks)).toEqual({ text: events, refused: [] });
    }
  });

  test("CRLF and CR line endings end events too", async () => {
    const text = 'data: {"a":1}\r\n\r\ndata: {"b":2}\r\rdata: [[[[[[]]]]]]\r\n\r\ndata: 3\n\n';
    const { text: out, refused } = await throughSse([text.slice(0, 17), text.slice(17)]);
    expect(refused).toEqual(["too_deep"]);
    expect(out).toBe('data: {"a":1}\r\n\r\ndata: {"b":2}\r\r\ndata: 3\n\n');
  });

  test("an event over the limit is dropped whole, even spread over many chunks; the next passes", async () => {
    const big = `data: ${"x".repeat(500)}\n\n`;
    const chunks = [...(big.match(/.{1,10}/gs) ?? []), 'data: {"ok":true}\n\n'];
    expect(await throughSse(chunks)).toEqual({ text: 'data: {"ok":true}\n\n', refused: ["oversized"] });
  });

  test("an endless line is never held: memory stays at the limit while it streams", async () => {
    const megabyte = new Uint8Array(1024 * 1024).fill(0x78);
    const chunks: (string | Uint8Array)[] = ["data: "];
    for (let i = 0; i < 64; i++) chunks.push(megabyte);
    chunks.push("\n\ndata: 1\n\n");
    expect(await throughSse(chunks, 1024)).toEqual({ text: "data: 1\n\n", refused: ["oversized"] });
  });

  test("nesting deeper than the limit in the data is refused; brackets in comments and strings are not nesting", async () => {
    const ok = 'data: {"a":[{"b":"[[[[[[[["}]}\n\n: [[[[[[[[[[\n\n';
    const deep = "data: [[[[[1]]]]]\n\n";
    expect(await throughSse([ok, deep])).toEqual({ text: ok, refused: ["too_deep"] });
  });
});

describe("readBoundedJson", () => {
  test("a body within bounds passes unchanged", async () => {
    const body = await readBoundedJson(
      streamOf(['{"a":', "[1,2]}"]),
      { maxBytes: 100, maxDepth: 4 },
      () => {},
    );
    expect(await new Response(body).json()).toEqual({ a: [1, 2] });
  });

  test("too large or too deep: the read fails with why, and the refusal is reported", async () => {
    for (const [text, reason] of [
      [`{"a":"${"x".repeat(200)}"}`, "oversized"],
      ["[[[[[[1]]]]]]", "too_deep"],
    ] as const) {
      const refused: Refusal[] = [];
      const read = readBoundedJson(streamOf([text]), { maxBytes: 100, maxDepth: 4 }, (r) => refused.push(r));
      await expect(read).rejects.toThrow("answer refused");
      expect(refused).toEqual([reason]);
    }
  });

  test("an endless body is read no further than its limit, and the source is cancelled", async () => {
    let pulls = 0;
    let cancelled = false;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls++;
        controller.enqueue(encoder.encode(pulls === 1 ? '{"a":"' : "x".repeat(64)));
      },
      cancel() {
        cancelled = true;
      },
    });
    await expect(readBoundedJson(endless, { maxBytes: 1000, maxDepth: 4 }, () => {})).rejects.toThrow(
      "larger than 1000 bytes",
    );
    expect(pulls).toBeLessThan(20);
    expect(cancelled).toBe(true);
  });
});

test("the decoder sees whole UTF-8 sequences (events are passed on whole)", async () => {
  const text = 'data: {"é":"日本"}\n\n';
  const bytes = encoder.encode(text);
  const { text: out } = await throughSse([bytes.subarray(0, 9), bytes.subarray(9)]);
  expect(out).toBe(decoder.decode(bytes));
});
