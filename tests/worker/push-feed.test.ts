/** PushFeed against simulated push servers (`events_subscribe`): the feed contract. */

import { expect } from "bun:test";
import { type Simulator, startSimulator } from "../../scripts/sim/index.ts";
import { PushFeed } from "../../src/worker/push-feed.ts";
import { runFeedContract } from "./feed.contract.ts";

runFeedContract("PushFeed", {
  async startServer() {
    const name = "pushing";
    const sim: Simulator = await startSimulator({ clusters: [name] });
    return {
      cluster: { name, mcp_endpoint: sim.endpoint(name), labels: { env: "contract" } },
      inject: (pod) => {
        sim.inject(name, { name: pod, reason: "BackOff" });
      },
      breakWatch: async () => {
        sim.subscriptionError(name, "watch of events failed: the server is shutting down");
      },
      assertReleased: async () => {
        expect(sim.stats(name).subscriptions).toBe(0);
      },
      stop: () => sim.stop(),
    };
  },
  makeFeed: (context) => new PushFeed(context, "faults"),
});
