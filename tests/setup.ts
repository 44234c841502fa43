/** Test-run setup, preloaded for every test file (bunfig.toml). */
import { beforeEach, setDefaultTimeout } from "bun:test";
import { setLogLevel } from "../src/log.ts";

// Integration tests start real servers, workers and processes: allow them time.
setDefaultTimeout(30_000);

// All files share one process and the log level is global: a suite that started faultline at `warn`
// must not silence the next suite's assertions on info lines.
beforeEach(() => setLogLevel("info"));
