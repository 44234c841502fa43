import { describe, expect, test } from "bun:test";
import { type ListedEvent, listedEventToFault, parseEventsList } from "../../src/events/events-list.ts";
import { classifyNotification } from "../../src/events/normalise.ts";

const CLUSTER = { name: "prod-eu", labels: { env: "prod" } };
const RECEIVED = new Date("2026-11-25T03:00:00.000Z");
const HEADER = "# The following events (YAML format) were found:\n";

/** Verbatim answers of kubernetes-mcp-server 0.0.67 (captured against tests/helpers/fake-kube.ts). */
const TWO_EVENTS = `${HEADER}- InvolvedObject:
    Kind: Pod
    Name: web-1
    apiVersion: v1
  Message: Back-off restarting failed container web in pod web-1
  Namespace: default
  Reason: BackOff
  Timestamp: 2026-11-25 02:54:13 +0000 UTC
  Type: Warning
- InvolvedObject:
    Kind: Node
    Name: node-1
    apiVersion: v1
  Message: 'Node node-1 status is now: NodeNotReady'
  Namespace: default
  Reason: NodeNotReady
  Timestamp: 2026-11-25 02:55:00 +0000 UTC
  Type: Normal
`;

const ODD_VALUES = `${HEADER}- InvolvedObject:
    Kind: Pod
    Name: "yes"
    apiVersion: ""
  Message: |-
    multi
    line: message
  Namespace: default
  Reason: Failed
  Timestamp: 2026-11-25 08:24:13.123456 +0530 IST
  Type: ""
`;

function item(overrides: Record<string, string | null> = {}): string {
  const fields: Record<string, string | null> = {
    Kind: "Pod",
    Name: "web-1",
    apiVersion: "v1",
    Message: "boom",
    Namespace: "default",
    Reason: "BackOff",
    Timestamp: "2026-11-25 02:54:13 +0000 UTC",
    Type: "Warning",
    ...overrides,
  };
  const line = (key: string, indent: string) =>
    fields[key] === null ? "" : `${indent}${key}: ${fields[key]}\n`;
  return `- InvolvedObject:\n${line("Kind", "    ")}${line("Name", "    ")}${line("apiVersion", "    ")}${[
    "Message",
    "Namespace",
    "Reason",
    "Timestamp",
    "Type",
  ]
    .map((key) => line(key, "  "))
    .join("")}`;
}

/** The first item of TWO_EVENTS, parsed; `overrides` applied. */
const listed = (overrides: Partial<ListedEvent> = {}): ListedEvent => ({
  namespace: "default",
  kind: "Pod",
  name: "web-1",
  apiVersion: "v1",
  reason: "BackOff",
  message: "Back-off restarting failed container web in pod web-1",
  type: "Warning",
  timestamp: "2026-11-25T02:54:13.000Z",
  ...overrides,
});

describe("parseEventsList", () => {
  test("no events", () => {
    expect(parseEventsList("# No events found")).toEqual([]);
    expect(parseEventsList("No events found\n")).toEqual([]);
  });

  test("several items, in order, Go timestamps as RFC 3339", () => {
    expect(parseEventsList(TWO_EVENTS)).toEqual([
      listed(),
      listed({
        kind: "Node",
        name: "node-1",
        reason: "NodeNotReady",
        message: "Node node-1 status is now: NodeNotReady",
        type: "Normal",
        timestamp: "2026-11-25T02:55:00.000Z",
      }),
    ]);
  });

  test("quoted and empty values, block messages, fractions and zone offsets", () => {
    expect(parseEventsList(ODD_VALUES)).toEqual([
      {
        namespace: "default",
        kind: "Pod",
        name: "yes",
        apiVersion: "",
        reason: "Failed",
        message: "multi\nline: message",
        type: "",
        timestamp: "2026-11-25T02:54:13.123Z",
      },
    ]);
  });

  test.each([
    ["2026-11-25 02:54:13 +0000 UTC", "2026-11-25T02:54:13.000Z"],
    ["2026-11-25 02:54:13.5 +0000 UTC", "2026-11-25T02:54:13.500Z"],
    ["2026-11-24 21:54:13.123456789 -0500 EST", "2026-11-25T02:54:13.123Z"],
    ["2026-11-25 03:54:13 +0100 +0100", "2026-11-25T02:54:13.000Z"],
    ["2026-11-25 02:54:13 +0000 UTC m=+0.000123456", "2026-11-25T02:54:13.000Z"],
    ["0001-01-01 00:00:00 +0000 UTC", "0001-01-01T00:00:00.000Z"],
  ])("Go time %s → %s", (go, rfc3339) => {
    expect(parseEventsList(HEADER + item({ Timestamp: go }))[0]?.timestamp).toBe(rfc3339);
  });

  test("missing optional fields become empty strings; unknown keys are ignored", () => {
    const [event] = parseEventsList(
      `${HEADER + item({ apiVersion: null, Message: null, Namespace: null, Type: null })}  Extra: x\n`,
    );
    expect(event).toMatchObject({ apiVersion: "", message: "", namespace: "", type: "" });
  });

  test("errors name the item (1-based) and the field", () => {
    const text = HEADER + item() + item() + item({ Name: null });
    expect(() => parseEventsList(text)).toThrow("events_list answer: item 3: missing InvolvedObject.Name");
    expect(() => parseEventsList(HEADER + item({ Reason: '""' }))).toThrow(
      "events_list answer: item 1: Reason: must not be empty",
    );
    expect(() => parseEventsList(HEADER + item({ Timestamp: null, Kind: null }))).toThrow(
      "events_list answer: item 1: missing InvolvedObject.Kind; item 1: missing Timestamp",
    );
    expect(() => parseEventsList(HEADER + item({ Timestamp: "yesterday" }))).toThrow(
      'events_list answer: item 1: Timestamp: not a Go time ("2006-01-02 15:04:05 -0700 MST"): "yesterday"',
    );
    expect(() => parseEventsList(HEADER + item({ Timestamp: "2026-02-30 00:00:00 +0000 UTC" }))).toThrow(
      "item 1: Timestamp: not a Go time",
    );
    expect(() => parseEventsList(`${HEADER}- just text\n- InvolvedObject: nope\n`)).toThrow(
      "events_list answer: item 1: must be a mapping; item 2: InvolvedObject: must be a mapping",
    );
  });

  test("errors for text it cannot parse", () => {
    expect(() => parseEventsList("failed to list events: forbidden")).toThrow(
      'events_list answer: unrecognised text: "failed to list events: forbidden"',
    );
    expect(() => parseEventsList(`${HEADER}Kind: Pod\n`)).toThrow(
      "events_list answer: expected a YAML list after the header, got a mapping",
    );
    expect(() => parseEventsList(HEADER)).toThrow(
      "events_list answer: expected a YAML list after the header, got nothing",
    );
    expect(() => parseEventsList(`${HEADER}- a: [\n`)).toThrow("events_list answer: invalid YAML: ");
  });
});

describe("listedEventToFault", () => {
  /** What the push path makes of a nested fault about the same event. */
  function pushedNested(e: ListedEvent) {
    const outcome = classifyNotification(
      {
        level: "warning",
        logger: "kubernetes/faults",
        data: {
          subscriptionId: "sub-1",
          cluster: "server-side-name",
          event: {
            namespace: e.namespace,
            timestamp: e.timestamp,
            type: e.type,
            reason: e.reason,
            message: e.message,
            involvedObject: {
              apiVersion: e.apiVersion,
              kind: e.kind,
              name: e.name,
              ...(e.kind === "Node" ? {} : { namespace: e.namespace }),
            },
            count: 1,
          },
        },
      },
      CLUSTER,
      RECEIVED,
    );
    if (outcome.kind !== "fault") throw new Error(`expected a fault, got ${JSON.stringify(outcome)}`);
    return outcome.event;
  }

  test("a crash-looping pod", () => {
    const e = listed();
    expect(listedEventToFault(e, CLUSTER, RECEIVED)).toEqual({
      cluster: "prod-eu",
      labels: { env: "prod" },
      fault_id: pushedNested(e).fault_id,
      fault_type: "CrashLoop",
      severity: "warning",
      resource: { apiVersion: "v1", kind: "Pod", name: "web-1", namespace: "default", uid: null },
      context: "Back-off restarting failed container web in pod web-1",
      timestamp: "2026-11-25T02:54:13.000Z",
      received_at: "2026-11-25T03:00:00.000Z",
      raw: e,
    });
  });

  test.each([
    listed(),
    listed({ kind: "Node", name: "node-1", reason: "NodeNotReady", type: "Normal" }),
    listed({ kind: "Job", name: "backup", apiVersion: "batch/v1", reason: "BackoffLimitExceeded" }),
    listed({ kind: "Deployment", name: "api", apiVersion: "apps/v1", reason: "ProgressDeadlineExceeded" }),
    listed({ kind: "Pod", name: "db-0", namespace: "data", reason: "OOMKilling" }),
    listed({ kind: "Pod", reason: "Scheduled", type: "Normal" }),
  ])("same id, type, severity and resource as a pushed nested fault: $kind $reason", (e) => {
    const pushed = pushedNested(e);
    const polled = listedEventToFault(e, CLUSTER, RECEIVED);
    expect(polled.fault_id).toBe(pushed.fault_id);
    expect(polled.fault_type).toBe(pushed.fault_type);
    expect(polled.severity).toBe(pushed.severity);
    expect(polled.resource).toEqual(pushed.resource);
  });

  test("a node's fault is critical and has no namespace", () => {
    const fault = listedEventToFault(
      listed({ kind: "Node", name: "node-1", reason: "NodeNotReady", type: "Normal" }),
      CLUSTER,
    );
    expect(fault).toMatchObject({ fault_type: "NodeUnhealthy", severity: "critical" });
    expect(fault.resource.namespace).toBeNull();
  });

  test("different objects or reasons, different ids", () => {
    const ids = new Set(
      [listed(), listed({ name: "web-2" }), listed({ reason: "Failed" }), listed({ namespace: "other" })].map(
        (e) => listedEventToFault(e, CLUSTER).fault_id,
      ),
    );
    expect(ids.size).toBe(4);
  });
});
