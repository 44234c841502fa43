/**
 * `faultline incidents show ID --config FILE [--json]`: one incident with its events, runs (with what
 * each agent left: report.md and summary.json) and notifications, as text for people
 * ({@link formatIncidentDetail}) or as the JSON of `GET /incidents/:id`. Safe while faultline runs.
 */
import { parseArgs } from "node:util";
import { loadConfig } from "../config/load.ts";
import type { FaultlineConfig } from "../config/types.ts";
import { openConfiguredStore, storeLocationOf, storeMayHoldData } from "../incidents/backend.ts";
import { type IncidentDetail, StoreError } from "../incidents/model.ts";
import type { IncidentStore } from "../incidents/store-api.ts";
import { errorMessage, setLogSink } from "../log.ts";
import { EXIT } from "./exit-codes.ts";
import { formatIncidentDetail } from "./incident-detail.ts";
import { type CommandIO, PROCESS_IO, reportConfigError } from "./io.ts";
import { COMMON_OPTIONS } from "./options.ts";

/** The usage text of `faultline incidents show`. */
export const SHOW_USAGE = `Usage: faultline incidents show ID --config FILE [--json]

Show one incident: its facts, agent runs, the latest run's summary (summary.json) and report
(report.md), and its notifications (safe while faultline runs).

Options:
  -c, --config FILE   the YAML config (its state_dir, or store.postgres, holds the incident store)
  --json              print the incident as GET /incidents/:id does: {"incident", "events", "runs", "notifications"}
  -h, --help          show this help`;

/**
 * Runs `faultline incidents show`; `argv` is what follows `show`. Resolves to the exit code: 0 shown,
 * 1 no such incident or the store failed, 2 bad usage or an invalid config.
 */
export async function incidentShowCommand(argv: string[], io: CommandIO = PROCESS_IO): Promise<number> {
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags(argv);
  } catch (error) {
    io.stderr(`faultline incidents show: ${errorMessage(error)}\n\n${SHOW_USAGE}\n`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout(`${SHOW_USAGE}\n`);
    return EXIT.ok;
  }
  const [id, ...extra] = positionals;
  if (!values.config || id === undefined || extra.length > 0) {
    const problem = values.config ? "give exactly one incident ID" : "--config FILE is required";
    io.stderr(`faultline incidents show: ${problem}\n\n${SHOW_USAGE}\n`);
    return EXIT.usage;
  }
  let config: FaultlineConfig;
  try {
    config = loadConfig(values.config);
  } catch (error) {
    return reportConfigError(error, io);
  }
  const restoreSink = setLogSink((line) => io.stderr(`${line}\n`));
  try {
    const detail = storeMayHoldData(config) ? await readDetail(config, id) : null;
    if (detail === null) {
      const where = config.store.postgres ? storeLocationOf(config) : config.state_dir;
      io.stderr(`faultline incidents show: no incident ${JSON.stringify(id)} in ${where}\n`);
      return EXIT.error;
    }
    io.stdout(`${values.json ? JSON.stringify(detail, null, 2) : formatIncidentDetail(detail)}\n`);
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    io.stderr(`faultline incidents show: ${error.message}\n`);
    return EXIT.error;
  } finally {
    setLogSink(restoreSink);
  }
}

/** The incident's detail from the configured store; null if unknown. */
async function readDetail(config: FaultlineConfig, id: string): Promise<IncidentDetail | null> {
  const store: IncidentStore = await openConfiguredStore(config);
  try {
    return await store.get(id);
  } finally {
    await store.close();
  }
}

function parseFlags(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { ...COMMON_OPTIONS, json: { type: "boolean" } },
  });
}
