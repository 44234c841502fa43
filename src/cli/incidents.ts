/**
 * `faultline incidents`: lists recorded incidents from the store as a fixed-width terminal table
 * ({@link formatIncidentTable}) or as JSON. Safe while faultline runs (the store is WAL with a busy
 * timeout).
 */
import { parseArgs } from "node:util";
import { loadConfig } from "../config/load.ts";
import type { FaultlineConfig } from "../config/types.ts";
import { openConfiguredStore, storeMayHoldData } from "../incidents/backend.ts";
import { parseIncidentFilter } from "../incidents/filter.ts";
import {
  DEFAULT_LIST_LIMIT,
  INCIDENT_STATUSES,
  type Incident,
  type IncidentFilter,
  MAX_LIST_LIMIT,
  StoreError,
} from "../incidents/model.ts";
import type { IncidentStore } from "../incidents/store-api.ts";
import { setLogSink } from "../log.ts";
import { useColor } from "./color.ts";
import { EXIT } from "./exit-codes.ts";
import { incidentShowCommand } from "./incident-show.ts";
import { formatIncidentTable } from "./incident-table.ts";
import { type CommandIO, PROCESS_IO, reportConfigError } from "./io.ts";
import { COMMON_OPTIONS, parseCommandArgs } from "./options.ts";

/** `faultline incidents --help`. */
export const USAGE = `Usage: faultline incidents --config FILE [--cluster NAME] [--status STATUS] [--limit N] [--json]
       faultline incidents show ID --config FILE [--json]

List recorded incidents, newest first (safe while faultline runs); \`show\` prints one incident with
its runs, the agent's summary and report, and its notifications.

Options:
  -c, --config FILE   the YAML config (its state_dir, or store.postgres, holds the incident store)
  --cluster NAME      only this cluster's incidents
  --status STATUS     only incidents in this status: ${INCIDENT_STATUSES.join(", ")}
  --limit N           at most N incidents, 1 to ${MAX_LIST_LIMIT} (default ${DEFAULT_LIST_LIMIT})
  --json              print {"incidents": [...]} as JSON instead of a table
  -h, --help          show this help`;

/** What the command line asked for. */
interface IncidentsArgs {
  config: string;
  filter: IncidentFilter;
  json: boolean;
}

/**
 * `faultline incidents --config FILE [--cluster C] [--status S] [--limit N] [--json]`; `argv` is
 * what follows `incidents` (`incidents show ID …` goes to {@link incidentShowCommand}). Prints the table (coloured on a terminal) or `{"incidents": [...]}`
 * and resolves to the exit code: 0 listed, 1 the store failed, 2 bad usage or an invalid config.
 * Log lines (e.g. a schema migration) go to stderr so stdout stays parseable. With no database in
 * `state_dir` yet, says so and lists nothing, creating nothing.
 */
export async function incidentsCommand(argv: string[], io: CommandIO = PROCESS_IO): Promise<number> {
  if (argv[0] === "show") return incidentShowCommand(argv.slice(1), io);
  const args = parseIncidentsArgs(argv, io);
  if (typeof args === "number") return args;
  let config: FaultlineConfig;
  try {
    config = loadConfig(args.config);
  } catch (error) {
    return reportConfigError(error, io);
  }
  const color = io === PROCESS_IO && useColor(process.stdout);
  const restoreSink = setLogSink((line) => io.stderr(`${line}\n`));
  try {
    const incidents = await listIncidents(config, args.filter, io);
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

/** Opens the configured store, lists, closes it; an absent SQLite file is an empty list (and a note on stderr). */
async function listIncidents(
  config: FaultlineConfig,
  filter: IncidentFilter,
  io: CommandIO,
): Promise<Incident[]> {
  if (!storeMayHoldData(config)) {
    io.stderr(
      `faultline incidents: no incident store in ${config.state_dir} yet (faultline has not run with it)\n`,
    );
    return [];
  }
  const store: IncidentStore = await openConfiguredStore(config);
  try {
    return await store.list(filter);
  } finally {
    await store.close();
  }
}

/** The parsed arguments, or the exit code when there is nothing more to do (help, bad usage). */
function parseIncidentsArgs(argv: string[], io: CommandIO): IncidentsArgs | number {
  const parsed = parseCommandArgs("faultline incidents:", USAGE, io, () => parseFlags(argv));
  if (typeof parsed === "number") return parsed;
  const { values } = parsed;
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

/** The common flags and the filter and output flags; throws on an unknown flag or a positional. */
function parseFlags(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: false,
    strict: true,
    options: {
      ...COMMON_OPTIONS,
      cluster: { type: "string" },
      status: { type: "string" },
      limit: { type: "string" },
      json: { type: "boolean" },
    },
  });
}
