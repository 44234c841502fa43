/** Rendezvous hashing: the design's figures (docs/ha-design.md §2) over 1000 clusters. */
import { expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { keysOwnedBy, rendezvousOwner, rendezvousWeight } from "../../src/ha/rendezvous.ts";

const clusters = Array.from({ length: 1000 }, (_, i) => `cluster-${i}`);
const three = ["faultline-0", "faultline-1", "faultline-2"];

function owners(live: readonly string[]): Map<string, string | null> {
  return new Map(clusters.map((c) => [c, rendezvousOwner(c, live)]));
}

function moved(before: readonly string[], after: readonly string[]): string[] {
  const a = owners(before);
  const b = owners(after);
  return clusters.filter((c) => a.get(c) !== b.get(c));
}

test("the weight is the first 64 bits of sha256(replica NUL key), as the design's prototype computes it", () => {
  const expected = createHash("sha256").update("faultline-0\0cluster-7").digest().readBigUInt64BE(0);
  expect(rendezvousWeight("faultline-0", "cluster-7")).toBe(expected);
});

test("3 replicas share 1000 clusters as the design measured: 327 / 326 / 347", () => {
  const shares = new Map<string, number>();
  for (const owner of owners(three).values()) shares.set(owner ?? "", (shares.get(owner ?? "") ?? 0) + 1);
  expect([...shares.values()].sort()).toEqual([326, 327, 347]);
});

test("a 4th replica joining moves only the clusters it wins (251 of 1000, ~1/4), all to it", () => {
  const four = [...three, "faultline-3"];
  const moves = moved(three, four);
  expect(moves.length).toBe(251);
  const after = owners(four);
  for (const c of moves) expect(after.get(c)).toBe("faultline-3");
});

test("one of 3 leaving moves only the leaver's clusters (327), spread over the others", () => {
  const before = owners(three);
  const moves = moved(three, three.slice(0, 2));
  expect(moves.length).toBe(327);
  for (const c of moves) expect(before.get(c)).toBe("faultline-2");
});

test("the answer does not depend on the order of the live set; no live replica owns nothing", () => {
  for (const c of clusters.slice(0, 50)) {
    expect(rendezvousOwner(c, [...three].reverse())).toBe(rendezvousOwner(c, three));
  }
  expect(rendezvousOwner("x", [])).toBeNull();
});

test("keysOwnedBy: disjoint shares that cover every key; a replica not live owns none", () => {
  const shares = three.map((r) => keysOwnedBy(r, clusters, three));
  expect(shares.reduce((n, s) => n + s.size, 0)).toBe(1000);
  expect(new Set(shares.flatMap((s) => [...s])).size).toBe(1000);
  expect(keysOwnedBy("gone", clusters, three).size).toBe(0);
});
