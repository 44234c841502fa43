/**
 * Rendezvous (highest-random-weight) hashing: which live replica should own a key (a cluster, a sink).
 * Every replica computes the same answer from the same live set, without writing anything per key.
 * When a replica joins, only the keys it now wins move (about 1/n of them); when one leaves, only the
 * keys it held move. `docs/ha-design.md` §2 has the figures (1000 clusters over 3 replicas: a 4th moves
 * 251, a leaver's 327, against 755 and 689 for modulo hashing).
 */
import { sha256Hex } from "../runtime/sha256.ts";

/**
 * The weight of `key` on `replica`: the first 64 bits of sha256(replica NUL key), as a bigint (the
 * design's prototype, `scripts/bench-pg.ts`, uses the same).
 */
export function rendezvousWeight(replica: string, key: string): bigint {
  return BigInt(`0x${sha256Hex(`${replica}\0${key}`).slice(0, 16)}`);
}

/**
 * The replica of `live` that should own `key` (the highest weight; ties, which need a 64-bit
 * collision, go to the smaller name), or null when none is live.
 *
 * @example
 * ```ts
 * rendezvousOwner("prod-east", ["faultline-0", "faultline-1", "faultline-2"]); // e.g. "faultline-1"
 * rendezvousOwner("prod-east", []); // null
 * ```
 */
export function rendezvousOwner(key: string, live: readonly string[]): string | null {
  let best: string | null = null;
  let bestWeight = -1n;
  for (const replica of live) {
    const weight = rendezvousWeight(replica, key);
    if (weight > bestWeight || (weight === bestWeight && best !== null && replica < best)) {
      best = replica;
      bestWeight = weight;
    }
  }
  return best;
}

/**
 * The keys of `keys` that `replica` should own among `live` (empty when `replica` is not live).
 *
 * @example
 * ```ts
 * const mine = keysOwnedBy("faultline-0", ["a", "b", "c"], live); // Set { "b" }
 * ```
 */
export function keysOwnedBy(replica: string, keys: Iterable<string>, live: readonly string[]): Set<string> {
  const mine = new Set<string>();
  if (!live.includes(replica)) return mine;
  for (const key of keys) if (rendezvousOwner(key, live) === replica) mine.add(key);
  return mine;
}
