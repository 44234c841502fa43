/** Test-run setup: integration tests start real servers, workers and processes, so allow them time. */
import { setDefaultTimeout } from "bun:test";

setDefaultTimeout(30_000);
