/**
 * A fault's key as one integer: a 53-bit hash of (cluster, `fault_id`) that the SQLite store indexes
 * instead of the two texts. An integer key is short (more entries per index page) and a repeat, which
 * moves `last_seen_ms`, moves no index entry. Equal keys do not prove equal faults: a lookup by key
 * also compares the cluster and the fault id.
 *
 * The hash is cyrb53 (public domain, bryc) over the UTF-16 code units of `cluster`, a NUL and
 * `fault_id`: only `Math.imul` and 32-bit integer arithmetic, so Bun, Deno and Node agree on it.
 */

/**
 * The fault key of (cluster, faultId): an integer in [0, 2^53).
 *
 * @example
 * ```ts
 * faultKey("prod-eu", "f-1") === faultKey("prod-eu", "f-1"); // true
 * Number.isSafeInteger(faultKey("prod-eu", "f-1")); // true
 * ```
 */
export function faultKey(cluster: string, faultId: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < cluster.length; i++) {
    const ch = cluster.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  // The separator (a NUL, which a cluster name never holds): ("ab", "c") and ("a", "bc") differ.
  h1 = Math.imul(h1, 2654435761);
  h2 = Math.imul(h2, 1597334677);
  for (let i = 0; i < faultId.length; i++) {
    const ch = faultId.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
