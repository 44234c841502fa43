import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import {
  formatFieldIssue,
  isMissing,
  issueMessage,
  issuePath,
  REQUIRED,
  toFieldIssue,
  UNKNOWN_KEY,
} from "../../src/validation/issues.ts";

const Item = v.strictObject({
  name: v.string("must be a string"),
  tags: v.optional(v.array(v.string("tag!"))),
});
const Doc = v.strictObject({
  items: v.array(Item),
  labels: v.optional(v.record(v.string(), v.string("label!"))),
});

/** The issues valibot reports for `input` against {@link Doc}. */
function issuesOf(input: unknown) {
  const result = v.safeParse(Doc, input);
  if (result.success) throw new Error("expected issues");
  return result.issues;
}

describe("field issues", () => {
  test("array indices are in brackets, keys joined with dots, below an optional root", () => {
    const [issue] = issuesOf({ items: [{ name: "a" }, { name: "b", tags: ["x", 3] }] });
    if (!issue) throw new Error("no issue");
    expect(issuePath(issue)).toBe("items[1].tags[1]");
    expect(issuePath(issue, "data")).toBe("data.items[1].tags[1]");
    expect(formatFieldIssue(toFieldIssue(issue))).toBe("items[1].tags[1]: tag!");
  });

  test("record keys with dots stay as written", () => {
    const [issue] = issuesOf({ items: [], labels: { "app.kubernetes.io/name": 1 } });
    if (!issue) throw new Error("no issue");
    expect(formatFieldIssue(toFieldIssue(issue))).toBe("labels.app.kubernetes.io/name: label!");
  });

  test("a missing key is required, an undeclared key of a strict object is unknown", () => {
    const issues = issuesOf({ items: [{ colour: "red" }] });
    const byPath = Object.fromEntries(issues.map((issue) => [issuePath(issue), issue]));
    const missing = byPath["items[0].name"];
    const unknown = byPath["items[0].colour"];
    if (!missing || !unknown) throw new Error(`unexpected paths: ${Object.keys(byPath).join(", ")}`);
    expect(isMissing(missing)).toBe(true);
    expect(issueMessage(missing)).toBe(REQUIRED);
    expect(isMissing(unknown)).toBe(false);
    expect(issueMessage(unknown)).toBe(UNKNOWN_KEY);
  });

  test("an issue about the value itself has an empty path and prints its message alone", () => {
    const [issue] = issuesOf("not an object");
    if (!issue) throw new Error("no issue");
    expect(issuePath(issue)).toBe("");
    expect(formatFieldIssue(toFieldIssue(issue))).toBe(issue.message);
  });
});
