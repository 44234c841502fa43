/** The agent's output contract: report.md and summary.json read from a real workspace, bounded and validated. */
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  ACTIONS_MAX,
  noAgentOutput,
  OUTPUT_MAX_BYTES,
  readAgentOutput,
  SUMMARY_MAX_CHARS,
} from "../../src/agent/output.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(dir.cleanup);

/** A fresh workspace holding `files`. */
function workspace(files: Record<string, string | Uint8Array> = {}): string {
  const path = mkdtempSync(join(dir.path, "ws-"));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(path, name), content);
  return path;
}

test("a valid summary and a report are read; unknown summary keys are dropped", async () => {
  const output = await readAgentOutput(
    workspace({
      "report.md": "# Report\n\nAll good.\n",
      "summary.json": JSON.stringify({
        summary: "OOM",
        confidence: "low",
        actions: ["raise limit"],
        extra: 1,
      }),
    }),
  );
  expect(output).toEqual({
    report: "# Report\n\nAll good.\n",
    report_status: "ok",
    report_bytes: 20,
    report_truncated: false,
    report_error: null,
    summary: { summary: "OOM", confidence: "low", actions: ["raise limit"] },
    summary_status: "ok",
    summary_error: null,
  });
});

test("nothing written: both missing, the summary says so", async () => {
  const output = await readAgentOutput(workspace());
  expect(output).toMatchObject({ report: null, report_status: "missing", report_error: null });
  expect(output).toMatchObject({
    summary: null,
    summary_status: "missing",
    summary_error: "summary.json: not written",
  });
  expect(noAgentOutput("never started").summary_error).toBe("never started");
});

test("an invalid summary is recorded with every problem and its field path", async () => {
  const bad = await readAgentOutput(
    workspace({ "summary.json": JSON.stringify({ confidence: "certain", actions: ["ok", 7] }) }),
  );
  expect(bad.summary_status).toBe("invalid");
  expect(bad.summary).toBeNull();
  expect(bad.summary_error).toBe(
    "summary.json: summary: required; confidence: must be one of low, medium, high; actions[1]: must be a string",
  );
  const notJson = await readAgentOutput(workspace({ "summary.json": "{ summary: nope" }));
  expect(notJson.summary_error).toStartWith("summary.json: not valid JSON");
  const notUtf8 = await readAgentOutput(workspace({ "summary.json": new Uint8Array([0x7b, 0xff, 0x7d]) }));
  expect(notUtf8.summary_error).toStartWith("summary.json: not valid JSON");
  const array = await readAgentOutput(workspace({ "summary.json": "[]" }));
  expect(array.summary_status).toBe("invalid");
});

test("summary strings and lists are bounded", async () => {
  const long = await readAgentOutput(
    workspace({ "summary.json": JSON.stringify({ summary: "x".repeat(SUMMARY_MAX_CHARS + 1) }) }),
  );
  expect(long.summary_error).toBe(`summary.json: summary: must be at most ${SUMMARY_MAX_CHARS} characters`);
  const many = await readAgentOutput(
    workspace({
      "summary.json": JSON.stringify({ summary: "s", actions: Array(ACTIONS_MAX + 1).fill("a") }),
    }),
  );
  expect(many.summary_error).toBe(`summary.json: actions: must have at most ${ACTIONS_MAX} entries`);
  const empty = await readAgentOutput(workspace({ "summary.json": JSON.stringify({ summary: "" }) }));
  expect(empty.summary_error).toBe("summary.json: summary: must not be empty");
});

test("a report over 256 KiB is cut at a character boundary and marked; a summary over it is invalid", async () => {
  // "é" is two bytes: the cap falls in the middle of one.
  const text = `a${"é".repeat(OUTPUT_MAX_BYTES)}`;
  const size = Buffer.byteLength(text);
  const output = await readAgentOutput(
    workspace({
      "report.md": text,
      "summary.json": JSON.stringify({ summary: "s", root_cause: "r".repeat(OUTPUT_MAX_BYTES) }),
    }),
  );
  expect(output.report_truncated).toBe(true);
  expect(output.report_bytes).toBe(size);
  const report = output.report ?? "";
  expect(report).toEndWith(
    `\n\n[truncated by faultline: report.md is ${size} bytes, only the first ${OUTPUT_MAX_BYTES} are kept]\n`,
  );
  expect(report).not.toContain("\uFFFD");
  expect(Buffer.byteLength(report.slice(0, report.indexOf("\n\n[truncated")))).toBeLessThanOrEqual(
    OUTPUT_MAX_BYTES,
  );
  expect(output.summary_status).toBe("invalid");
  expect(output.summary_error).toContain(`larger than the ${OUTPUT_MAX_BYTES} allowed`);
});

test("a symlink or a directory is not followed or read (the workspace is the agent's)", async () => {
  const secret = join(dir.path, "secret.txt");
  writeFileSync(secret, "top secret");
  const path = workspace();
  symlinkSync(secret, join(path, "report.md"));
  mkdirSync(join(path, "summary.json"));
  const output = await readAgentOutput(path);
  expect(output).toMatchObject({
    report: null,
    report_status: "invalid",
    report_error: "report.md: is a symbolic link, not a file",
    summary_status: "invalid",
    summary_error: "summary.json: is not a regular file",
  });
  expect(JSON.stringify(output)).not.toContain("top secret");
});
