/**
 * `faultline incidents`: lists recorded incidents from the store as a fixed-width terminal table
 * ({@link formatIncidentTable}) or as JSON. Safe while faultline runs (the store is WAL with a busy
 * timeout).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, describeConfigError, loadConfig } from "../config/load.ts";
import type { FaultlineConfig } from "../config/types.ts";
import { describeResource } from "../events/fault.ts";
import { errorMessage, setLogSink } from "../log.ts";
import { parseIncidentFilter } from "./filter.ts";
import {
  DEFAULT_LIST_LIMIT,
  INCIDENT_STATUSES,
  type Incident,
  type IncidentFilter,
  type IncidentStatus,
  MAX_LIST_LIMIT,
  StoreError,
} from "./model.ts";
import { DB_FILE } from "./open.ts";
import { IncidentStore } from "./store.ts";

/** Options for {@link formatIncidentTable}. */
export interface TableOptions {
  /** Colour statuses and severities with ANSI escapes (default false). */
  color?: boolean;
  /** The time `LAST SEEN` is relative to (default: now). */
  now?: Date;
}

/** Where {@link incidentsCommand} writes (default: the process's stdout and stderr). */
export interface CommandIO {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
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

function paint(text: string, code: string, enabled: boolean): string {
  return enabled && code !== "" ? `${code}${text}${ANSI.reset}` : text;
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

const USAGE = `Usage: faultline incidents --config FILE [--cluster NAME] [--status STATUS] [--limit N] [--json]

List recorded incidents, newest first (safe while faultline runs).

Options:
  -c, --config FILE   the YAML config (its state_dir holds the incident store)
  --cluster NAME      only this cluster's incidents
  --status STATUS     only incidents in this status: ${INCIDENT_STATUSES.join(", ")}
  --limit N           at most N incidents, 1 to ${MAX_LIST_LIMIT} (default ${DEFAULT_LIST_LIMIT})
  --json              print {"incidents": [...]} as JSON instead of a table
  -h, --help          show this help`;

/** Exit codes, as `faultline` uses them. */
const EXIT = { ok: 0, error: 1, usage: 2 } as const;

const DEFAULT_IO: CommandIO = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
};

/** What the command line asked for. */
interface IncidentsArgs {
  config: string;
  filter: IncidentFilter;
  json: boolean;
}

/**
 * `faultline incidents --config FILE [--cluster C] [--status S] [--limit N] [--json]`; `argv` is
 * what follows `incidents`. Prints the table (coloured on a terminal) or `{"incidents": [...]}`
 * and resolves to the exit code: 0 listed, 1 the store failed, 2 bad usage or an invalid config.
 * Log lines (e.g. a schema migration) go to stderr so stdout stays parseable. With no database in
 * `state_dir` yet, says so and lists nothing, creating nothing.
 */
export async function incidentsCommand(argv: string[], io: CommandIO = DEFAULT_IO): Promise<number> {
  const args = parseIncidentsArgs(argv, io);
  if (typeof args === "number") return args;
  let config: FaultlineConfig;
  try {
    config = loadConfig(args.config);
  } catch (error) {
    return reportConfigError(error, io);
  }
  const color = io === DEFAULT_IO && process.stdout.isTTY === true && !process.env.NO_COLOR;
  const restoreSink = setLogSink((line) => io.stderr(`${line}\n`));
  try {
    const incidents = listIncidents(config.state_dir, args.filter, io);
    io.stdout(
      `${args.json ? JSON.stringify({ incidents }, null, 2) : formatIncidentTable(incidents, { color })}\n`,
    );
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    io.stderr(`faultline incidents: ${error.message}\n`);
    return EXIT.error;
  } finally {
    setLogSink(restoreSink);
  }
}

/** Opens the store, lists, closes it; an absent database is an empty list (and a note on stderr). */
function listIncidents(stateDir: string, filter: IncidentFilter, io: CommandIO): Incident[] {
  if (!existsSync(join(stateDir, DB_FILE))) {
    io.stderr(`faultline incidents: no incident store in ${stateDir} yet (faultline has not run with it)\n`);
    return [];
  }
  const store = IncidentStore.open(stateDir);
  try {
    return store.list(filter);
  } finally {
    store.close();
  }
}

/** The parsed arguments, or the exit code when there is nothing more to do (help, bad usage). */
function parseIncidentsArgs(argv: string[], io: CommandIO): IncidentsArgs | number {
  let values: ReturnType<typeof parseFlags>["values"];
  try {
    values = parseFlags(argv).values;
  } catch (error) {
    io.stderr(`faultline incidents: ${errorMessage(error)}\n\n${USAGE}\n`);
    return EXIT.usage;
  }
  if (values.help) {
    io.stdout(`${USAGE}\n`);
    return EXIT.ok;
  }
  if (!values.config) {
    io.stderr("faultline incidents: --config FILE is required\n");
    return EXIT.usage;
  }
  const filter = parseIncidentFilter(
    { cluster: values.cluster, status: values.status, limit: values.limit },
    (key) => `--${key}`,
  );
  if (typeof filter === "string") {
    io.stderr(`faultline incidents: ${filter}\n`);
    return EXIT.usage;
  }
  return { config: values.config, filter, json: values.json === true };
}

function parseFlags(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: false,
    strict: true,
    options: {
      config: { type: "string", short: "c" },
      cluster: { type: "string" },
      status: { type: "string" },
      limit: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}

/** Prints every config problem like `faultline check` does; exit 2. Anything else is rethrown. */
function reportConfigError(error: unknown, io: CommandIO): number {
  if (!(error instanceof ConfigError)) throw error;
  io.stderr(describeConfigError(error));
  return EXIT.usage;
}
