/**
 * Valibot issues as people read them: a field path (`clusters[1].kubeconfig`) and a short message
 * (`required`, `unknown key`, or the schema's own message). One formatter for every validated input:
 * the config file, MCP notifications and `events_list` answers.
 *
 * @example
 * ```ts
 * const result = v.safeParse(schema, input);
 * if (!result.success) console.error(result.issues.map((i) => formatFieldIssue(toFieldIssue(i))));
 * // → ["clusters[1].kubeconfig: required", "extra: unknown key"]
 * ```
 */
import type * as v from "valibot";

/** One problem in a validated value: where (a field path, "" for the value itself) and what. */
export interface FieldIssue {
  path: string;
  message: string;
}

/** Any valibot issue. */
export type ValibotIssue = v.BaseIssue<unknown>;

/** The message of an issue whose value is absent. */
export const REQUIRED = "required";

/** The message of an issue for a key a strict object does not allow. */
export const UNKNOWN_KEY = "unknown key";

/**
 * The issue's field path below `root`: the keys `v.getDotPath` joins, but with array indices in
 * brackets (`clusters[1].kubeconfig`, `data.logs[0].content`), the form every message uses
 * (`v.getDotPath` would write `clusters.1.kubeconfig`). `root` alone for the value itself.
 */
export function issuePath(issue: ValibotIssue, root = ""): string {
  let path = root;
  for (const { key } of issue.path ?? []) {
    path += typeof key === "number" ? `[${key}]` : `${path ? "." : ""}${String(key)}`;
  }
  return path;
}

/** Whether the issue is about a value that is absent (a missing key). */
export function isMissing(issue: ValibotIssue): boolean {
  return issue.received === "undefined";
}

/** {@link REQUIRED} for an absent value, {@link UNKNOWN_KEY} for a key a strict object rejects, else the message. */
export function issueMessage(issue: ValibotIssue): string {
  if (isMissing(issue)) return REQUIRED;
  if (isUnknownKey(issue)) return UNKNOWN_KEY;
  return issue.message;
}

/** The issue's path (below `root`) and message. */
export function toFieldIssue(issue: ValibotIssue, root = ""): FieldIssue {
  return { path: issuePath(issue, root), message: issueMessage(issue) };
}

/**
 * `path: message`, or just the message when the issue is about the value itself.
 *
 * @example
 * ```ts
 * formatFieldIssue({ path: "clusters[1].kubeconfig", message: "required" }); // "clusters[1].kubeconfig: required"
 * formatFieldIssue({ path: "", message: "config file is empty" });           // "config file is empty"
 * ```
 */
export function formatFieldIssue(issue: FieldIssue): string {
  return issue.path ? `${issue.path}: ${issue.message}` : issue.message;
}

/** A strict object's issue for a key it does not declare (valibot expects `never` there). */
function isUnknownKey(issue: ValibotIssue): boolean {
  return issue.kind === "schema" && issue.path?.at(-1)?.origin === "key" && issue.expected === "never";
}
