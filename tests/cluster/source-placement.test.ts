import { expect, test } from "bun:test";
import { sourcesInline } from "../../src/cluster/source-placement.ts";

test("auto runs the source on the main thread only with one core and one worker", () => {
  expect(sourcesInline({ threads: "auto", max: 1 }, 1)).toBe(true);
  expect(sourcesInline({ threads: "auto", max: 1 }, 2)).toBe(false);
  expect(sourcesInline({ threads: "auto", max: 2 }, 1)).toBe(false);
});

test("never and always decide alone", () => {
  expect(sourcesInline({ threads: "never", max: 8 }, 16)).toBe(true);
  expect(sourcesInline({ threads: "always", max: 1 }, 1)).toBe(false);
});
