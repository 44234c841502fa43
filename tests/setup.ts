/**
 * Test-run setup, preloaded for every test file (bunfig.toml).
 *
 * Log lines of the test process are captured and dropped, so the test report is not buried under them.
 * bun:test does not tell an `afterEach` hook whether its test failed, so they cannot be printed for failed
 * tests only; run with `FAULTLINE_TEST_LOGS=1` to print them as they come. Tests that assert on log lines
 * install their own sink with `setLogSink` and restore the previous one, as before. Lines written by worker
 * threads and child processes are their own (they do not pass through this process's sink).
 */
import { beforeEach, setDefaultTimeout } from "bun:test";
import { setLogLevel, setLogSink } from "../src/log.ts";

// Integration tests start real servers, workers and processes: allow them time.
setDefaultTimeout(30_000);

// All files share one process and the log level is global: a suite that started faultline at `warn`
// must not silence the next suite's assertions on info lines.
beforeEach(() => setLogLevel("info"));

if (process.env.FAULTLINE_TEST_LOGS !== "1") setLogSink(() => {});
