/**
 * The replica's cluster host (src/ha/cluster-host.ts) with a recording supervisor: a take waits for the
 * cluster's connection here to finish closing and for the sink before it is taken; a take whose
 * cluster is released while it reads the resume (a fence) starts no connection, so a fence and a take
 * back never leave two connections of one cluster in one replica.
 */
import { expect, test } from "bun:test";
import { clusterHostOf } from "../../src/ha/cluster-host.ts";
import type { ClusterLiveness } from "../../src/incidents/model.ts";
import { clusterConfig } from "../helpers/cluster.ts";

/** A host over a store whose liveness read waits for `gate`, and a supervisor that records what it did. */
function host(gate: Promise<void> = Promise.resolve()) {
  const calls: string[] = [];
  const removal = Promise.withResolvers<void>();
  const stored = { events: Promise.withResolvers<void>() };
  const held = new Set<string>();
  const clusterHost = clusterHostOf(
    {
      store: {
        maintenance: {
          liveness: async (): Promise<ClusterLiveness[]> => {
            await gate;
            return [];
          },
          recentEvents: () => [],
        },
      },
      registry: { sync: () => {} },
      supervisor: {
        add: (configs) => {
          calls.push(`add:${configs.map((c) => c.name).join(",")}`);
        },
        remove: (names) => {
          calls.push(`remove:${names.join(",")}`);
          return removal.promise;
        },
      },
      clusters: new Map([["east", clusterConfig("east")]]),
      intakeStored: async () => {},
      eventsStored: () => stored.events.promise,
    },
    held,
  );
  return { clusterHost, calls, held, removal, stored };
}

test("a take released while it reads the resume (fenced) starts no connection; the next take starts one", async () => {
  const gate = Promise.withResolvers<void>();
  const { clusterHost, calls, held } = host(gate.promise);
  const first = clusterHost.take(["east"]);
  const release = clusterHost.release(["east"], "fenced");
  gate.resolve();
  await first;
  expect(calls).toEqual(["remove:east"]);
  expect(held.size).toBe(0);
  await Promise.race([release, Bun.sleep(10)]);
  await clusterHost.take(["east"]);
  expect(calls).toEqual(["remove:east", "add:east"]);
  expect([...held]).toEqual(["east"]);
});

test("before a take: the cluster's connection here has closed and the sink is past what was received", async () => {
  const { clusterHost, removal, stored } = host();
  void clusterHost.release(["east"], "fenced");
  let ready = false;
  const before = Promise.resolve(clusterHost.beforeTake?.(["east"])).then(() => {
    ready = true;
  });
  await Bun.sleep(20);
  expect(ready).toBe(false); // still closing
  removal.resolve();
  await Bun.sleep(20);
  expect(ready).toBe(false); // closed; the sink is not past its events yet
  stored.events.resolve();
  await before;
  expect(ready).toBe(true);
});
