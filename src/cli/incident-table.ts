/**
 * Incidents as a fixed-width terminal table ({@link formatIncidentTable}), as `faultline incidents`
 * prints them.
 */
import { describeResource } from "../events/fault.ts";
import type { Incident, IncidentStatus } from "../incidents/model.ts";
import { paint } from "./color.ts";

/** Options for {@link formatIncidentTable}. */
export interface TableOptions {
  /** Colour statuses and severities with ANSI escapes (default false). */
  color?: boolean;
  /** The time `LAST SEEN` is relative to (default: now). */
  now?: Date;
}

/** One table column: its header, how wide it may get, and how its cells align. */
interface Column {
  header: string;
  maxWidth: number;
  align: "left" | "right";
  cell: (incident: Incident, now: Date) => string;
}

/** Room for the longest incident id (a 63-character cluster name): ids are never cut, they are typed back. */
const ID_WIDTH = 96;

const COLUMNS: readonly Column[] = [
  { header: "ID", maxWidth: ID_WIDTH, align: "left", cell: (i) => i.id },
  { header: "CLUSTER", maxWidth: 24, align: "left", cell: (i) => i.cluster },
  { header: "STATUS", maxWidth: 28, align: "left", cell: statusText },
  { header: "TYPE", maxWidth: 24, align: "left", cell: (i) => i.fault_type },
  { header: "SEVERITY", maxWidth: 8, align: "left", cell: (i) => i.severity },
  { header: "RESOURCE", maxWidth: 48, align: "left", cell: (i) => describeResource(i.resource) },
  { header: "COUNT", maxWidth: 8, align: "right", cell: (i) => String(i.count) },
  { header: "LAST SEEN", maxWidth: 16, align: "left", cell: (i, now) => relativeTime(i.last_seen, now) },
];

const ANSI = {
  bold: "\x1b[1m",
  dim: "\x1b[2m",
  red: "\x1b[31m",
  green: "\x1b[32m",
  yellow: "\x1b[33m",
  cyan: "\x1b[36m",
  reset: "\x1b[0m",
} as const;

const STATUS_COLORS: Record<IncidentStatus, string> = {
  queued: ANSI.yellow,
  running: ANSI.cyan,
  succeeded: ANSI.green,
  failed: ANSI.red,
  timed_out: ANSI.red,
  skipped: ANSI.dim,
  interrupted: ANSI.yellow,
};

const SEVERITY_COLORS: Record<string, string> = { critical: ANSI.red, warning: ANSI.yellow };

/**
 * The incidents as a fixed-width table, one row each in the given order: ID, CLUSTER, STATUS (with
 * the skip reason), TYPE, SEVERITY, RESOURCE (`Kind/ns/name` or `Kind/name`), COUNT and LAST SEEN
 * (relative: `3m ago`). Columns are as wide as their content, long values are cut with `…` (ids
 * never are), control characters are replaced. `No incidents.` when there are none. No trailing
 * newline.
 */
export function formatIncidentTable(incidents: Incident[], options: TableOptions = {}): string {
  if (incidents.length === 0) return "No incidents.";
  const now = options.now ?? new Date();
  const rows = incidents.map((incident) =>
    COLUMNS.map((column) => truncate(printable(column.cell(incident, now)), column.maxWidth)),
  );
  const widths = COLUMNS.map((column, index) =>
    Math.max(column.header.length, ...rows.map((row) => (row[index] ?? "").length)),
  );
  const color = options.color === true;
  const header = joinCells(
    COLUMNS.map((column) => column.header),
    widths,
    (text) => paint(text, ANSI.bold, color),
  );
  const lines = rows.map((row, r) =>
    joinCells(row, widths, (text, index) => paint(text, cellColor(incidents[r], index), color)),
  );
  return [header, ...lines].join("\n");
}

/** Pads each cell to its column's width (aligned), colours it, and joins with two spaces, right-trimmed. */
function joinCells(
  cells: string[],
  widths: number[],
  style: (text: string, index: number) => string,
): string {
  const padded = cells.map((cell, index) => {
    const width = widths[index] ?? cell.length;
    const aligned = COLUMNS[index]?.align === "right" ? cell.padStart(width) : cell.padEnd(width);
    return style(aligned, index);
  });
  return padded.join("  ").trimEnd();
}

/** The ANSI colour of a row's cell (status and severity only), or "" for none. */
function cellColor(incident: Incident | undefined, index: number): string {
  if (incident === undefined) return "";
  const header = COLUMNS[index]?.header;
  if (header === "STATUS") return STATUS_COLORS[incident.status];
  if (header === "SEVERITY") return SEVERITY_COLORS[incident.severity] ?? "";
  return "";
}

/** `skipped (queue_full)`, else the bare status. */
function statusText(incident: Incident): string {
  return incident.skip_reason === null ? incident.status : `${incident.status} (${incident.skip_reason})`;
}

/** `45s ago`, `3m ago`, `2h ago`, `5d ago`; `just now` under a second (or in the future). */
export function relativeTime(iso: string, now: Date): string {
  const ms = now.getTime() - Date.parse(iso);
  if (Number.isNaN(ms)) return "?";
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return "just now";
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86400)}d ago`;
}

/** Values come from clusters: keep terminal control sequences out of the table. */
function printable(text: string): string {
  return text.replace(/\p{Cc}/gu, "?");
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
