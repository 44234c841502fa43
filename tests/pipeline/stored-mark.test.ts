/** StoredMark: a hand-over waits until the sink is done with every event the channel accepted before it asked. */
import { expect, test } from "bun:test";
import type { FaultEvent } from "../../src/events/fault.ts";
import type { IngestItem, IngestResult } from "../../src/incidents/model.ts";
import type { IncidentStore } from "../../src/incidents/store-api.ts";
import { Channel } from "../../src/pipeline/channel.ts";
import { runSink } from "../../src/pipeline/sink.ts";
import { StoredMark } from "../../src/pipeline/stored-mark.ts";
import { makeFault } from "../helpers/fault.ts";
import { sinkContext } from "../helpers/sink.ts";

test("counts what the channel accepted and what the sink is done with; waits resolve in order", async () => {
  const channel = new Channel<number>(2);
  const mark = new StoredMark(channel);
  await mark.untilDone(); // nothing accepted: at once
  channel.push(1);
  channel.push(2);
  expect(channel.push(3)).toBe(false); // refused: not counted
  expect(channel.accepted).toBe(2);
  const order: string[] = [];
  const both = mark.untilDone().then(() => order.push("both"));
  mark.advance(1);
  await Bun.sleep(5);
  expect(order).toEqual([]);
  mark.advance(1);
  await both;
  expect(order).toEqual(["both"]);
  expect(mark.done).toBe(2);
});

test("with the sink: resolves once the batch holding the events accepted before the call is stored, not before", async () => {
  const channel = new Channel<FaultEvent>(100);
  const mark = new StoredMark(channel);
  const ingested: string[][] = [];
  let release = (): void => {};
  const store = {
    async ingest(batch: readonly IngestItem[]): Promise<IngestResult[]> {
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      ingested.push(batch.map((item) => item.event.fault_id));
      return [];
    },
  } as unknown as IncidentStore;
  const stopping = new AbortController();
  const sink = runSink(sinkContext(channel, store, { stopping: stopping.signal, mark }));
  channel.push(makeFault({ fault_id: "a" }));
  channel.push(makeFault({ fault_id: "b" }));
  let done = false;
  const waiting = mark.untilDone().then(() => {
    done = true;
  });
  await Bun.sleep(20); // the sink took a and b, and waits on the store
  channel.push(makeFault({ fault_id: "c" })); // after the call: not waited for
  expect(done).toBe(false);
  release();
  await waiting;
  expect(ingested).toEqual([["a", "b"]]);
  channel.close();
  await Bun.sleep(5);
  release();
  await sink;
  expect(mark.done).toBe(3);
});
