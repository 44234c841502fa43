/**
 * The command-line entry in process: dispatch, help, usage errors and exit codes, with output captured.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { cli, HELP } from "../../src/cli/entry.ts";
import { EXIT } from "../../src/cli/exit-codes.ts";
import type { CommandIO } from "../../src/cli/io.ts";
import { VERSION } from "../../src/version.ts";
import { tempDir, writeFile, writeKubeconfig } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(dir.cleanup);
writeKubeconfig(dir.path, "a.yaml");
const valid = writeFile(
  dir.path,
  "valid.yaml",
  "clusters:\n  - name: a\n    mcp_endpoint: http://127.0.0.1:1/mcp\n    kubeconfig: ./a.yaml\n",
);
const invalid = writeFile(
  dir.path,
  "invalid.yaml",
  "clusters:\n  - name: a\n    mcp_endpoint: ftp://h/mcp\n",
);

/** Runs the CLI in process; returns its exit code and what it wrote. */
async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: CommandIO = { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) };
  const code = await cli(argv, io);
  return { code, stdout, stderr };
}

describe("cli", () => {
  test("--help, -h and help print the help on stdout and exit 0", async () => {
    for (const argv of [["--help"], ["-h"], ["help"]]) {
      expect(await run(...argv)).toEqual({ code: EXIT.ok, stdout: `${HELP}\n`, stderr: "" });
    }
    expect(HELP).toContain("Exit codes: 0 ok, 1 runtime error, 2 invalid config or usage.");
  });

  test("version prints the version", async () => {
    expect(await run("version")).toEqual({ code: EXIT.ok, stdout: `faultline ${VERSION}\n`, stderr: "" });
  });

  test("check: a valid file is summarised, an invalid one lists its problems and exits 2", async () => {
    const ok = await run("check", "--config", valid);
    expect(ok).toEqual({ code: EXIT.ok, stdout: `${valid}: valid (1 cluster(s), 1 enabled)\n`, stderr: "" });
    const bad = await run("check", "-c", invalid);
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).toBe(
      `${invalid}: invalid configuration (2 problem(s)):\n` +
        "  clusters[0].mcp_endpoint: must be an http:// or https:// URL\n  clusters[0].kubeconfig: required\n",
    );
  });

  test("usage errors name the problem, print the help on stderr and exit 2", async () => {
    const missing = await run();
    expect(missing).toEqual({
      code: EXIT.usage,
      stdout: "",
      stderr: `faultline: a command is required\n\n${HELP}\n`,
    });
    expect((await run("frobnicate")).stderr).toStartWith('faultline: unknown command "frobnicate"\n');
    expect((await run("check", "--bogus")).stderr).toStartWith("faultline: Unknown option '--bogus'");
    expect(await run("run")).toEqual({
      code: EXIT.usage,
      stdout: "",
      stderr: "faultline run: --config FILE is required\n",
    });
  });

  test("run with an invalid config exits 2 before starting anything", async () => {
    const result = await run("run", "--config", invalid);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain("clusters[0].kubeconfig: required");
  });

  test("incidents is dispatched with its own flags", async () => {
    const result = await run("incidents", "--config", valid, "--limit", "0");
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toStartWith("faultline incidents: --limit");
  });
});
