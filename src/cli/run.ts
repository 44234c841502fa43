/**
 * `faultline run --config FILE [--listen HOST:PORT]`: loads the config, makes sure Bun's in-flight HTTP
 * request cap fits the fleet (re-executing this process when it does not; Bun only, Deno has no such
 * cap), then runs the pipeline until SIGINT/SIGTERM; SIGHUP reloads the config.
 */

import { parseArgs } from "node:util";
import { connectionIssues } from "../config/connection-check.ts";
import {
  ConfigError,
  describeConfigError,
  type LoadOptions,
  loadConfig,
  parseConfig,
  readConfigFile,
} from "../config/load.ts";
import type { FaultlineConfig } from "../config/types.ts";
import { logger, setLogLevel } from "../log.ts";
import {
  estimateClusters,
  HTTP_LIMIT_VARIABLE,
  planHttpLimit,
  reexecWithLimit,
} from "../runtime/http-capacity.ts";
import { RUNTIME } from "../runtime/runtime.ts";
import { EXIT } from "./exit-codes.ts";
import { type CommandIO, PROCESS_IO, reportConfigError } from "./io.ts";
import { COMMON_OPTIONS, parseCommandArgs } from "./options.ts";

/** Bun caps in-flight `fetch` requests per process (see runtime/http-capacity.ts); Deno does not. */
const BUN_CAP = RUNTIME === "bun";

/** `faultline run --help`. */
export const RUN_USAGE = `Usage: faultline run --config FILE [--listen HOST:PORT]

Connect to every enabled cluster and triage faults until SIGINT/SIGTERM (then: unsubscribe, close
sessions, store what is in flight, let running agents finish up to shutdown_timeout_seconds, exit 0).
SIGHUP (or POST /-/reload) re-reads FILE and applies what changed; an invalid file changes nothing.

Options:
  -c, --config FILE        the YAML config (see examples/faultline.yaml)
  -l, --listen HOST:PORT   where the health server listens; wins over $FAULTLINE_HEALTH_LISTEN,
                           which wins over health.listen (e.g. 0.0.0.0:8080 in a container)
  -h, --help               show this help

The status page (clusters, incidents, agents' reports) is at http://HOST:PORT/ on the health server.

Logs: one JSON object per line on stdout.
Exit codes: 0 stopped by a signal, 1 the state cannot be used, 2 invalid config or usage.`;

/**
 * `argv` is what follows `run`. Runs faultline; resolves to the exit code: `runUntilSignalled`'s
 * (0 after a graceful shutdown, 1 when the state cannot be used), 1 when a credential or certificate
 * file cannot be used, or 2 for an invalid config or bad usage (reported on `io`; the pipeline itself
 * logs to the process's stdout).
 */
export async function runCommand(argv: string[], io: CommandIO = PROCESS_IO): Promise<number> {
  const parsed = parseCommandArgs("faultline:", RUN_USAGE, io, () =>
    parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: { ...COMMON_OPTIONS, listen: { type: "string", short: "l" } },
    }),
  );
  if (typeof parsed === "number") return parsed;
  const configFile = parsed.values.config;
  if (!configFile) {
    io.stderr("faultline run: --config FILE is required\n");
    return EXIT.usage;
  }
  const options: LoadOptions =
    parsed.values.listen === undefined ? {} : { healthListen: parsed.values.listen };
  let config: FaultlineConfig;
  try {
    const { text, source } = readConfigFile(configFile);
    // Size Bun's request cap from a cheap look at the text first, so a large fleet's config is parsed once.
    const estimate = estimateClusters(text);
    if (BUN_CAP && planHttpLimit(estimate, process.env).action === "reexec")
      ensureHttpCapacity(estimate, true);
    config = parseConfig(text, source, process.env, options);
  } catch (error) {
    return reportConfigError(error, io);
  }
  // What the connections need (token, CA, certificate files) is a start-up error for run, as the state is.
  const unusable = connectionIssues(config);
  if (unusable.length > 0) {
    io.stderr(`faultline: cannot start: ${describeConfigError(new ConfigError(config.source, unusable))}`);
    return EXIT.error;
  }
  setLogLevel(config.log_level);
  const enabled = config.clusters.filter((c) => c.enabled).length;
  if (BUN_CAP) ensureHttpCapacity(enabled);
  // No re-exec can follow: the worker threads start loading their code (the MCP SDK) now, while this
  // thread loads the rest of faultline, takes the lock and opens the store (startFaultline takes them).
  const { prewarmWorkers } = await import("../cluster/supervisor.ts");
  const { sourcesInline } = await import("../cluster/source-placement.ts");
  prewarmWorkers(config.workers.max, enabled, sourcesInline(config.workers));
  const { runUntilSignalled } = await import("./lifecycle.ts");
  return runUntilSignalled(config, () => loadConfig(configFile, process.env, options));
}

/**
 * Makes sure Bun's in-flight request cap fits `clusters` connections, re-executing this process if it
 * does not (`estimated`: the count comes from a scan of the config text, before parsing).
 */
function ensureHttpCapacity(clusters: number, estimated = false): void {
  const log = logger();
  const plan = planHttpLimit(clusters, process.env);
  if (plan.action === "reexec") {
    log.info("raising Bun's in-flight HTTP request limit: re-executing faultline (same pid)", {
      variable: HTTP_LIMIT_VARIABLE,
      from: plan.current,
      to: plan.limit,
      clusters,
      ...(estimated ? { clusters_counted_from: "mcp_endpoint keys in the config file" } : {}),
    });
    reexecWithLimit(plan.limit);
    log.error("could not re-execute; connections past the limit will queue", {
      variable: HTTP_LIMIT_VARIABLE,
    });
    return;
  }
  const fields = { variable: HTTP_LIMIT_VARIABLE, limit: plan.limit, required: plan.required, clusters };
  if (plan.action === "short") log.warn("in-flight HTTP request limit below what the fleet needs", fields);
  else log.info("in-flight HTTP request limit", fields);
}
