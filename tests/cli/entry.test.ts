/**
 * The command-line entry in process: dispatch, help, usage errors and exit codes, with output captured.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { paint, useColor } from "../../src/cli/color.ts";
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

  test("--version and -v print the version; each command answers its own --help", async () => {
    for (const flag of ["--version", "-v"]) {
      expect(await run(flag)).toEqual({ code: EXIT.ok, stdout: `faultline ${VERSION}\n`, stderr: "" });
    }
    const usages: Record<string, string> = {
      run: "Usage: faultline run --config FILE [--listen HOST:PORT]",
      check: "Usage: faultline check --config FILE",
      incidents: "Usage: faultline incidents --config FILE",
      probe: "Usage: faultline probe URL",
      version: "Usage: faultline version",
    };
    for (const [command, usage] of Object.entries(usages)) {
      for (const argv of [
        [command, "--help"],
        [command, "-h"],
        ["help", command],
      ]) {
        const result = await run(...argv);
        expect(result.code).toBe(EXIT.ok);
        expect(result.stdout).toStartWith(usage);
        expect(result.stdout).not.toContain("faultline incidents --config FILE [--cluster C]");
      }
    }
    const bad = await run("run", "--bogus");
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.stderr).toContain("Usage: faultline run");
  });

  test("check reports schema, file, listen and state_dir problems in one pass", async () => {
    writeFile(dir.path, "a-file", "not a folder");
    const many = writeFile(
      dir.path,
      "many.yaml",
      `clusters:
  - { name: a, mcp_endpoint: ftp://h/mcp, kubeconfig: ./missing.yaml }
  - { name: "b!", mcp_endpoint: http://127.0.0.1:1/mcp, kubeconfig: ./a.yaml }
agent: { command: ["./no-such-agent"] }
health: { listen: "203.0.113.7:8080" }
state_dir: ./a-file/state
`,
    );
    const result = await run("check", "--config", many);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain("clusters[0].mcp_endpoint: must be an http:// or https:// URL");
    expect(result.stderr).toContain("clusters[1].name: must be 1-63 characters");
    expect(result.stderr).toContain(
      `clusters[0].kubeconfig: cannot read "${dir.path}/missing.yaml": no such file`,
    );
    expect(result.stderr).toContain(
      'agent.command[0]: program "./no-such-agent" not found or not executable',
    );
    expect(result.stderr).toContain("health.listen: 203.0.113.7 is not an address of this machine");
    expect(result.stderr).toContain(
      `state_dir: "${dir.path}/a-file" is a file: state_dir "${dir.path}/a-file/state" cannot be created`,
    );
    expect(result.stderr).toStartWith(`${many}: invalid configuration (6 problem(s)):`);
  });

  test("check takes FAULTLINE_HEALTH_LISTEN into account and names it in its problem", async () => {
    const previous = process.env.FAULTLINE_HEALTH_LISTEN;
    process.env.FAULTLINE_HEALTH_LISTEN = "nope";
    try {
      const result = await run("check", "--config", valid);
      expect(result.code).toBe(EXIT.usage);
      expect(result.stderr).toContain(
        'FAULTLINE_HEALTH_LISTEN: must be host:port with a port from 0 to 65535, got "nope"',
      );
    } finally {
      if (previous === undefined) delete process.env.FAULTLINE_HEALTH_LISTEN;
      else process.env.FAULTLINE_HEALTH_LISTEN = previous;
    }
  });

  test("probe refuses anything but a local http(s) URL", async () => {
    for (const url of ["http://example.com/livez", "ftp://127.0.0.1/x", "nonsense"]) {
      const result = await run("probe", url);
      expect(result.code).toBe(EXIT.usage);
      expect(result.stderr).toStartWith("faultline probe: URL must");
    }
    expect((await run("probe")).code).toBe(EXIT.usage);
  });

  test("incidents is dispatched with its own flags", async () => {
    const result = await run("incidents", "--config", valid, "--limit", "0");
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toStartWith("faultline incidents: --limit");
  });
});

test("colours: only on a terminal, never with NO_COLOR set", () => {
  expect(useColor({ isTTY: true }, {})).toBe(true);
  expect(useColor({ isTTY: true }, { NO_COLOR: "1" })).toBe(false);
  expect(useColor({ isTTY: true }, { NO_COLOR: "" })).toBe(true);
  expect(useColor({ isTTY: false }, {})).toBe(false);
  expect(useColor({}, {})).toBe(false);
  expect(paint("x", "\x1b[1m", false)).toBe("x");
  expect(paint("x", "\x1b[1m", true)).toBe("\x1b[1mx\x1b[0m");
});
