/** Compile-time exhaustive lists: one runtime array checked against a string union. */

/**
 * Returns a function that takes every member of the union `T`, each once or more, and no other
 * value: a list that misses a member of `T` does not compile. Lets one array serve as the runtime
 * copy of a union (statuses, column names) without the two drifting apart.
 *
 * @example
 * ```ts
 * type Colour = "red" | "green";
 * const COLOURS = exhaustiveList<Colour>()(["red", "green"]); // readonly ["red", "green"]
 * exhaustiveList<Colour>()(["red"]); // compile error: "green" is missing
 * ```
 */
export function exhaustiveList<T extends string>() {
  return <const L extends readonly T[]>(values: L & ([T] extends [L[number]] ? unknown : never)): L => values;
}
