/**
 * The agent's output contract: after a run, an agent may have left `report.md` (free text) and
 * `summary.json` (`{ summary, root_cause?, confidence?, actions? }`) in its workspace. Both are
 * untrusted: each is read only when it is a regular file (never through a symlink, never blocking on a
 * FIFO), at most {@link OUTPUT_MAX_BYTES} of it; a longer report is cut (and marked as cut), a longer
 * summary is invalid. The summary is validated with valibot, its strings and lists bounded.
 */
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import * as v from "valibot";
import { errorMessage } from "../log.ts";
import { errnoCode } from "../runtime/errno.ts";
import { formatFieldIssue, toFieldIssue } from "../validation/issues.ts";

/** The agent's free-text report in its workspace. */
export const REPORT_FILE = "report.md";
/** The agent's structured summary in its workspace. */
export const SUMMARY_FILE = "summary.json";
/** Each output file is read up to this many bytes (256 KiB). */
export const OUTPUT_MAX_BYTES = 256 * 1024;
/** Longest `summary`, in characters. */
export const SUMMARY_MAX_CHARS = 4096;
/** Longest `root_cause`, in characters. */
export const ROOT_CAUSE_MAX_CHARS = 16_384;
/** Most `actions`. */
export const ACTIONS_MAX = 50;
/** Longest action, in characters. */
export const ACTION_MAX_CHARS = 2048;

/** Confidence levels an agent may give. */
export const CONFIDENCES = ["low", "medium", "high"] as const;

/** `summary.json`: unknown keys are ignored (and not kept). */
export const TriageSummarySchema = v.object({
  summary: v.pipe(
    v.string("must be a string"),
    v.minLength(1, "must not be empty"),
    v.maxLength(SUMMARY_MAX_CHARS, `must be at most ${SUMMARY_MAX_CHARS} characters`),
  ),
  root_cause: v.optional(
    v.pipe(
      v.string("must be a string"),
      v.maxLength(ROOT_CAUSE_MAX_CHARS, `must be at most ${ROOT_CAUSE_MAX_CHARS} characters`),
    ),
  ),
  confidence: v.optional(v.picklist(CONFIDENCES, `must be one of ${CONFIDENCES.join(", ")}`)),
  actions: v.optional(
    v.pipe(
      v.array(
        v.pipe(
          v.string("must be a string"),
          v.maxLength(ACTION_MAX_CHARS, `must be at most ${ACTION_MAX_CHARS} characters`),
        ),
        "must be a list of strings",
      ),
      v.maxLength(ACTIONS_MAX, `must have at most ${ACTIONS_MAX} entries`),
    ),
  ),
});

/** A valid `summary.json`. */
export type TriageSummary = v.InferOutput<typeof TriageSummarySchema>;

/** Whether an output file was there and usable: `ok`, `missing`, or `invalid` (with why). */
export const OUTPUT_STATUSES = ["ok", "missing", "invalid"] as const;
/** One of {@link OUTPUT_STATUSES}. */
export type OutputStatus = (typeof OUTPUT_STATUSES)[number];

/** What a run left for people: its report and its summary, each with its status. */
export interface RunOutput {
  /** `report.md` as text (at most {@link OUTPUT_MAX_BYTES}, then a truncation line); null unless `ok`. */
  report: string | null;
  report_status: OutputStatus;
  /** The file's size in bytes; null when missing or unreadable. */
  report_bytes: number | null;
  /** True when the report was longer than {@link OUTPUT_MAX_BYTES} and was cut. */
  report_truncated: boolean;
  /** Why the report could not be read (`invalid`), else null. */
  report_error: string | null;
  /** The validated `summary.json`; null unless `ok`. */
  summary: TriageSummary | null;
  summary_status: OutputStatus;
  /** Why the summary is `missing` or `invalid` (field paths included), else null. */
  summary_error: string | null;
}

/** One output file as read: its bytes (up to the cap), its size, or why it could not be read. */
type ReadFile =
  | { status: "ok"; bytes: Uint8Array; size: number }
  | { status: "missing" }
  | { status: "invalid"; error: string };

/**
 * Reads and checks `report.md` and `summary.json` in `workspace`. Never throws: every problem is a
 * status with its error.
 *
 * @example
 * ```ts
 * const output = await readAgentOutput("/state/incidents/20261125T031505Z-prod-east-1042");
 * if (output.summary_status === "ok") console.log(output.summary?.summary);
 * ```
 */
export async function readAgentOutput(workspace: string): Promise<RunOutput> {
  const [report, summary] = await Promise.all([
    readBounded(join(workspace, REPORT_FILE)),
    readBounded(join(workspace, SUMMARY_FILE)),
  ]);
  return { ...reportOf(report), ...summaryOf(summary) };
}

/** The output of a run that has no workspace to read (its agent never started). */
export function noAgentOutput(why: string): RunOutput {
  return {
    ...reportOf({ status: "missing" }),
    summary: null,
    summary_status: "missing",
    summary_error: why,
  };
}

function reportOf(
  file: ReadFile,
): Pick<RunOutput, "report" | "report_status" | "report_bytes" | "report_truncated" | "report_error"> {
  if (file.status !== "ok") {
    return {
      report: null,
      report_status: file.status,
      report_bytes: null,
      report_truncated: false,
      report_error: file.status === "invalid" ? `${REPORT_FILE}: ${file.error}` : null,
    };
  }
  const truncated = file.size > OUTPUT_MAX_BYTES;
  // A cut in the middle of a UTF-8 sequence decodes to U+FFFD: drop that last partial character.
  let text = new TextDecoder().decode(file.bytes);
  if (truncated) {
    text = `${text.replace(/\uFFFD$/, "")}\n\n[truncated by faultline: ${REPORT_FILE} is ${file.size} bytes, only the first ${OUTPUT_MAX_BYTES} are kept]\n`;
  }
  return {
    report: text,
    report_status: "ok",
    report_bytes: file.size,
    report_truncated: truncated,
    report_error: null,
  };
}

function summaryOf(file: ReadFile): Pick<RunOutput, "summary" | "summary_status" | "summary_error"> {
  const invalid = (error: string) => ({
    summary: null,
    summary_status: "invalid" as const,
    summary_error: `${SUMMARY_FILE}: ${error}`,
  });
  if (file.status === "missing") {
    return { summary: null, summary_status: "missing", summary_error: `${SUMMARY_FILE}: not written` };
  }
  if (file.status === "invalid") return invalid(file.error);
  if (file.size > OUTPUT_MAX_BYTES) {
    return invalid(`${file.size} bytes, larger than the ${OUTPUT_MAX_BYTES} allowed`);
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(file.bytes));
  } catch (error) {
    return invalid(`not valid JSON (${errorMessage(error)})`);
  }
  const result = v.safeParse(TriageSummarySchema, json);
  if (!result.success) {
    return invalid(result.issues.map((issue) => formatFieldIssue(toFieldIssue(issue))).join("; "));
  }
  return { summary: result.output, summary_status: "ok", summary_error: null };
}

/**
 * The first `OUTPUT_MAX_BYTES + 1` bytes of `path` and its size, when it is a regular file: a
 * symlink is refused (O_NOFOLLOW) and a FIFO or device never blocks the read (O_NONBLOCK).
 */
async function readBounded(path: string): Promise<ReadFile> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = errnoCode(error);
    if (code === "ENOENT") return { status: "missing" };
    if (code === "ELOOP") return { status: "invalid", error: "is a symbolic link, not a file" };
    return { status: "invalid", error: `cannot open: ${code ?? errorMessage(error)}` };
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) return { status: "invalid", error: "is not a regular file" };
    const buffer = new Uint8Array(Math.min(stats.size, OUTPUT_MAX_BYTES) + 1);
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    const size = Math.max(stats.size, filled);
    return { status: "ok", bytes: buffer.subarray(0, Math.min(filled, OUTPUT_MAX_BYTES)), size };
  } catch (error) {
    return { status: "invalid", error: `cannot read: ${errnoCode(error) ?? errorMessage(error)}` };
  } finally {
    await handle.close();
  }
}
