/**
 * Whether the Deno end-to-end suite (tests/deno/) runs faultline under Deno here. `FAULTLINE_DENO_E2E`:
 * `1` always runs it (a faultline that does not start under Deno then fails the tests), `0` skips it,
 * unset runs it when `deno run -A src/main.ts version` answers like faultline (a capability probe, asked
 * once per test process).
 */
import { spawnSync } from "node:child_process";
import { ROOT } from "../../scripts/runtime.ts";
import { sourceCli } from "./process.ts";

/** The variable that forces (`1`) or skips (`0`) the Deno end-to-end suite. */
export const DENO_E2E_VARIABLE = "FAULTLINE_DENO_E2E";

/** Whether faultline's Deno tests run, and why (not). */
export interface DenoReadiness {
  run: boolean;
  reason: string;
}

let readiness: DenoReadiness | undefined;

/**
 * Decides once whether faultline's Deno tests run, and prints why when they are skipped.
 *
 * @example
 * ```ts
 * const deno = denoFaultline();
 * test.skipIf(!deno.run)("check under Deno", () => { … });
 * ```
 */
export function denoFaultline(): DenoReadiness {
  readiness ??= decide();
  return readiness;
}

function decide(): DenoReadiness {
  const wanted = process.env[DENO_E2E_VARIABLE];
  if (wanted === "1") return { run: true, reason: `${DENO_E2E_VARIABLE}=1` };
  if (wanted === "0") return skipped(`${DENO_E2E_VARIABLE}=0`);
  const [program = "deno", ...args] = sourceCli("deno");
  const probe = spawnSync(program, [...args, "version"], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  if (probe.status === 0 && /^faultline \d/.test(probe.stdout)) {
    return { run: true, reason: `deno run -A src/main.ts version: ${probe.stdout.trim()}` };
  }
  const why = probe.error?.message ?? (probe.stderr.trim().split("\n")[0] || `exit ${probe.status}`);
  return skipped(`deno run -A src/main.ts version failed: ${why}`);
}

function skipped(reason: string): DenoReadiness {
  process.stderr.write(
    `tests/deno: faultline's Deno tests are skipped (${reason}); ${DENO_E2E_VARIABLE}=1 runs them anyway\n`,
  );
  return { run: false, reason };
}
