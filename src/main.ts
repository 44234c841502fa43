#!/usr/bin/env bun
/**
 * The faultline command line: `run`, `check`, `version`.
 */
import { parseArgs } from "node:util";
import { ConfigError, describeConfigError, loadConfig, parseConfig, readConfigFile } from "./config/load.ts";
import { incidentsCommand } from "./incidents/table.ts";
import { errorMessage, logger, setLogLevel } from "./log.ts";
import {
  estimateClusters,
  HTTP_LIMIT_VARIABLE,
  planHttpLimit,
  reexecWithLimit,
} from "./runtime/http-capacity.ts";
import { VERSION } from "./version.ts";

const HELP = `faultline ${VERSION}: watch fault events from many Kubernetes clusters (kubernetes-mcp-server)
and run a triage agent for each fault with that cluster's kubeconfig.

Usage:
  faultline run --config FILE     connect to every enabled cluster and triage faults until SIGINT/SIGTERM
  faultline check --config FILE   validate FILE; exit 0 when valid, 2 with every problem on stderr
  faultline incidents --config FILE [--cluster C] [--status S] [--limit N] [--json]
                                  list incidents from the store (works while faultline runs)
  faultline version               print the version
  faultline --help                this text

Options:
  -c, --config FILE   the YAML config (see examples/faultline.yaml)
  -h, --help          show this help

Exit codes: 0 ok, 1 runtime error, 2 invalid config or usage.`;

/** Exit codes. */
const EXIT = { ok: 0, error: 1, usage: 2 } as const;

/** Runs the CLI with `argv` (without the program name); resolves to the exit code. */
export async function cli(argv: string[]): Promise<number> {
  // `incidents` has flags of its own; it parses its arguments itself.
  if (argv[0] === "incidents") return incidentsCommand(argv.slice(1));
  let parsed: ReturnType<typeof parseCli>;
  try {
    parsed = parseCli(argv);
  } catch (error) {
    process.stderr.write(`faultline: ${errorMessage(error)}\n\n${HELP}\n`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help || command === "help") {
    process.stdout.write(`${HELP}\n`);
    return EXIT.ok;
  }
  switch (command) {
    case "version":
      process.stdout.write(`faultline ${VERSION}\n`);
      return EXIT.ok;
    case "check":
    case "run": {
      if (!values.config) {
        process.stderr.write(`faultline ${command}: --config FILE is required\n`);
        return EXIT.usage;
      }
      return command === "check" ? check(values.config) : run(values.config);
    }
    case undefined:
      process.stderr.write(`faultline: a command is required\n\n${HELP}\n`);
      return EXIT.usage;
    default:
      process.stderr.write(`faultline: unknown command "${command}"\n\n${HELP}\n`);
      return EXIT.usage;
  }
}

function parseCli(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: "string", short: "c" },
      help: { type: "boolean", short: "h" },
    },
  });
}

function reportConfigError(error: unknown): number {
  if (error instanceof ConfigError) {
    process.stderr.write(describeConfigError(error));
    return EXIT.usage;
  }
  throw error;
}

function check(file: string): number {
  try {
    const config = loadConfig(file);
    const enabled = config.clusters.filter((c) => c.enabled).length;
    process.stdout.write(
      `${config.source}: valid (${config.clusters.length} cluster(s), ${enabled} enabled)\n`,
    );
    return EXIT.ok;
  } catch (error) {
    return reportConfigError(error);
  }
}

async function run(file: string): Promise<number> {
  let config: ReturnType<typeof loadConfig>;
  try {
    const { text, source } = readConfigFile(file);
    // Size Bun's request cap from a cheap look at the text first, so a large fleet's config is parsed once.
    const estimate = estimateClusters(text);
    if (planHttpLimit(estimate, process.env).action === "reexec") ensureHttpCapacity(estimate, true);
    config = parseConfig(text, source);
  } catch (error) {
    return reportConfigError(error);
  }
  setLogLevel(config.log_level);
  ensureHttpCapacity(config.clusters.filter((c) => c.enabled).length);
  const { runUntilSignalled } = await import("./app.ts");
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

if (import.meta.main) {
  cli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`faultline: ${errorMessage(error)}\n`);
      process.exit(EXIT.error);
    },
  );
}
