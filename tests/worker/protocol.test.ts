import { Database } from "bun:sqlite";
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { eventJson } from "../../src/events/event-json.ts";
import { DB_FILE } from "../../src/incidents/open.ts";
import { SqliteStore } from "../../src/incidents/store.ts";
import { decodeEventBatch, encodeEventBatch } from "../../src/worker/protocol.ts";
import { makeFault } from "../helpers/fault.ts";
import { tempDir } from "../helpers/tmp.ts";

describe("event batch messages", () => {
  test("a batch decodes to the same events, each with the JSON it was sent as", () => {
    const events = [
      makeFault({ fault_id: "f-1", context: 'line one\nline two\r\n\u2028 "quoted" \\ back' }),
      makeFault({ fault_id: "f-2", raw: { nested: { text: "a\nb", list: [1, "\n", null] } } }),
      makeFault({ fault_id: "f-3", labels: { "team\nname": "x\ny" } }),
    ];
    const message = encodeEventBatch(events);
    const decoded = decodeEventBatch(message);
    expect(decoded).toEqual(events);
    // Each decoded event's remembered text is exactly what serialising it would give.
    for (const event of decoded) expect(eventJson(event)).toBe(JSON.stringify(event));
    expect(message.json.split("\n")).toHaveLength(3);
  });

  test("the store's text is the line as sent, not the event serialised again", () => {
    // Lines a worker never writes (spaces): only a remembered line can come back like this.
    const lines = [`{ "fault_id": "a", "n": 1 }`, `{"fault_id":"b",  "n": 2}`];
    const decoded = decodeEventBatch({ type: "events", json: lines.join("\n") });
    expect(decoded.map(eventJson)).toEqual(lines);
  });

  test("an empty batch decodes to no events; an event never decoded is serialised", () => {
    expect(decodeEventBatch(encodeEventBatch([]))).toEqual([]);
    const fresh = makeFault({ fault_id: "f-9" });
    expect(eventJson(fresh)).toBe(JSON.stringify(fresh));
  });
});

describe("the store records a decoded event's JSON", () => {
  let dir: { path: string; cleanup: () => void };
  beforeEach(() => {
    dir = tempDir("faultline-protocol-");
  });
  afterEach(() => dir.cleanup());

  test("the stored event is the worker's line, and reads back as the event", async () => {
    const [event] = decodeEventBatch(
      encodeEventBatch([makeFault({ fault_id: "f-line", context: "multi\nline" })]),
    );
    if (event === undefined) throw new Error("no event decoded");
    const store = SqliteStore.open(dir.path);
    try {
      const [result] = await store.ingest([{ event, decision: { action: "skip", reason: "no_agent" } }]);
      const detail = await store.get(result?.incident.id ?? "");
      expect(detail?.events.map((stored) => stored.event)).toEqual([event]);
    } finally {
      store.close();
    }
    const db = new Database(join(dir.path, DB_FILE), { readonly: true });
    try {
      const row = db.query<{ event: string }, []>("SELECT event FROM events").get();
      expect(row?.event).toBe(JSON.stringify(event));
    } finally {
      db.close();
    }
  });
});
