/**
 * The simulator's command line: parses the flags, starts the simulator with a control API, prints one JSON
 * line `{ control, clusters: [{ name, endpoint }] }` and runs until SIGINT/SIGTERM.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startSimulator } from "./simulator.ts";
import type { SimulatorOptions } from "./types.ts";

/** The `--help` text, also printed after a command-line error. */
export const USAGE = `Usage: bun scripts/sim.ts [--clusters N] [--names a,b,c] [--ports p,q,r] [--stock a,b] [--control-port PORT] [--hostname H]
                         [--bearer-token TOKEN] [--tls-cert FILE --tls-key FILE] [--hold-headers]
                         [--events-dir DIR]

  --clusters N         number of clusters (default 3; named cluster-1..N)
  --names a,b,c        cluster names (overrides --clusters)
  --ports p,q,r        each cluster's listen port, in order (default: any free port); a restarted simulator
                       keeps its clients' endpoints this way
  --stock a,b          clusters that behave like the stock server (no events_subscribe)
  --control-port PORT  control API port (default 0 = ephemeral)
  --hostname H         listen address (default 127.0.0.1)
  --bearer-token T     every cluster requires Authorization: Bearer T (401 otherwise)
  --tls-cert FILE      serve HTTPS with this PEM certificate ...
  --tls-key FILE       ... and this PEM key
  --hold-headers       hold each event stream's response headers until its first event, as the MCP
                       TypeScript SDK's server on Bun does (default: flush them at once, as the Go server does)
  --events-dir DIR     keep each cluster's recorded events in DIR/<name>.jsonl: a restarted simulator still
                       lists them, as an API server keeps its events when its MCP server restarts

Prints one JSON line { control, clusters: [{ name, endpoint }] } and runs until SIGINT/SIGTERM.`;

function splitList(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

function parsePort(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${flag} must be a port number`);
  return port;
}

function cliSimulatorOptions(argv: string[]): SimulatorOptions | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      clusters: { type: "string" },
      names: { type: "string" },
      ports: { type: "string" },
      stock: { type: "string" },
      "control-port": { type: "string" },
      hostname: { type: "string" },
      "bearer-token": { type: "string" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      "hold-headers": { type: "boolean" },
      "events-dir": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) return null;
  const count = Number(values.clusters ?? "3");
  if (!Number.isInteger(count) || count < 1) throw new Error("--clusters must be a positive integer");
  const names = splitList(values.names);
  const stock = new Set(splitList(values.stock));
  const clusterNames =
    names.length > 0 ? names : Array.from({ length: count }, (_, index) => `cluster-${index + 1}`);
  const certFile = values["tls-cert"];
  const keyFile = values["tls-key"];
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new Error("--tls-cert and --tls-key go together");
  }
  const tls =
    certFile && keyFile
      ? { cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8") }
      : undefined;
  const bearerToken = values["bearer-token"];
  const eventsDir = values["events-dir"];
  const ports = splitList(values.ports).map((port) => parsePort(port, "--ports", 0));
  if (ports.length > 0 && ports.length !== clusterNames.length)
    throw new Error(`--ports lists ${ports.length} ports for ${clusterNames.length} clusters`);
  return {
    clusters: clusterNames.map((name, index) => ({
      name,
      eventsSubscribe: !stock.has(name),
      ...(ports.length > 0 ? { port: ports[index] } : {}),
      ...(bearerToken ? { bearerToken } : {}),
      ...(tls ? { tls } : {}),
      ...(values["hold-headers"] ? { holdHeaders: true } : {}),
      ...(eventsDir ? { eventsFile: join(eventsDir, `${name}.jsonl`) } : {}),
    })),
    controlPort: parsePort(values["control-port"], "--control-port", 0),
    hostname: values.hostname,
  };
}

/**
 * Runs the simulator CLI with `argv` (the arguments after the script): prints the usage for `--help`, else
 * starts the simulator and stops it on SIGINT/SIGTERM. Throws on invalid flags.
 */
export async function runSimulatorCli(argv: string[]): Promise<void> {
  const options = cliSimulatorOptions(argv);
  if (!options) {
    console.log(USAGE);
    return;
  }
  const simulator = await startSimulator(options);
  const clusters = simulator.clusters.map((name) => ({ name, endpoint: simulator.endpoint(name) }));
  console.log(JSON.stringify({ control: simulator.controlUrl, clusters }));
  const shutdown = (): void => {
    simulator.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
}
