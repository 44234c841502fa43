/**
 * The fast path for a config file written as JSON (JSON is YAML, and generated configs often are JSON).
 * The `yaml` package builds a full document (nodes, ranges, comments) before it gives a value: for a
 * 1000-cluster file that is ~150-200 ms of start-up, where `JSON.parse` takes a few milliseconds.
 */

/** Deeper nesting than this is left to the YAML parser (and its limits); a config needs about five levels. */
export const MAX_JSON_CONFIG_DEPTH = 32;

/**
 * `text` as a value when it is a JSON object that the YAML parser would read the same way: valid
 * JSON, no key repeated within one object, nested at most {@link MAX_JSON_CONFIG_DEPTH} deep. Null
 * otherwise: the caller then parses it as YAML, which reads whatever else YAML allows and reports each
 * problem (a repeated key, with its line) as it always has.
 *
 * @example
 * ```ts
 * parseJsonConfig('{"clusters": []}'); // { clusters: [] }
 * parseJsonConfig("clusters: []"); // null: YAML, not JSON
 * parseJsonConfig('{"a": 1, "a": 2}'); // null: the YAML parser reports the repeated key
 * ```
 */
export function parseJsonConfig(text: string): Record<string, unknown> | null {
  if (!text.trimStart().startsWith("{")) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return null;
  return hasRepeatedKeyOrDepth(text) ? null : (value as Record<string, unknown>);
}

/**
 * In valid JSON `text`: whether an object repeats a key (compared as decoded strings) or the nesting
 * passes {@link MAX_JSON_CONFIG_DEPTH}. One pass, a set of keys per open object.
 */
function hasRepeatedKeyOrDepth(text: string): boolean {
  // One entry per open object or array: the object's keys so far, or null for an array.
  const open: (Set<string> | null)[] = [];
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === "{" || char === "[") {
      open.push(char === "{" ? new Set() : null);
      if (open.length > MAX_JSON_CONFIG_DEPTH) return true;
    } else if (char === "}" || char === "]") {
      open.pop();
    } else if (char === '"') {
      const end = stringEnd(text, i);
      const keys = open[open.length - 1];
      if (keys && isKey(text, end + 1)) {
        const raw = text.slice(i + 1, end);
        const key = raw.includes("\\") ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        if (keys.has(key)) return true;
        keys.add(key);
      }
      i = end;
    }
  }
  return false;
}

/** The index of the quote closing the string that opens at `start` (valid JSON: it exists). */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
  return i;
}

/** Whether the string that ended just before `from` is an object key (a colon follows it). */
function isKey(text: string, from: number): boolean {
  let i = from;
  while (i < text.length && /\s/.test(text[i] ?? "")) i++;
  return text[i] === ":";
}
