import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import * as v from "valibot";
import { listedEventToFault } from "../../src/events/events-list.ts";
import type { FaultEvent } from "../../src/events/fault.ts";
import {
  classifyNotification,
  deriveFaultId,
  FlatFaultSchema,
  type NotificationOutcome,
  readFlatFault,
} from "../../src/events/normalise.ts";

const CLUSTER = { name: "prod-eu", labels: { env: "prod", region: "eu" } };
const RECEIVED = new Date("2026-11-25T03:00:00.000Z");

function classify(logger: string, data: unknown): NotificationOutcome {
  return classifyNotification({ level: "warning", logger, data }, CLUSTER, RECEIVED);
}

function faultOf(outcome: NotificationOutcome): FaultEvent {
  if (outcome.kind !== "fault") throw new Error(`expected a fault, got ${JSON.stringify(outcome)}`);
  return outcome.event;
}

function flatData(): Record<string, unknown> {
  return {
    faultId: "9f2c1e0b7a6d5c4e",
    subscriptionId: "sub-1",
    cluster: "server-side-name",
    faultType: "CrashLoop",
    severity: "warning",
    resource: { apiVersion: "v1", kind: "Pod", name: "web-1", namespace: "default", uid: "uid-1" },
    context: "Back-off restarting failed container web",
    timestamp: "2026-11-25T02:54:13Z",
  };
}

function k8sEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    namespace: "default",
    timestamp: "2026-11-25T02:54:13Z",
    type: "Warning",
    reason: "BackOff",
    message: "Back-off restarting failed container web in pod web-1",
    labels: { app: "web" },
    involvedObject: { apiVersion: "v1", kind: "Pod", name: "web-1", namespace: "default", uid: "uid-1" },
    count: 3,
    ...overrides,
  };
}

function nestedData(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    subscriptionId: "sub-1",
    cluster: "server-side-name",
    event: k8sEvent(overrides),
    logs: [
      { container: "web", previous: true, content: "panic: boom" },
      { container: "sidecar", content: "ok" },
    ],
  };
}

describe("deriveFaultId", () => {
  test("is the first 16 hex chars of sha256 of ns/kind/name/faultType", () => {
    const expected = createHash("sha256").update("default/Pod/web-1/CrashLoop").digest("hex").slice(0, 16);
    expect(deriveFaultId("default", "Pod", "web-1", "CrashLoop")).toBe(expected);
    expect(deriveFaultId("default", "Pod", "web-1", "CrashLoop")).toMatch(/^[0-9a-f]{16}$/);
  });

  test("differs when any part differs", () => {
    const base = deriveFaultId("default", "Pod", "web-1", "BackOff");
    expect(deriveFaultId("other", "Pod", "web-1", "BackOff")).not.toBe(base);
    expect(deriveFaultId("default", "Job", "web-1", "BackOff")).not.toBe(base);
    expect(deriveFaultId("default", "Pod", "web-2", "BackOff")).not.toBe(base);
    expect(deriveFaultId("default", "Pod", "web-1", "Failed")).not.toBe(base);
  });
});

describe("one fault_id whichever way a fault arrives", () => {
  // A repeat pushed before an outage and listed by the backfill after it (or listed first, pushed
  // after) must join one incident: the dedup key is (cluster, fault_id).
  const listed = (reason: string, kind = "Pod", name = "web-1", namespace = "default") =>
    listedEventToFault(
      {
        namespace,
        kind,
        name,
        apiVersion: "v1",
        reason,
        message: "Back-off restarting failed container web in pod web-1",
        type: "Warning",
        timestamp: "2026-11-25T02:54:13.000Z",
      },
      CLUSTER,
      RECEIVED,
    );

  test("a flat push (whatever the server's faultId), a nested push, a raw event and a listed event of one condition", () => {
    const ids = new Set([
      faultOf(classify("kubernetes/faults", flatData())).fault_id,
      faultOf(classify("kubernetes/faults", { ...flatData(), faultId: "another-server-id" })).fault_id,
      faultOf(classify("kubernetes/faults", nestedData())).fault_id,
      faultOf(classify("kubernetes/faults", nestedData({ reason: "CrashLoopBackOff" }))).fault_id,
      faultOf(classify("kubernetes/events", { event: k8sEvent() })).fault_id,
      listed("BackOff").fault_id,
      listed("CrashLoopBackOff").fault_id,
    ]);
    expect([...ids]).toEqual([deriveFaultId("default", "Pod", "web-1", "CrashLoop")]);
  });

  test("a cluster-scoped object: the flat push (no namespace) and the listed event (namespace default) agree", () => {
    const flat = {
      ...flatData(),
      faultType: "NodeUnhealthy",
      severity: "critical",
      resource: { apiVersion: "v1", kind: "Node", name: "node-1" },
    };
    const pushed = faultOf(classify("kubernetes/faults", flat));
    expect(listed("NodeNotReady", "Node", "node-1").fault_id).toBe(pushed.fault_id);
  });

  test("another object, or another fault type of the same object, is another fault", () => {
    const base = listed("BackOff").fault_id;
    expect(listed("BackOff", "Pod", "web-2").fault_id).not.toBe(base);
    expect(listed("BackOff", "Pod", "web-1", "other").fault_id).not.toBe(base);
    expect(listed("OOMKilled").fault_id).not.toBe(base); // PodCrash
  });
});

describe("kubernetes/faults, flat shape", () => {
  test("normalises to the exact FaultEvent", () => {
    const data = flatData();
    const outcome = classify("kubernetes/faults", data);
    expect(outcome).toEqual({
      kind: "fault",
      event: {
        cluster: "prod-eu",
        labels: { env: "prod", region: "eu" },
        fault_id: deriveFaultId("default", "Pod", "web-1", "CrashLoop"),
        fault_type: "CrashLoop",
        severity: "warning",
        resource: { apiVersion: "v1", kind: "Pod", name: "web-1", namespace: "default", uid: "uid-1" },
        context: "Back-off restarting failed container web",
        timestamp: "2026-11-25T02:54:13Z",
        received_at: "2026-11-25T03:00:00.000Z",
        raw: data,
      },
    });
    expect(faultOf(outcome).raw).toBe(data);
  });

  test("tolerates missing namespace, uid, apiVersion and context, and unknown keys", () => {
    const data = {
      ...flatData(),
      resource: { kind: "Node", name: "node-1", namespace: "", extra: true },
      context: undefined,
      futureField: { x: 1 },
    };
    delete data.context;
    const event = faultOf(classify("kubernetes/faults", data));
    expect(event.resource).toEqual({
      apiVersion: "",
      kind: "Node",
      name: "node-1",
      namespace: null,
      uid: null,
    });
    expect(event.context).toBe("");
  });

  test("null namespace/uid/context are tolerated too", () => {
    const data = {
      ...flatData(),
      context: null,
      resource: { kind: "Pod", name: "a", namespace: null, uid: null },
    };
    const event = faultOf(classify("kubernetes/faults", data));
    expect(event.resource.namespace).toBeNull();
    expect(event.resource.uid).toBeNull();
    expect(event.context).toBe("");
  });

  test("accepts every severity", () => {
    for (const severity of ["info", "warning", "critical"] as const) {
      expect(faultOf(classify("kubernetes/faults", { ...flatData(), severity })).severity).toBe(severity);
    }
  });
});

describe("the event's keys", () => {
  // The JSON text of an event (crossing to the main thread, written for an agent) keeps one order.
  const ORDER = [
    "cluster",
    "labels",
    "fault_id",
    "fault_type",
    "severity",
    "resource",
    "context",
    "timestamp",
  ];
  test("come in the same order for every shape, with timestamp_source after the timestamp it explains", () => {
    const sane = [
      faultOf(classify("kubernetes/faults", flatData())),
      faultOf(classify("kubernetes/faults", nestedData())),
    ];
    for (const event of sane) expect(Object.keys(event)).toEqual([...ORDER, "received_at", "raw"]);
    const received = faultOf(classify("kubernetes/faults", { ...flatData(), timestamp: "yesterday" }));
    expect(Object.keys(received)).toEqual([...ORDER, "timestamp_source", "received_at", "raw"]);
    expect(received.timestamp).toBe(received.received_at);
  });
});

describe("kubernetes/faults, nested shape", () => {
  test("normalises to the exact FaultEvent", () => {
    const data = nestedData({ lastTimestamp: "2026-11-25T02:59:00Z" });
    const outcome = classify("kubernetes/faults", data);
    expect(outcome).toEqual({
      kind: "fault",
      event: {
        cluster: "prod-eu",
        labels: { env: "prod", region: "eu" },
        fault_id: deriveFaultId("default", "Pod", "web-1", "CrashLoop"),
        fault_type: "CrashLoop",
        severity: "warning",
        resource: { apiVersion: "v1", kind: "Pod", name: "web-1", namespace: "default", uid: "uid-1" },
        context:
          "Back-off restarting failed container web in pod web-1\n" +
          "--- web (previous) ---\npanic: boom\n" +
          "--- sidecar ---\nok",
        timestamp: "2026-11-25T02:59:00Z",
        received_at: "2026-11-25T03:00:00.000Z",
        raw: data,
      },
    });
    expect(faultOf(outcome).raw).toBe(data);
  });

  test("the same fault twice gets the same id; another name gets another id", () => {
    const first = faultOf(classify("kubernetes/faults", nestedData()));
    const again = faultOf(classify("kubernetes/faults", nestedData({ message: "different text", count: 9 })));
    const other = faultOf(
      classify(
        "kubernetes/faults",
        nestedData({
          involvedObject: { apiVersion: "v1", kind: "Pod", name: "web-2", namespace: "default" },
        }),
      ),
    );
    expect(again.fault_id).toBe(first.fault_id);
    expect(other.fault_id).not.toBe(first.fault_id);
  });

  test("without lastTimestamp the event timestamp is used; without logs the context is the message", () => {
    const data = nestedData();
    delete data.logs;
    const event = faultOf(classify("kubernetes/faults", data));
    expect(event.timestamp).toBe("2026-11-25T02:54:13Z");
    expect(event.context).toBe("Back-off restarting failed container web in pod web-1");
  });

  test("logs without a message still make a context", () => {
    const event = faultOf(classify("kubernetes/faults", nestedData({ message: undefined })));
    expect(event.context).toBe("--- web (previous) ---\npanic: boom\n--- sidecar ---\nok");
  });

  test("missing namespaces: the resource's falls back to the event's, and the id is the resource's", () => {
    const noEventNs = faultOf(classify("kubernetes/faults", nestedData({ namespace: "" })));
    expect(noEventNs.fault_id).toBe(deriveFaultId("default", "Pod", "web-1", "CrashLoop"));
    const noObjectNs = faultOf(
      classify("kubernetes/faults", nestedData({ involvedObject: { kind: "Pod", name: "web-1" } })),
    );
    expect(noObjectNs.fault_id).toBe(deriveFaultId("default", "Pod", "web-1", "CrashLoop"));
    expect(noObjectNs.resource).toEqual({
      apiVersion: "",
      kind: "Pod",
      name: "web-1",
      namespace: "default",
      uid: null,
    });
  });

  test("the flat shape wins when both faultId and event are present", () => {
    const data = { ...nestedData(), ...flatData() };
    const event = faultOf(classify("kubernetes/faults", data));
    expect(event.context).toBe("Back-off restarting failed container web");
    expect(event.fault_id).toBe(deriveFaultId("default", "Pod", "web-1", "CrashLoop"));
    expect(event.raw).toBe(data);
  });
});

describe("kubernetes/events (raw)", () => {
  test("normalises to the exact FaultEvent (no logs in the context)", () => {
    const data = {
      subscriptionId: "sub-2",
      cluster: "server-side-name",
      event: k8sEvent({
        type: "Normal",
        reason: "Scheduled",
        message: "Successfully assigned default/web-1 to node-1",
        firstTimestamp: "2026-11-25T02:50:00Z",
      }),
      logs: [{ container: "web", content: "ignored for raw events" }],
    };
    expect(classify("kubernetes/events", data)).toEqual({
      kind: "fault",
      event: {
        cluster: "prod-eu",
        labels: { env: "prod", region: "eu" },
        fault_id: deriveFaultId("default", "Pod", "web-1", "Scheduled"), // a reason no rule maps: its own type
        fault_type: "Scheduled",
        severity: "info",
        resource: { apiVersion: "v1", kind: "Pod", name: "web-1", namespace: "default", uid: "uid-1" },
        context: "Successfully assigned default/web-1 to node-1",
        timestamp: "2026-11-25T02:54:13Z",
        received_at: "2026-11-25T03:00:00.000Z",
        raw: data,
      },
    });
  });

  test("a Node event: cluster-scoped resource, NodeUnhealthy is critical even when Normal", () => {
    const data = {
      subscriptionId: "sub-2",
      cluster: "x",
      event: k8sEvent({
        type: "Normal",
        reason: "NodeNotReady",
        message: "Node node-1 status is now: NodeNotReady",
        involvedObject: { apiVersion: "v1", kind: "Node", name: "node-1", uid: "n-uid" },
      }),
    };
    const event = faultOf(classify("kubernetes/events", data));
    expect(event.fault_type).toBe("NodeUnhealthy");
    expect(event.severity).toBe("critical");
    expect(event.resource).toEqual({
      apiVersion: "v1",
      kind: "Node",
      name: "node-1",
      namespace: null,
      uid: "n-uid",
    });
    // Cluster-scoped: no namespace in the id either (its events live in `default`; a pushed flat fault
    // about the node names none).
    expect(event.fault_id).toBe(deriveFaultId("", "Node", "node-1", "NodeUnhealthy"));
  });

  test.each([
    ["Pod", "BackOff", "CrashLoop"],
    ["Pod", "CrashLoopBackOff", "CrashLoop"],
    ["Pod", "Failed", "PodCrash"],
    ["Pod", "Error", "PodCrash"],
    ["Pod", "OOMKilled", "PodCrash"],
    ["Node", "NodeNotReady", "NodeUnhealthy"],
    ["Node", "NodeUnhealthy", "NodeUnhealthy"],
    ["Job", "BackoffLimitExceeded", "JobFailure"],
    ["Job", "DeadlineExceeded", "JobFailure"],
    ["Job", "Failed", "JobFailure"],
    ["Deployment", "ProgressDeadlineExceeded", "DeploymentFailure"],
    ["ReplicaSet", "FailedCreate", "DeploymentFailure"],
    ["Pod", "Unhealthy", "Unhealthy"],
    ["Deployment", "Failed", "Failed"],
    ["Node", "Rebooted", "Rebooted"],
  ])("%s %s → %s", (kind, reason, faultType) => {
    const data = { event: k8sEvent({ reason, involvedObject: { kind, name: "x" } }) };
    expect(faultOf(classify("kubernetes/events", data)).fault_type).toBe(faultType);
  });

  test.each([
    ["BackOff", 'Back-off pulling image "registry.example/app:1.2"', "ImagePull"],
    ["Failed", 'Failed to pull image "registry.example/app:1.2": not found', "ImagePull"],
    ["Failed", "Error: ErrImagePull", "ImagePull"],
    ["Failed", "Error: ImagePullBackOff", "ImagePull"],
    ["ErrImagePull", "anything", "ImagePull"],
    ["ImagePullBackOff", "anything", "ImagePull"],
    ["BackOff", "Back-off restarting failed container app in pod web-1", "CrashLoop"],
    ["Failed", "Error: container has runAsNonRoot and image will run as root", "PodCrash"],
  ])("image pulls: Pod %s %j → %s", (reason, message, faultType) => {
    const data = { event: k8sEvent({ reason, message, involvedObject: { kind: "Pod", name: "x" } }) };
    expect(faultOf(classify("kubernetes/events", data)).fault_type).toBe(faultType);
  });

  test("the kubelet's Warning node events SystemOOM and EvictionThresholdMet are critical NodeUnhealthy faults", () => {
    for (const reason of ["SystemOOM", "EvictionThresholdMet"]) {
      const data = {
        event: k8sEvent({ reason, type: "Warning", involvedObject: { kind: "Node", name: "n" } }),
      };
      expect(faultOf(classify("kubernetes/events", data))).toMatchObject({
        fault_type: "NodeUnhealthy",
        severity: "critical",
      });
    }
  });

  test("Warning → warning, Normal → info, anything else → warning", () => {
    const severity = (type: string) =>
      faultOf(classify("kubernetes/events", { event: k8sEvent({ type, reason: "Pulled" }) })).severity;
    expect(severity("Warning")).toBe("warning");
    expect(severity("Normal")).toBe("info");
    expect(severity("Odd")).toBe("warning");
  });
});

describe("cluster identity", () => {
  test("the configured cluster name wins over data.cluster, and labels are attached", () => {
    const other = { name: "staging", labels: { team: "core" } };
    for (const data of [flatData(), nestedData()]) {
      const event = faultOf(
        classifyNotification({ level: "warning", logger: "kubernetes/faults", data }, other),
      );
      expect(event.cluster).toBe("staging");
      expect(event.labels).toEqual({ team: "core" });
    }
  });

  test("received_at defaults to now", () => {
    const before = Date.now();
    const event = faultOf(classifyNotification({ logger: "kubernetes/faults", data: flatData() }, CLUSTER));
    const at = Date.parse(event.received_at);
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(Date.now());
  });
});

describe("kubernetes/subscription_error", () => {
  test("surfaces the error and subscription id", () => {
    const data = {
      subscriptionId: "sub-1",
      cluster: "x",
      error: "watch failed: 403 Forbidden",
      degraded: true,
    };
    expect(classify("kubernetes/subscription_error", data)).toEqual({
      kind: "subscription_error",
      error: "watch failed: 403 Forbidden",
      subscriptionId: "sub-1",
    });
  });

  test("a missing subscription id is null", () => {
    expect(classify("kubernetes/subscription_error", { error: "boom" })).toEqual({
      kind: "subscription_error",
      error: "boom",
      subscriptionId: null,
    });
  });
});

describe("other loggers", () => {
  test.each(["kubernetes-mcp-server", "kubernetes/other", "", "KUBERNETES/FAULTS"])(
    "%p is ignored",
    (logger) => {
      expect(classify(logger, { whatever: true })).toEqual({ kind: "ignored" });
    },
  );

  test("another logger is ignored even without data", () => {
    expect(classifyNotification({ level: "info", logger: "server" }, CLUSTER)).toEqual({ kind: "ignored" });
  });
});

describe("malformed", () => {
  const withResource = (resource: unknown) => ({ ...flatData(), resource });
  const without = (key: string) => {
    const data = flatData();
    delete data[key];
    return data;
  };
  const cases: [string, unknown, string, unknown][] = [
    ["non-object params", "oops", "", "params: must be an object"],
    ["null params", null, "", "params: must be an object"],
    ["missing logger", { level: "info", data: {} }, "", "logger: required"],
    ["non-string logger", { logger: 7, data: {} }, "", "logger: must be a string"],
    ["faults without data", undefined, "kubernetes/faults", "data: required"],
    ["faults with array data", [], "kubernetes/faults", "data: must be an object"],
    ["faults with neither shape", { cluster: "x" }, "kubernetes/faults", "data: must have faultId"],
    ["empty faultId", { ...flatData(), faultId: "" }, "kubernetes/faults", "data.faultId: must not be empty"],
    [
      "numeric faultId",
      { ...flatData(), faultId: 42 },
      "kubernetes/faults",
      "data.faultId: must be a string",
    ],
    ["missing faultType", without("faultType"), "kubernetes/faults", "data.faultType: required"],
    [
      "bad severity",
      { ...flatData(), severity: "high" },
      "kubernetes/faults",
      "data.severity: must be one of info, warning, critical",
    ],
    ["missing severity", without("severity"), "kubernetes/faults", "data.severity: required"],
    ["missing resource", without("resource"), "kubernetes/faults", "data.resource: required"],
    [
      "resource not an object",
      withResource("Pod/web"),
      "kubernetes/faults",
      "data.resource: must be an object",
    ],
    ["missing kind", withResource({ name: "a" }), "kubernetes/faults", "data.resource.kind: required"],
    [
      "empty kind",
      withResource({ kind: "", name: "a" }),
      "kubernetes/faults",
      "data.resource.kind: must not be empty",
    ],
    ["missing name", withResource({ kind: "Pod" }), "kubernetes/faults", "data.resource.name: required"],
    [
      "numeric name",
      withResource({ kind: "Pod", name: 1 }),
      "kubernetes/faults",
      "data.resource.name: must be a string",
    ],
    [
      "numeric uid",
      withResource({ kind: "Pod", name: "a", uid: 5 }),
      "kubernetes/faults",
      "data.resource.uid: must be a string",
    ],
    ["missing timestamp", without("timestamp"), "kubernetes/faults", "data.timestamp: required"],
    [
      "numeric timestamp",
      { ...flatData(), timestamp: 1700000000 },
      "kubernetes/faults",
      "data.timestamp: must be a string",
    ],
    ["nested event not an object", { event: "x" }, "kubernetes/faults", "data.event: must be an object"],
    [
      "nested missing reason",
      nestedData({ reason: undefined }),
      "kubernetes/faults",
      "data.event.reason: required",
    ],
    [
      "nested missing involvedObject",
      nestedData({ involvedObject: undefined }),
      "kubernetes/faults",
      "data.event.involvedObject: required",
    ],
    [
      "nested missing involvedObject.name",
      nestedData({ involvedObject: { kind: "Pod" } }),
      "kubernetes/faults",
      "data.event.involvedObject.name: required",
    ],
    [
      "nested logs not a list",
      { ...nestedData(), logs: "boom" },
      "kubernetes/faults",
      "data.logs: must be a list",
    ],
    [
      "nested log without content",
      { ...nestedData(), logs: [{ container: "web" }] },
      "kubernetes/faults",
      "data.logs[0].content: required",
    ],
    ["raw without data", undefined, "kubernetes/events", "data: required"],
    ["raw without event", { cluster: "x" }, "kubernetes/events", "data.event: required"],
    [
      "raw missing timestamp",
      { event: k8sEvent({ timestamp: undefined }) },
      "kubernetes/events",
      "data.event.timestamp: required",
    ],
    [
      "raw numeric type",
      { event: k8sEvent({ type: 1 }) },
      "kubernetes/events",
      "data.event.type: must be a string",
    ],
    [
      "subscription_error without error",
      { subscriptionId: "s" },
      "kubernetes/subscription_error",
      "data.error: required",
    ],
    [
      "subscription_error with numeric error",
      { error: 1 },
      "kubernetes/subscription_error",
      "data.error: must be a string",
    ],
    ["subscription_error without data", undefined, "kubernetes/subscription_error", "data: required"],
  ];

  test.each(cases)("%s", (_name, input, logger, expected) => {
    const params = logger ? { level: "warning", logger, data: input } : input;
    const outcome = classifyNotification(params, CLUSTER, RECEIVED);
    expect(outcome.kind).toBe("malformed");
    if (outcome.kind === "malformed") expect(outcome.detail).toContain(expected as string);
  });

  test("every problem is listed", () => {
    const outcome = classify("kubernetes/faults", { faultId: "a", severity: "x", resource: {} });
    expect(outcome.kind).toBe("malformed");
    if (outcome.kind !== "malformed") return;
    for (const path of [
      "data.faultType",
      "data.severity",
      "data.resource.kind",
      "data.resource.name",
      "data.timestamp",
    ]) {
      expect(outcome.detail).toContain(`${path}:`);
    }
  });
});

describe("the flat shape's fast path (readFlatFault)", () => {
  test("reads exactly what the schema outputs, or leaves the payload to the schema; never accepts what it refuses", () => {
    // Every field of a valid payload replaced, in turn and in pairs, by values of every kind.
    const values: unknown[] = [
      undefined,
      null,
      "",
      "x",
      "warning",
      "critical",
      0,
      1,
      true,
      [],
      ["x"],
      {},
      { kind: "Pod" },
    ];
    const fields = ["faultId", "faultType", "severity", "context", "timestamp", "resource"];
    const resourceFields = ["apiVersion", "kind", "name", "namespace", "uid"];
    const variants: Record<string, unknown>[] = [flatData()];
    for (const field of fields) for (const value of values) variants.push({ ...flatData(), [field]: value });
    for (const field of resourceFields) {
      for (const value of values) {
        const data = flatData();
        variants.push({ ...data, resource: { ...(data.resource as object), [field]: value } });
      }
    }
    for (const value of values) {
      const { context: _context, ...withoutContext } = flatData();
      variants.push({
        ...withoutContext,
        severity: value,
        resource: { kind: "Node", name: "n1", extra: value },
      });
    }
    let fast = 0;
    for (const data of variants) {
      const schema = v.safeParse(FlatFaultSchema, data);
      const read = readFlatFault(data);
      if (read === null) continue;
      fast++;
      expect({ data, read }).toEqual({ data, read: schema.success ? schema.output : ("refused" as never) });
    }
    // The common shapes do take the fast path.
    expect(fast).toBeGreaterThan(40);
  });

  test("missing, null and empty optional fields read as the schema's defaults", () => {
    const data = {
      ...flatData(),
      context: null,
      resource: { kind: "Node", name: "n1", namespace: null, uid: "" },
    };
    expect(readFlatFault(data)).toEqual(v.parse(FlatFaultSchema, data));
    expect(faultOf(classify("kubernetes/faults", data)).resource).toEqual({
      apiVersion: "",
      kind: "Node",
      name: "n1",
      namespace: null,
      uid: null,
    });
  });
});
