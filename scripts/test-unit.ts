/**
 * `npm run test:unit`: the fast subset of the tests, for feedback in a few seconds beside the full suite.
 *
 * The rule: a test file belongs to the unit set when it starts no server, no process and no thread (pure
 * functions, SQLite files in temp dirs). The set is the explicit list {@link UNIT_TEST_FILES}; the run preloads
 * tests/unit-guard.ts, which makes `Bun.serve`, `Bun.spawn`, `Worker`, `node:child_process` and friends throw,
 * so a listed file that starts one fails instead of quietly slowing the run. tests/scripts/test-unit.test.ts
 * (part of the full suite) runs this script, so the check holds even for those who never run it.
 *
 *   bun scripts/test-unit.ts [bun test options, e.g. --bail]
 */
import { existsSync } from "node:fs";
import { join } from "node:path";

/** Repository root (this file is in scripts/). */
const ROOT = join(import.meta.dir, "..");

/** The unit set: test files, relative to the repository root, that start no server, process or thread. */
export const UNIT_TEST_FILES: readonly string[] = [
  "tests/agent/env.test.ts",
  "tests/agent/output.test.ts",
  "tests/cli/entry.test.ts",
  "tests/cli/incident-show.test.ts",
  "tests/cli/incidents.test.ts",
  "tests/cluster/supervisor.test.ts",
  "tests/config/expand.test.ts",
  "tests/config/diff.test.ts",
  "tests/config/load.test.ts",
  "tests/config/store-ha.test.ts",
  "tests/events/bounds.test.ts",
  "tests/events/events-list.test.ts",
  "tests/events/normalise.test.ts",
  "tests/ha/rendezvous.test.ts",
  "tests/http/session.test.ts",
  "tests/incidents/id.test.ts",
  "tests/incidents/outbox.test.ts",
  "tests/incidents/retention.test.ts",
  "tests/incidents/schema.test.ts",
  "tests/notify/bodies.test.ts",
  "tests/pipeline/channel.test.ts",
  "tests/pipeline/stages.test.ts",
  "tests/runtime/backoff.test.ts",
  "tests/runtime/deadline.test.ts",
  "tests/runtime/fetch-errors.test.ts",
  "tests/runtime/gate.test.ts",
  "tests/runtime/http-capacity.test.ts",
  "tests/runtime/redact.test.ts",
  "tests/runtime/sha256.test.ts",
  "tests/runtime/sleep.test.ts",
  "tests/runtime/sqlite.test.ts",
  "tests/scripts/bench-bursts.test.ts",
  "tests/scripts/chaos-analyze.test.ts",
  "tests/ui/markdown.test.ts",
  "tests/ui/status-page.test.ts",
  "tests/validation/issues.test.ts",
  "tests/worker/transport.test.ts",
  "tests/worker/wire-bounds.test.ts",
];

/** Part of the message of the error the guard throws for a refused call. */
export const REFUSED_IN_UNIT_TESTS = "refused in unit tests (npm run test:unit)";

/** The preload that refuses servers, processes and threads during the unit run. */
export const UNIT_GUARD = "tests/unit-guard.ts";

/** Entries of `files` (relative to `root`) that do not exist: `bun test` would skip them without a word. */
export function missingTestFiles(root: string, files: readonly string[]): string[] {
  return files.filter((file) => !existsSync(join(root, file)));
}

/** Runs the unit set with `extraArgs` passed to `bun test`; resolves to its exit code. */
export async function runUnitTests(extraArgs: string[]): Promise<number> {
  const missing = missingTestFiles(ROOT, UNIT_TEST_FILES);
  if (missing.length > 0) {
    console.error(`test:unit: listed in scripts/test-unit.ts but missing: ${missing.join(", ")}`);
    return 1;
  }
  const files = UNIT_TEST_FILES.map((file) => `./${file}`);
  const argv = [process.execPath, "test", "--preload", `./${UNIT_GUARD}`, ...extraArgs, ...files];
  const child = Bun.spawn(argv, { cwd: ROOT, stdio: ["inherit", "inherit", "inherit"] });
  return await child.exited;
}

if (import.meta.main) {
  process.exit(await runUnitTests(process.argv.slice(2)));
}
