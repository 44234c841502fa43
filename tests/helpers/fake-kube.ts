/**
 * A small fake Kubernetes API server on loopback (plain HTTP), enough for the stock kubernetes-mcp-server
 * binary to start and answer `events_list`. What the real binary (0.0.67) calls:
 * - discovery at start-up and again for every MCP request that carries an `Authorization` header:
 *   `GET /api`, `GET /apis`, `GET /api/v1`, `GET /apis/authorization.k8s.io/v1` (the last only if `/apis`
 *   lists that group, which this fake does);
 * - for `events_list`: `POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews` (protobuf body: "may I
 *   list events in all namespaces?"), then `GET /api/v1/events` if allowed, else
 *   `GET /api/v1/namespaces/<context namespace, "default">/events`; with a namespace argument
 *   `GET /api/v1/namespaces/<ns>/events`; the tool's `fieldSelector` argument is passed on as `?fieldSelector=`.
 * It never uses `events.k8s.io`. Over plain HTTP it does not send the kubeconfig's token (it does over TLS).
 */

import { apiVersionOf, CLUSTER_SCOPED_KINDS } from "../../scripts/sim/index.ts";
import { writeKubeconfig as writeKubeconfigFile } from "./tmp.ts";

/** An event to serve, in the terms of `events_list`. */
export interface FakeEventInput {
  namespace: string;
  /** The involved object's kind (Pod, Node, Deployment, Job, …). */
  kind: string;
  name: string;
  reason: string;
  message: string;
  /** Default `Warning`. */
  type?: "Warning" | "Normal";
  /** Default now; served at whole seconds, as Kubernetes serialises `metav1.Time`. */
  timestamp?: Date;
  /** Default 1. */
  count?: number;
}

/** Options for {@link startFakeKube}. */
export interface FakeKubeOptions {
  /**
   * The answer to every SelfSubjectAccessReview (default true). With false the binary does not list all
   * namespaces: `events_list` without a namespace falls back to the kubeconfig context's namespace (`default`).
   */
  allowAccessReviews?: boolean;
}

/** A running fake Kubernetes API. */
export interface FakeKube {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Adds an event (served by the event lists from now on). */
  addEvent(e: FakeEventInput): void;
  /** Removes all events. */
  clearEvents(): void;
  /** Every request so far, in order, as `METHOD /path?query` (e.g. `GET /api/v1/events`). */
  requests: string[];
  /** Writes `dir/name` (default `kubeconfig`): a current context pointing here, no TLS, a dummy token. */
  writeKubeconfig(dir: string, name?: string): string;
  /** Stops the server (closing open connections). */
  stop(): Promise<void>;
}

/** Kubernetes `Event` (core/v1) as served. */
interface KubeEvent {
  apiVersion: "v1";
  kind: "Event";
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
  };
  involvedObject: { kind: string; namespace?: string; name: string; uid: string; apiVersion: string };
  reason: string;
  message: string;
  source: { component: string; host?: string };
  firstTimestamp: string;
  lastTimestamp: string;
  count: number;
  type: string;
  eventTime: null;
  reportingComponent: string;
  reportingInstance: string;
}

const EVENTS_PATH = /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?events$/;
const AUTHORIZATION_GV = "authorization.k8s.io/v1";

/** Field selector keys supported on event lists (a subset of the real API's), with how to read them. */
const FIELD_GETTERS: Readonly<Record<string, (e: KubeEvent) => string>> = {
  "metadata.name": (e) => e.metadata.name,
  "metadata.namespace": (e) => e.metadata.namespace,
  "involvedObject.kind": (e) => e.involvedObject.kind,
  "involvedObject.name": (e) => e.involvedObject.name,
  "involvedObject.namespace": (e) => e.involvedObject.namespace ?? "",
  "involvedObject.apiVersion": (e) => e.involvedObject.apiVersion,
  "involvedObject.uid": (e) => e.involvedObject.uid,
  reason: (e) => e.reason,
  type: (e) => e.type,
  source: (e) => e.source.component,
};

/** Starts a fake Kubernetes API on 127.0.0.1 (a free port). */
export async function startFakeKube(options: FakeKubeOptions = {}): Promise<FakeKube> {
  const allowAccessReviews = options.allowAccessReviews ?? true;
  const requests: string[] = [];
  let events: KubeEvent[] = [];
  let resourceVersion = 1;

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      requests.push(`${request.method} ${url.pathname}${url.search}`);
      if (request.body) await request.arrayBuffer(); // drain (SelfSubjectAccessReviews come as protobuf)
      const path = url.pathname.replace(/\/+$/, "") || "/";
      if (request.method === "GET") {
        const fixed = discovery(path);
        if (fixed) return Response.json(fixed);
        const eventsMatch = EVENTS_PATH.exec(path);
        if (eventsMatch) {
          if (url.searchParams.get("watch") === "true" || url.searchParams.get("watch") === "1") {
            return status(405, "MethodNotAllowed", "the fake Kubernetes API does not support watch");
          }
          const namespace = eventsMatch[1] === undefined ? null : decodeURIComponent(eventsMatch[1]);
          const selected = selectEvents(events, namespace, url.searchParams.get("fieldSelector") ?? "");
          if (typeof selected === "string") return status(400, "BadRequest", selected);
          return Response.json({
            kind: "EventList",
            apiVersion: "v1",
            metadata: { resourceVersion: String(resourceVersion) },
            items: selected,
          });
        }
      }
      if (request.method === "POST" && path === `/apis/${AUTHORIZATION_GV}/selfsubjectaccessreviews`) {
        // The request body is protobuf; the answer may be JSON (the client accepts both).
        return Response.json(
          {
            kind: "SelfSubjectAccessReview",
            apiVersion: AUTHORIZATION_GV,
            metadata: { creationTimestamp: null },
            spec: {},
            status: {
              allowed: allowAccessReviews,
              ...(allowAccessReviews ? {} : { reason: "denied by fake" }),
            },
          },
          { status: 201 },
        );
      }
      return status(404, "NotFound", `the server could not find the requested resource (${path})`);
    },
  });
  const url = `http://127.0.0.1:${server.port}`;

  return {
    url,
    requests,
    addEvent(e) {
      resourceVersion += 1;
      const at = new Date(Math.floor((e.timestamp ?? new Date()).getTime() / 1000) * 1000);
      const time = at.toISOString().replace(".000Z", "Z");
      const clusterScoped = CLUSTER_SCOPED_KINDS.has(e.kind);
      const component = e.kind === "Pod" ? "kubelet" : `${e.kind.toLowerCase()}-controller`;
      events.push({
        apiVersion: "v1",
        kind: "Event",
        metadata: {
          name: `${e.name}.${Bun.randomUUIDv7().replaceAll("-", "").slice(-16)}`,
          namespace: e.namespace,
          uid: crypto.randomUUID(),
          resourceVersion: String(resourceVersion),
          creationTimestamp: time,
        },
        involvedObject: {
          kind: e.kind,
          ...(clusterScoped ? {} : { namespace: e.namespace }),
          name: e.name,
          uid: clusterScoped ? e.name : crypto.randomUUID(),
          apiVersion: apiVersionOf(e.kind),
        },
        reason: e.reason,
        message: e.message,
        source: e.kind === "Pod" ? { component, host: "node-1" } : { component },
        firstTimestamp: time,
        lastTimestamp: time,
        count: e.count ?? 1,
        type: e.type ?? "Warning",
        eventTime: null,
        reportingComponent: component,
        reportingInstance: "",
      });
    },
    clearEvents() {
      events = [];
      resourceVersion += 1;
    },
    writeKubeconfig: (dir, name = "kubeconfig") => writeKubeconfigFile(dir, name, url),
    stop: () => server.stop(true),
  };
}

/** Fixed discovery documents by path, or null. */
function discovery(path: string): Record<string, unknown> | null {
  switch (path) {
    case "/api":
      return {
        kind: "APIVersions",
        versions: ["v1"],
        serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: "127.0.0.1" }],
      };
    case "/apis":
      return {
        kind: "APIGroupList",
        apiVersion: "v1",
        groups: [
          {
            name: "authorization.k8s.io",
            versions: [{ groupVersion: AUTHORIZATION_GV, version: "v1" }],
            preferredVersion: { groupVersion: AUTHORIZATION_GV, version: "v1" },
          },
        ],
      };
    case "/api/v1":
      return {
        kind: "APIResourceList",
        groupVersion: "v1",
        resources: [
          {
            name: "events",
            singularName: "event",
            namespaced: true,
            kind: "Event",
            verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
            shortNames: ["ev"],
          },
        ],
      };
    case `/apis/${AUTHORIZATION_GV}`:
      return {
        kind: "APIResourceList",
        apiVersion: "v1",
        groupVersion: AUTHORIZATION_GV,
        resources: [
          {
            name: "selfsubjectaccessreviews",
            singularName: "selfsubjectaccessreview",
            namespaced: false,
            kind: "SelfSubjectAccessReview",
            verbs: ["create"],
          },
        ],
      };
    default:
      return null;
  }
}

/** Events in `namespace` (null: all) matching `fieldSelector` (`a=b,c!=d`), or an error message. */
function selectEvents(
  events: readonly KubeEvent[],
  namespace: string | null,
  fieldSelector: string,
): KubeEvent[] | string {
  const tests: Array<(e: KubeEvent) => boolean> = [];
  for (const term of fieldSelector.split(",").filter((t) => t.trim() !== "")) {
    const match = /^\s*([^!=\s]+)\s*(==|!=|=)\s*(.*?)\s*$/.exec(term);
    if (!match) return `invalid field selector term: ${JSON.stringify(term)}`;
    const [, field = "", operator, value] = match;
    const get = FIELD_GETTERS[field];
    if (!get) return `field label not supported: ${field}`;
    tests.push(operator === "!=" ? (e) => get(e) !== value : (e) => get(e) === value);
  }
  return events.filter(
    (e) => (namespace === null || e.metadata.namespace === namespace) && tests.every((t) => t(e)),
  );
}

/** A Kubernetes `Status` failure response. */
function status(code: number, reason: string, message: string): Response {
  return Response.json(
    { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code },
    { status: code },
  );
}
