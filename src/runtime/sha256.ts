/**
 * SHA-256 of a string as hex, with the runtime's fastest way: `Bun.SHA256` under Bun (~200 ns for a
 * fault key there, against ~275 ns for `node:crypto`'s one-shot `hash` and ~500 ns for `createHash`),
 * `node:crypto`'s `hash` elsewhere. Picked once, when this module loads.
 */
import { hash } from "node:crypto";

/** `Bun.SHA256`, as used here. */
interface BunHashApi {
  SHA256: { hash(input: string, encoding: "hex"): string };
}

const bun = (globalThis as { Bun?: BunHashApi }).Bun;

/**
 * The SHA-256 digest of `text` (UTF-8), 64 lowercase hex characters.
 *
 * @example
 * ```ts
 * sha256Hex("abc"); // "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
 * ```
 */
export const sha256Hex: (text: string) => string = bun
  ? (text) => bun.SHA256.hash(text, "hex")
  : (text) => hash("sha256", text, "hex");
