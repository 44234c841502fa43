/**
 * `faultline run --config FILE`: loads the config, makes sure Bun's in-flight HTTP request cap fits
 * the fleet (re-executing this process when it does not), then runs the pipeline until
 * SIGINT/SIGTERM.
 */

import { connectionIssues } from "../config/connection-check.ts";
import { ConfigError, describeConfigError, parseConfig, readConfigFile } from "../config/load.ts";
import type { FaultlineConfig } from "../config/types.ts";
import { logger, setLogLevel } from "../log.ts";
import {
  estimateClusters,
  HTTP_LIMIT_VARIABLE,
  planHttpLimit,
  reexecWithLimit,
} from "../runtime/http-capacity.ts";
import { EXIT } from "./exit-codes.ts";
import { type CommandIO, PROCESS_IO, reportConfigError } from "./io.ts";

/**
 * Runs faultline with the config at `configFile`; resolves to the exit code: `runUntilSignalled`'s
 * (0 after a graceful shutdown, 1 when the state cannot be used), 1 when a credential or certificate
 * file cannot be used, or 2 for an invalid config
 * (reported on `io`; the pipeline itself logs to the process's stderr).
 */
export async function runCommand(configFile: string, io: CommandIO = PROCESS_IO): Promise<number> {
  let config: FaultlineConfig;
  try {
    const { text, source } = readConfigFile(configFile);
    // Size Bun's request cap from a cheap look at the text first, so a large fleet's config is parsed once.
    const estimate = estimateClusters(text);
    if (planHttpLimit(estimate, process.env).action === "reexec") ensureHttpCapacity(estimate, true);
    config = parseConfig(text, source);
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
  ensureHttpCapacity(config.clusters.filter((c) => c.enabled).length);
  const { runUntilSignalled } = await import("../app.ts");
  return runUntilSignalled(config);
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
