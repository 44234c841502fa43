/** Logging notifications taken off the event stream: exactly those the SDK's schema would accept. */
import { expect, test } from "bun:test";
import { messageData, takeLoggingNotifications } from "../../src/worker/sse-notifications.ts";

const encode = (text: string) => new TextEncoder().encode(text);
const sse = (message: unknown, extra = "") => encode(`${extra}data: ${JSON.stringify(message)}\n\n`);
const notification = (params: unknown) => ({ jsonrpc: "2.0", method: "notifications/message", params });

test("a valid logging notification is taken and its params delivered; everything else is left to the SDK", () => {
  const delivered: unknown[] = [];
  const take = takeLoggingNotifications((params) => delivered.push(params));
  const params = { level: "warning", logger: "kubernetes/faults", data: { faultId: "f" } };
  expect(take(sse(notification(params)))).toBe(true);
  expect(take(sse(notification({ level: "info", data: 1 }), "event: message\nid: 7\n"))).toBe(true);
  expect(delivered).toEqual([params, { level: "info", data: 1 }]);

  const left = [
    sse({ ...notification(params), id: 1 }), // a request, not a notification
    sse(notification({ level: "loud", data: 1 })), // not a logging level
    sse(notification({ level: "info", logger: 5 })), // logger not a string
    sse(notification("text")), // params not an object
    sse({ jsonrpc: "1.0", method: "notifications/message", params }),
    sse({ jsonrpc: "2.0", method: "notifications/progress", params: { progress: 1 } }),
    sse({ jsonrpc: "2.0", id: 3, result: {} }), // an answer
    sse(notification(params), "event: other\n"), // another event type
    encode("data: this is { not json\n\n"),
    encode(": stream open\n\n"), // a comment: no data
  ];
  for (const event of left) expect(take(event)).toBe(false);
  expect(delivered).toHaveLength(2);
});

test("data lines are joined by newlines, with one leading space dropped, whatever the line endings", () => {
  expect(messageData('data: {"a":\r\ndata:1}\r\n\r\n')).toBe('{"a":\n1}');
  expect(messageData("event:message\rdata:  x\r\r")).toBe(" x");
  expect(messageData("id: 1\n\n")).toBeNull();
});

test("the params come with the length of the JSON text they were parsed from: no string in them is longer", () => {
  const delivered: Array<{ params: unknown; textChars: number }> = [];
  const take = takeLoggingNotifications((params, textChars) => delivered.push({ params, textChars }));
  const params = {
    level: "warning",
    logger: "kubernetes/faults",
    data: { context: "\n".repeat(40), name: "é😀" },
  };
  const text = JSON.stringify(notification(params));
  expect(take(encode(`event: message\ndata: ${text}\n\n`))).toBe(true);
  expect(delivered).toEqual([{ params, textChars: text.length }]);
  // Every string in the params (keys too) fits in that length.
  const strings: string[] = [];
  JSON.parse(text, (key, value) => {
    strings.push(key, ...(typeof value === "string" ? [value] : []));
    return value;
  });
  for (const s of strings) expect(s.length).toBeLessThanOrEqual(text.length);
});
