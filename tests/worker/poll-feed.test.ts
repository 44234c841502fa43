/**
 * PollFeed against the REAL stock kubernetes-mcp-server (no `events_subscribe`) over a fake Kubernetes
 * API on loopback: the feed contract. The binary comes from an optional dependency that exists for
 * linux/x64 only; elsewhere the suite is skipped.
 */
import { afterAll, expect } from "bun:test";
import { PollFeed } from "../../src/worker/poll-feed.ts";
import { startFakeKube } from "../helpers/fake-kube.ts";
import { startStockServer, stockServerAvailable } from "../helpers/stock-server.ts";
import { tempDir } from "../helpers/tmp.ts";
import { CONTRACT_POLL_INTERVAL_SECONDS, runFeedContract } from "./feed.contract.ts";

const tmp = tempDir("faultline-poll-feed-");
afterAll(() => tmp.cleanup());

/** Requests the fake API served for event lists so far. */
const eventLists = (requests: readonly string[]) => requests.filter((r) => r.includes("/events")).length;

runFeedContract("PollFeed", {
  skip: !stockServerAvailable(),
  async startServer() {
    const fake = await startFakeKube();
    const stock = await startStockServer(
      fake.writeKubeconfig(tmp.path, `${crypto.randomUUID()}.kubeconfig`),
    ).catch(async (error: unknown) => {
      await fake.stop();
      throw error;
    });
    let fakeStopped = false;
    return {
      cluster: { name: "stock", mcp_endpoint: stock.endpoint, labels: { env: "contract" } },
      inject: (pod) =>
        fake.addEvent({
          namespace: "default",
          kind: "Pod",
          name: pod,
          reason: "BackOff",
          message: `Back-off restarting failed container app in pod ${pod}`,
        }),
      breakWatch: async () => {
        fakeStopped = true;
        await fake.stop();
      },
      assertReleased: async () => {
        const before = eventLists(fake.requests);
        await Bun.sleep(CONTRACT_POLL_INTERVAL_SECONDS * 1000 * 3);
        expect(eventLists(fake.requests)).toBe(before);
      },
      stop: async () => {
        await stock.stop();
        if (!fakeStopped) await fake.stop();
      },
    };
  },
  makeFeed: (context) => new PollFeed(context),
});
