/**
 * `faultline check` (and the other short commands) say the same under Deno as under Bun: the same exit
 * code, stdout and stderr, byte for byte, for valid and broken configs alike. Skipped while faultline does
 * not start under Deno (tests/helpers/deno.ts).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ROOT } from "../../scripts/runtime.ts";
import { denoFaultline } from "../helpers/deno.ts";
import { runToEnd, sourceCli } from "../helpers/process.ts";
import { tempDir, writeFile } from "../helpers/tmp.ts";
import { aliasBombYaml } from "../helpers/yaml-bomb.ts";

const dir = tempDir("faultline-deno-check-");
afterAll(() => dir.cleanup());

const kubeconfig = writeFile(dir.path, "k.kubeconfig", "apiVersion: v1\nkind: Config\n");
writeFile(dir.path, "not-a-dir", "a file where state_dir wants a folder\n");

/** Command lines (after `faultline`) and the exit code they must give under both runtimes. */
const CASES: Array<{ what: string; args: string[]; code: number }> = [
  { what: "version", args: ["version"], code: 0 },
  { what: "--help", args: ["--help"], code: 0 },
  { what: "an unknown command", args: ["bogus"], code: 2 },
  { what: "check without --config", args: ["check"], code: 2 },
  {
    what: "check on the example config",
    args: ["check", "--config", join(ROOT, "examples", "faultline.yaml")],
    code: 0,
  },
  { what: "check on a missing file", args: ["check", "--config", join(dir.path, "missing.yaml")], code: 2 },
  {
    what: "check on schema errors",
    args: [
      "check",
      "--config",
      writeFile(
        dir.path,
        "bad.yaml",
        "clusters:\n  - name: a\n    mcp_endpoint: http://127.0.0.1:1/mcp\n    kubeconfig: ./k.kubeconfig\n  - name: b\n    mcp_endpoint: nope\nagent: { max_concurrent: 0 }\n",
      ),
    ],
    code: 2,
  },
  {
    what: "check on an unset environment variable, a missing kubeconfig and a state_dir that is a file",
    args: [
      "check",
      "--config",
      writeFile(
        dir.path,
        "env.yaml",
        `clusters:\n  - name: a\n    mcp_endpoint: http://127.0.0.1:1/mcp\n    kubeconfig: ${kubeconfig}\n    auth: { bearer_token: "\${FAULTLINE_DENO_E2E_UNSET}" }\n  - name: b\n    mcp_endpoint: http://127.0.0.1:2/mcp\n    kubeconfig: ./nowhere.yaml\nstate_dir: ./not-a-dir\n`,
      ),
    ],
    code: 2,
  },
  {
    what: "check on a YAML alias bomb",
    args: ["check", "--config", writeFile(dir.path, "bomb.yaml", aliasBombYaml())],
    code: 2,
  },
];

describe.skipIf(!denoFaultline().run)("the same answers under Deno as under Bun", () => {
  test.each(CASES)(
    "$what",
    async ({ args, code }) => {
      const [bun, deno] = await Promise.all([
        runToEnd([...sourceCli("bun"), ...args], dir.path),
        runToEnd([...sourceCli("deno"), ...args], dir.path),
      ]);
      expect(bun.code).toBe(code);
      expect({ code: deno.code, stdout: deno.stdout, stderr: deno.stderr }).toEqual({
        code: bun.code,
        stdout: bun.stdout,
        stderr: bun.stderr,
      });
    },
    60_000,
  );
});
