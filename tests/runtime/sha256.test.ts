import { expect, test } from "bun:test";
import { hash } from "node:crypto";
import { sha256Hex } from "../../src/runtime/sha256.ts";

test("sha256Hex is SHA-256 in hex, the same as node:crypto's (the Deno path), for ASCII and UTF-8", () => {
  expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  for (const text of ["", "shop/Pod/api-7f9c/CrashLoopBackOff", "ns/Pod/café-✓/Reason"]) {
    expect(sha256Hex(text)).toBe(hash("sha256", text, "hex"));
  }
});
