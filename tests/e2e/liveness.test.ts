/**
 * A connection that dies without an error (stream open but silent, requests unanswered) is found
 * by the periodic ping and recovered once the peer answers again.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type Fleet, startFleet } from "../helpers/fleet.ts";
import { type BlackholeProxy, startBlackholeProxy } from "../helpers/proxy.ts";
import { waitFor } from "../helpers/wait.ts";

let fleet: Fleet;
let proxy: BlackholeProxy | undefined;

beforeAll(async () => {
  fleet = await startFleet({
    clusters: ["hidden", "visible"],
    endpointFor: (name, endpoint) => {
      if (name !== "hidden") return endpoint;
      proxy = startBlackholeProxy(endpoint);
      return proxy.url;
    },
  });
  await fleet.waitActive();
});
afterAll(async () => {
  await fleet?.stop();
  await proxy?.stop();
});

test("a silently dead peer is detected by ping timeout, and the connection recovers when it answers again", async () => {
  proxy?.blackhole(true);
  const failed = await waitFor(
    "hidden failed",
    () => {
      const state = fleet.app.registry.get("hidden");
      return state?.status === "failed" ? state : null;
    },
    8000,
  );
  expect(failed.last_error).toStartWith("ping failed: no answer within 2s");
  expect(fleet.app.registry.get("visible")?.status).toBe("active");

  proxy?.blackhole(false);
  await fleet.waitActive(["hidden"], 10_000);
  // The dead session was ended on the server once it answered again: one live subscription remains.
  await waitFor("stale session ended", () => fleet.sim.stats("hidden").sessions === 1);
  expect(fleet.sim.stats("hidden").subscriptions).toBe(1);
  expect(fleet.sim.inject("hidden", { name: "back" })).toBe(1);
  await waitFor("hidden delivers", () => fleet.finishedRuns().some((r) => r.result.cluster === "hidden"));
});
