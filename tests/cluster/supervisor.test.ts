import { expect, test } from "bun:test";
import { partition } from "../../src/cluster/supervisor.ts";

test("one group per cluster up to the maximum", () => {
  expect(partition(["a", "b", "c"], 16)).toEqual([["a"], ["b"], ["c"]]);
});

test("past the maximum, clusters spread evenly: group sizes differ by at most one", () => {
  const clusters = Array.from({ length: 1000 }, (_, i) => i);
  const groups = partition(clusters, 16);
  expect(groups).toHaveLength(16);
  const sizes = groups.map((g) => g.length);
  expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  expect(sizes.reduce((a, b) => a + b, 0)).toBe(1000);
  expect(new Set(groups.flat()).size).toBe(1000);
});

test("no clusters, no groups", () => {
  expect(partition([], 16)).toEqual([]);
});
