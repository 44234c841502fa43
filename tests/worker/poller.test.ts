/**
 * EventsPoller: the first list is a baseline, unless a previous faultline's gap is to be resumed; then
 * it reports the Warning events since then that are not stored already.
 */
import { expect, test } from "bun:test";
import { EventsPoller, type ListEvents } from "../../src/worker/poller.ts";

/** An `events_list` answer in the stock server's YAML, one Warning BackOff per `[pod, "HH:MM:SS"]`. */
function listing(events: Array<[pod: string, time: string]>): ListEvents {
  const items = events.map(
    ([pod, time]) => `- InvolvedObject:
    Kind: Pod
    Name: ${pod}
    apiVersion: v1
  Message: Back-off restarting failed container
  Namespace: shop
  Reason: BackOff
  Timestamp: 2026-11-25 ${time} +0000 UTC
  Type: Warning`,
  );
  return async () => `# The following events (YAML format) were found:\n${items.join("\n")}\n`;
}

const cluster = { name: "c1", labels: {} };
const at = (time: string) => Date.parse(`2026-11-25T${time}Z`);

test("without resume the first list is a baseline: nothing fires", async () => {
  const poller = new EventsPoller(cluster);
  expect(await poller.poll(listing([["a", "03:00:00"]]))).toEqual([]);
  const next = await poller.poll(
    listing([
      ["a", "03:00:00"],
      ["b", "03:00:05"],
    ]),
  );
  expect(next.map((f) => f.resource.name)).toEqual(["b"]);
});

test("resumed, the first list reports the gap since the last-alive moment, skipping what is stored", async () => {
  const poller = new EventsPoller(cluster);
  // Last alive at 03:00:10.400 (to the second: 03:00:10); pod `stored` had its fault stored at 03:00:12.
  poller.resume(at("03:00:10.400"), new Map([["Pod/shop/stored", at("03:00:12")]]));
  const first = await poller.poll(
    listing([
      ["before-gap", "03:00:09"],
      ["at-the-second", "03:00:10"],
      ["stored", "03:00:12"],
      ["in-gap", "03:00:20"],
    ]),
  );
  expect(first.map((f) => f.resource.name)).toEqual(["at-the-second", "in-gap"]);
  // Afterwards it is an ordinary poller: only what is new since the previous list fires.
  const second = await poller.poll(
    listing([
      ["in-gap", "03:00:20"],
      ["later", "03:00:30"],
    ]),
  );
  expect(second.map((f) => f.resource.name)).toEqual(["later"]);
});

test("a resume after the first list changes nothing (it only shapes the baseline)", async () => {
  const poller = new EventsPoller(cluster);
  await poller.poll(listing([["a", "03:00:00"]]));
  poller.resume(at("02:00:00"), new Map());
  expect(await poller.poll(listing([["a", "03:00:00"]]))).toEqual([]);
});
