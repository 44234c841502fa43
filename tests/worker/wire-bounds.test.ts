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

  test("escapes: a run of backslashes escapes the quote after it only when odd, also across pieces", () => {
    const deep = (pieces: string[]): boolean => {
      const scanner = new DepthScanner(1);
      return pieces.some((piece) => scanner.feed(encoder.encode(piece)));
    };
    expect(deep(['["\\\\\\\\"[1]]'])).toBe(true); // four backslashes, then the quote closes: [1] nests
    expect(deep(['["\\\\\\"[1]"]'])).toBe(false); // three escape the quote: [1] is in the string
    expect(deep(['["a\\\\', '"[1]]'])).toBe(true); // two end the piece: the next quote closes
    expect(deep(['["a\\\\\\', '"[1]"]'])).toBe(false); // three: the next piece's quote is escaped
    expect(deep(['["a\\\\\\', "", '"[1]"]'])).toBe(false); // an empty piece changes nothing
  });

  test("gives the byte-by-byte verdict for any text, however it is split and wherever from/to cut it", () => {
    // The reference: one byte at a time, as the JSON grammar reads strings and nesting.
    const reference = (bytes: Uint8Array, max: number): boolean => {
      let depth = 0;
      let inString = false;
      let escaped = false;
      for (const b of bytes) {
        if (inString) {
          if (escaped) escaped = false;
          else if (b === 0x5c) escaped = true;
          else if (b === 0x22) inString = false;
        } else if (b === 0x22) inString = true;
        else if (b === 0x5b || b === 0x7b) {
          if (++depth > max) return true;
        } else if (b === 0x5d || b === 0x7d) depth--;
      }
      return false;
    };
    const alphabet = ['"', "\\", "\\", "[", "]", "{", "}", "a", ":", ","];
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let round = 0; round < 2000; round++) {
      const text = Array.from({ length: random(40) }, () => alphabet[random(alphabet.length)]).join("");
      const bytes = encoder.encode(text);
      const max = 1 + random(4);
      const scanner = new DepthScanner(max);
      // Fed in pieces, each a from/to window of a larger array with junk around it.
      let verdict = false;
      for (let at = 0; at < bytes.length && !verdict; ) {
        const size = Math.min(bytes.length - at, 1 + random(6));
        const padded = new Uint8Array(size + 4).fill(0x5b);
        padded.set(bytes.subarray(at, at + size), 2);
        verdict = scanner.feed(padded, 2, 2 + size);
        at += size;
      }
      expect({ text, max, verdict }).toEqual({ text, max, verdict: reference(bytes, max) });
    }
  });

  test("bytes after `to` never count, whether a few (scanned in place) or many (a view), quotes among them", () => {
    const unclosed = encoder.encode('{"a":"b'); // a string open at `to`: the quotes after it do not close it
    for (const tail of [0, 1, 7, 8, 9, 64]) {
      for (const junk of ['"', "]", "\\"]) {
        const bytes = new Uint8Array(3 + unclosed.length + tail).fill(junk.charCodeAt(0));
        bytes.set(unclosed, 3);
        const scanner = new DepthScanner(2);
        expect(scanner.feed(bytes, 3, 3 + unclosed.length)).toBe(false);
        // Still inside the string: brackets are text until its quote, then they nest.
        expect(scanner.feed(encoder.encode('[[[[["'))).toBe(false);
        expect(scanner.feed(encoder.encode("[["))).toBe(true);
      }
    }
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

  test("an event of many short lines is framed in linear time (line ends are not searched for again and again)", async () => {
    // 200k lines, only LF: a search for CR from every line would scan the rest of the event each time.
    const lines = "data: 1\n".repeat(200_000);
    const started = performance.now();
    const { text, refused } = await throughSse([`${lines}\n`, ": a comment\n\n"], 4 << 20);
    expect(refused).toEqual([]);
    expect(text).toBe(`${lines}\n: a comment\n\n`);
    // Linear: well under a second even on a loaded machine; quadratic: minutes (1.6 MB scanned per line).
    expect(performance.now() - started).toBeLessThan(5000);
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
