import { afterEach, expect, test } from "bun:test";
import { setLogSink } from "../../src/log.ts";
import { DROP_LOG_INTERVAL_MS, DROP_REASONS, Drops } from "../../src/pipeline/stages.ts";

let restore: ((line: string) => void) | null = null;
afterEach(() => {
  if (restore) setLogSink(restore);
});

test("every drop reason is counted from zero", () => {
  expect(Object.keys(new Drops().counts).sort()).toEqual(Object.keys(DROP_REASONS).sort());
});

test("throttled drops are all counted but logged once per key per minute, with what was not logged", () => {
  const lines: Record<string, unknown>[] = [];
  restore = setLogSink((line) => lines.push(JSON.parse(line)));
  const drops = new Drops();
  const t0 = 1_000_000;
  for (let i = 0; i < 1000; i++)
    drops.recordThrottled("evil/too_deep", "too_deep", 1, "deep", { cluster: "evil" }, t0 + i);
  drops.recordThrottled("other/too_deep", "too_deep", 1, "deep", { cluster: "other" }, t0 + 5);
  drops.recordThrottled(
    "evil/too_deep",
    "too_deep",
    1,
    "deep",
    { cluster: "evil" },
    t0 + DROP_LOG_INTERVAL_MS,
  );
  expect(drops.counts.too_deep).toBe(1002);
  expect(lines.map((l) => [l.cluster, l.dropped_since_last_log, l.stage, l.reason])).toEqual([
    ["evil", 1, "source", "too_deep"],
    ["other", 1, "source", "too_deep"],
    ["evil", 1000, "source", "too_deep"],
  ]);
});
