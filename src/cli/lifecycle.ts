/**
 * The process's life under `faultline run`: start the app, reload on SIGHUP, stop gracefully on
 * SIGINT/SIGTERM. (Before this existed SIGHUP's default action ended faultline at once, exit 129,
 * leaving its lock file and WAL behind.)
 */
import { startFaultline } from "../app.ts";
import type { FaultlineConfig } from "../config/types.ts";
import type { Faultline } from "../faultline.ts";
import { errorMessage, logger } from "../log.ts";

const log = logger();

/**
 * Runs until SIGINT or SIGTERM, then stops gracefully; resolves to the exit code. SIGHUP reloads the
 * config through `load` (a SIGHUP before faultline has started is logged and ignored).
 */
export async function runUntilSignalled(
  config: FaultlineConfig,
  load: () => FaultlineConfig,
): Promise<number> {
  let app: Faultline | null = null;
  process.on("SIGHUP", () => {
    if (app) void app.reload("SIGHUP");
    else log.warn("SIGHUP before faultline started: ignored");
  });
  // Listened for before anything starts: a SIGTERM that arrives while faultline starts (agents may be
  // running already) stops it gracefully once started, instead of killing it with the default action.
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  try {
    app = await startFaultline(config, load);
  } catch (error) {
    log.error("cannot start", { error: errorMessage(error) });
    process.stderr.write(`faultline: cannot start: ${errorMessage(error)}\n`);
    return 1;
  }
  const signal = await signalled;
  log.info("signal received", { signal, shutdown_timeout_seconds: app.config.shutdown_timeout_seconds });
  await app.stop();
  return 0;
}
