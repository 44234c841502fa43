/**
 * Command line of the kubernetes-mcp-server simulator (the library is scripts/sim/index.ts):
 *
 *   bun scripts/sim.ts --clusters 3 --names a,b,c --control-port 9090
 */
import { runSimulatorCli, USAGE } from "./sim/cli.ts";

if (import.meta.main) {
  runSimulatorCli(process.argv.slice(2)).catch((error: unknown) => {
    console.error(`sim: ${error instanceof Error ? error.message : String(error)}`);
    console.error(USAGE);
    process.exit(2);
  });
}
