/** The `code` of a Node-style system error (`ENOENT`, `EACCES`, `SQLITE_FULL`…), or undefined. */

/**
 * The error code a system or driver error carries, or undefined when `error` has none.
 *
 * @example
 * ```ts
 * try { statSync(path) } catch (error) { if (errnoCode(error) === "ENOENT") return null; throw error; }
 * ```
 */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null || !("code" in error)) return undefined;
  const code = (error as { code: unknown }).code;
  return typeof code === "string" ? code : undefined;
}
