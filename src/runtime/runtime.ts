/** Which JavaScript runtime this process runs on, decided once at start-up. */

/** The runtimes faultline runs on (`node` only for tools that load a module, never for faultline itself). */
export type RuntimeName = "bun" | "deno" | "node";

/**
 * This process's runtime, from `process.versions` (Bun and Deno each add their own entry).
 *
 * @example
 * ```ts
 * if (RUNTIME === "bun") ensureBunHttpCapacity();
 * ```
 */
export const RUNTIME: RuntimeName =
  process.versions.bun !== undefined ? "bun" : process.versions.deno !== undefined ? "deno" : "node";
