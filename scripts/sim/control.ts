/**
 * The simulator's control HTTP API (Hono): list clusters, inject faults, subscription errors, raw
 * notifications and hostile wire payloads, drop sessions, cancel subscriptions silently, take a cluster
 * down and up again.
 */
import { type Context, Hono } from "hono";
import * as v from "valibot";
import { HostileSchema } from "./hostile.ts";
import type { SimClusterInfo, SimFault, Simulator } from "./types.ts";

/** What the control API drives: a {@link Simulator} that can also check and describe a cluster. */
export interface ControlledSimulator extends Simulator {
  /** Whether a cluster of that name exists. */
  hasCluster(name: string): boolean;
  /** Name, endpoint and counters of a cluster. */
  info(cluster: string): SimClusterInfo;
}

const SimFaultEntries = {
  shape: v.optional(v.picklist(["flat", "nested"])),
  faultType: v.optional(v.string()),
  severity: v.optional(v.picklist(["info", "warning", "critical"])),
  namespace: v.optional(v.string()),
  kind: v.optional(v.string()),
  name: v.optional(v.string()),
  reason: v.optional(v.string()),
  message: v.optional(v.string()),
  context: v.optional(v.string()),
  faultId: v.optional(v.string()),
  timestamp: v.optional(v.string()),
  labels: v.optional(v.record(v.string(), v.string())),
  container: v.optional(v.string()),
  eventType: v.optional(v.picklist(["Normal", "Warning"])),
};

const FaultRequestSchema = v.strictObject({
  ...SimFaultEntries,
  count: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100_000))),
});

const SubscriptionErrorRequestSchema = v.strictObject({ error: v.pipe(v.string(), v.minLength(1)) });

const RawRequestSchema = v.strictObject({ logger: v.string(), data: v.unknown() });

type BodyResult<T> = { ok: true; value: T } | { ok: false; response: Response };

/** Reads and validates a JSON body; an empty body counts as `{}`. */
async function readBody<TSchema extends v.GenericSchema>(
  c: Context,
  schema: TSchema,
): Promise<BodyResult<v.InferOutput<TSchema>>> {
  const text = await c.req.text();
  let json: unknown = {};
  if (text.trim() !== "") {
    try {
      json = JSON.parse(text);
    } catch {
      return { ok: false, response: c.json({ error: "invalid JSON body" }, 400) };
    }
  }
  const parsed = v.safeParse(schema, json);
  if (!parsed.success) {
    return { ok: false, response: c.json({ error: `invalid body: ${v.summarize(parsed.issues)}` }, 400) };
  }
  return { ok: true, value: parsed.output };
}

/** The i-th of `count` faults: distinct names (and derived fault ids) when more than one is requested. */
function nthFault(fault: SimFault, index: number, count: number): SimFault {
  if (count === 1) return fault;
  const { faultId: _ignored, ...rest } = fault;
  return fault.name === undefined ? rest : { ...rest, name: `${fault.name}-${index + 1}` };
}

type ClusterRoute = (c: Context, cluster: string) => Response | Promise<Response>;

/**
 * The control API over a simulator; every `/clusters/:name/…` route answers 404 for an unknown cluster.
 *
 * @example
 * ```ts
 * listen({ hostname: "127.0.0.1", port: 0, fetch: createControlApp(simulator).fetch });
 * ```
 */
export function createControlApp(simulator: ControlledSimulator): Hono {
  const app = new Hono();
  const forCluster =
    (route: ClusterRoute) =>
    (c: Context): Response | Promise<Response> => {
      const name = c.req.param("name") ?? "";
      if (!simulator.hasCluster(name)) return c.json({ error: `unknown cluster: ${name}` }, 404);
      return route(c, name);
    };

  app.get("/clusters", (c) => c.json({ clusters: simulator.clusters.map((name) => simulator.info(name)) }));
  app.get(
    "/clusters/:name",
    forCluster((c, name) => c.json(simulator.info(name))),
  );
  app.post(
    "/clusters/:name/faults",
    forCluster(async (c, name) => {
      const body = await readBody(c, FaultRequestSchema);
      if (!body.ok) return body.response;
      const { count = 1, ...fault } = body.value;
      let delivered = 0;
      for (let index = 0; index < count; index++)
        delivered += simulator.inject(name, nthFault(fault, index, count));
      return c.json({ injected: count, delivered });
    }),
  );
  app.post(
    "/clusters/:name/subscription-error",
    forCluster(async (c, name) => {
      const body = await readBody(c, SubscriptionErrorRequestSchema);
      if (!body.ok) return body.response;
      return c.json({ delivered: simulator.subscriptionError(name, body.value.error) });
    }),
  );
  app.post(
    "/clusters/:name/raw",
    forCluster(async (c, name) => {
      const body = await readBody(c, RawRequestSchema);
      if (!body.ok) return body.response;
      return c.json({ delivered: simulator.injectRaw(name, body.value.logger, body.value.data) });
    }),
  );
  app.post(
    "/clusters/:name/hostile",
    forCluster(async (c, name) => {
      const body = await readBody(c, HostileSchema);
      if (!body.ok) return body.response;
      return c.json({ delivered: await simulator.injectHostile(name, body.value) });
    }),
  );
  app.post(
    "/clusters/:name/drop-sessions",
    forCluster((c, name) => {
      simulator.dropSessions(name);
      return c.json({ ok: true });
    }),
  );
  app.post(
    "/clusters/:name/cancel-subscriptions",
    forCluster((c, name) => c.json({ cancelled: simulator.cancelSubscriptions(name) })),
  );
  app.post(
    "/clusters/:name/down",
    forCluster(async (c, name) => {
      await simulator.down(name);
      return c.json({ ok: true });
    }),
  );
  app.post(
    "/clusters/:name/up",
    forCluster(async (c, name) => {
      await simulator.up(name);
      return c.json({ ok: true, endpoint: simulator.endpoint(name) });
    }),
  );
  app.notFound((c) => c.json({ error: `not found: ${c.req.method} ${c.req.path}` }, 404));
  app.onError((error, c) => c.json({ error: error.message }, 500));
  return app;
}
