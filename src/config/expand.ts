/**
 * Environment expansion of a parsed config document, before validation: in every string value,
 * `${VAR}` becomes the variable's value, `${VAR:-default}` the default when VAR is unset or empty, and
 * `$$` a literal `$`. A `$` followed by anything else stays as written. An unset variable without a
 * default, a malformed reference and an unterminated `${` are problems with the field's path.
 *
 * @example
 * ```ts
 * expandEnvironment({ auth: { bearer_token: "${TOKEN}" } }, { TOKEN: "s3cret" });
 * // → { value: { auth: { bearer_token: "s3cret" } }, issues: [] }
 * expandEnvironment({ a: "${NOPE}" }, {}).issues;
 * // → [{ path: "a", message: "environment variable NOPE is not set (use ${NOPE:-default} for a default)" }]
 * ```
 */
import type { FieldIssue } from "../validation/issues.ts";

/** Environment variables by name (`process.env` or a test's own). */
export type Environment = Record<string, string | undefined>;

/** The expanded document and every problem found, each with its field path. */
export interface Expansion {
  value: unknown;
  issues: FieldIssue[];
}

/** Most nesting followed (a YAML document deeper than this is not a config file). */
const MAX_DEPTH = 64;

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Expands every string value of `document` (keys are left alone) with `env`. */
export function expandEnvironment(document: unknown, env: Environment): Expansion {
  const issues: FieldIssue[] = [];
  const value = expandValue(document, env, "", 0, issues);
  return { value, issues };
}

function expandValue(
  value: unknown,
  env: Environment,
  path: string,
  depth: number,
  issues: FieldIssue[],
): unknown {
  if (typeof value === "string") return expandString(value, env, path, issues);
  if (depth >= MAX_DEPTH) {
    issues.push({ path, message: `nested deeper than ${MAX_DEPTH} levels` });
    return value;
  }
  if (Array.isArray(value)) {
    return value.map((item, index) => expandValue(item, env, `${path}[${index}]`, depth + 1, issues));
  }
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = expandValue(item, env, path ? `${path}.${key}` : key, depth + 1, issues);
    }
    return out;
  }
  return value;
}

/** Expands one string; problems go to `issues` (the reference is then left as written). */
export function expandString(text: string, env: Environment, path: string, issues: FieldIssue[]): string {
  if (!text.includes("$")) return text;
  let out = "";
  let at = 0;
  while (at < text.length) {
    const dollar = text.indexOf("$", at);
    if (dollar < 0) {
      out += text.slice(at);
      break;
    }
    out += text.slice(at, dollar);
    const next = text[dollar + 1];
    if (next === "$") {
      out += "$";
      at = dollar + 2;
      continue;
    }
    if (next !== "{") {
      out += "$";
      at = dollar + 1;
      continue;
    }
    const close = text.indexOf("}", dollar + 2);
    if (close < 0) {
      issues.push({ path, message: `unterminated "\${" (write $$ for a literal $)` });
      return text;
    }
    const body = text.slice(dollar + 2, close);
    const separator = body.indexOf(":-");
    const name = separator < 0 ? body : body.slice(0, separator);
    if (!VARIABLE_NAME.test(name)) {
      issues.push({
        path,
        message: `"\${${name}}" is not a variable reference: names are letters, digits and _ (write $$ for a literal $)`,
      });
      return text;
    }
    const set = env[name];
    if (separator >= 0) out += set === undefined || set === "" ? body.slice(separator + 2) : set;
    else if (set === undefined) {
      issues.push({
        path,
        message: `environment variable ${name} is not set (use \${${name}:-default} for a default)`,
      });
      return text;
    } else out += set;
    at = close + 1;
  }
  return out;
}
