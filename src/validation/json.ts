/**
 * JSON text checked against a valibot schema in one step, for small inputs whose only failure
 * handling is "not one of ours": a file an agent could have touched, a line from a child process.
 *
 * @example
 * ```ts
 * const note = parseJsonAs(NoteSchema, line); // the parsed value, or null
 * ```
 */
import * as v from "valibot";

/** `text` parsed as JSON and validated by `schema`; null when it is not JSON or does not fit. */
export function parseJsonAs<TSchema extends v.GenericSchema>(
  schema: TSchema,
  text: string,
): v.InferOutput<TSchema> | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = v.safeParse(schema, json);
  return parsed.success ? parsed.output : null;
}
