/**
 * Hostile wire payloads a simulated server can write straight onto a session's standalone SSE stream,
 * bypassing the MCP SDK (whose own JSON.stringify would refuse some of them): deeply nested or huge
 * notifications, an endless SSE line, text that is not JSON, a fault with a very long context. Each is
 * produced in chunks of at most {@link HOSTILE_CHUNK_BYTES}, so even a 100 MB line is never one string.
 */
import * as v from "valibot";
import { FAULT_LOGGER } from "./types.ts";

/** Largest chunk a payload is written in. */
export const HOSTILE_CHUNK_BYTES = 1024 * 1024;

/** What to write: see {@link hostileChunks}. */
export const HostileSchema = v.variant("kind", [
  /** A `kubernetes/faults` notification whose data nests `depth` objects deep. */
  v.strictObject({ kind: v.literal("deep"), depth: v.pipe(v.number(), v.integer(), v.minValue(1)) }),
  /** A valid flat fault whose `context` is `bytes` long (as one SSE event). */
  v.strictObject({ kind: v.literal("huge"), bytes: v.pipe(v.number(), v.integer(), v.minValue(1)) }),
  /** One SSE `data:` line of `bytes` bytes (not JSON), then the blank line that ends the event. */
  v.strictObject({ kind: v.literal("line"), bytes: v.pipe(v.number(), v.integer(), v.minValue(1)) }),
  /** One SSE event whose data is `text` verbatim (e.g. not JSON). */
  v.strictObject({ kind: v.literal("garbage"), text: v.string() }),
]);
/** One of the payloads of {@link HostileSchema}. */
export type Hostile = v.InferOutput<typeof HostileSchema>;

const encoder = new TextEncoder();

/** A JSON-RPC logging notification's text around `data`. */
function notification(data: string): string {
  return `{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"warning","logger":"${FAULT_LOGGER}","data":${data}}}`;
}

/** A valid flat fault's fields, as JSON text without the closing brace. */
function faultOpening(id: string): string {
  return `{"faultId":"${id}","faultType":"PodCrash","severity":"critical","resource":{"apiVersion":"v1","kind":"Pod","name":"${id}","namespace":"hostile"},"timestamp":"${new Date().toISOString()}"`;
}

/** The bytes of `payload`, in chunks of at most {@link HOSTILE_CHUNK_BYTES}. */
export function* hostileChunks(payload: Hostile): Generator<Uint8Array> {
  switch (payload.kind) {
    case "deep": {
      const { depth } = payload;
      yield encoder.encode(`data: ${notification(`${faultOpening("deep")},"nested":`).slice(0, -2)}`);
      yield* repeated('{"a":', depth);
      yield encoder.encode("1");
      yield* repeated("}", depth);
      yield encoder.encode("}}}\n\n");
      return;
    }
    case "huge": {
      yield encoder.encode(`data: ${notification(`${faultOpening("huge")},"context":"`).slice(0, -2)}`);
      yield* repeated("x", payload.bytes);
      yield encoder.encode('"}}}\n\n');
      return;
    }
    case "line":
      yield encoder.encode("data: ");
      yield* repeated("x", payload.bytes);
      yield encoder.encode("\n\n");
      return;
    case "garbage":
      yield encoder.encode(`data: ${payload.text.replace(/[\r\n]/g, " ")}\n\n`);
      return;
  }
}

/** `unit` repeated `count` times, in chunks of at most {@link HOSTILE_CHUNK_BYTES}. */
function* repeated(unit: string, count: number): Generator<Uint8Array> {
  const perChunk = Math.max(1, Math.floor(HOSTILE_CHUNK_BYTES / unit.length));
  const full = encoder.encode(unit.repeat(Math.min(perChunk, count)));
  let left = count;
  while (left > 0) {
    const n = Math.min(perChunk, left);
    yield n === Math.min(perChunk, count) ? full : encoder.encode(unit.repeat(n));
    left -= n;
  }
}
