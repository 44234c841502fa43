/**
 * What the connections need beyond the config's shape: readable PEM CA / certificate / key files (made
 * with openssl here), a token file, one kind of token, a certificate with its key, TLS on https only.
 * `faultline check` reports the problems with exit 2, `faultline run` refuses to start with exit 1.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync } from "node:fs";
import { join } from "node:path";
import { connectionIssues } from "../../src/config/connection-check.ts";
import { parseConfig } from "../../src/config/load.ts";
import { formatFieldIssue } from "../../src/validation/issues.ts";
import { makeCertificates } from "../helpers/certs.ts";
import { SOURCE_CLI } from "../helpers/process.ts";
import { tempDir, writeFile, writeKubeconfig } from "../helpers/tmp.ts";

const dir = tempDir("faultline-conncheck-");
afterAll(dir.cleanup);
const certs = makeCertificates(dir.path);
writeKubeconfig(dir.path, "k.yaml");
writeFile(dir.path, "garbage.pem", "this is not PEM\n");
writeFile(
  dir.path,
  "broken.pem",
  "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n",
);
writeFile(dir.path, "token", "t0ken-in-a-file\n");
const unreadable = writeFile(dir.path, "unreadable.pem", certs.read(certs.caFile));
chmodSync(unreadable, 0o000);

function configText(extra: string, endpoint = "https://127.0.0.1:9/mcp"): string {
  return `clusters:\n  - name: a\n    mcp_endpoint: ${endpoint}\n    kubeconfig: ./k.yaml\n${extra}state_dir: ./state\n`;
}

function issues(extra: string, endpoint?: string): string[] {
  const text = configText(extra, endpoint);
  return connectionIssues(parseConfig(text, writeFile(dir.path, "f.yaml", text), {})).map(formatFieldIssue);
}

describe("connectionIssues", () => {
  test("a CA, a client certificate with its key, a token file: no problem", () => {
    expect(
      issues(`    auth: { bearer_token_file: ./token }
    tls: { ca_file: ./ca.pem, cert_file: ./client.pem, key_file: ./client.key, server_name: mcp.internal }
`),
    ).toEqual([]);
  });

  test("missing, unreadable and non-PEM files are reported with the field and the file", () => {
    const found = issues(`    auth: { bearer_token_file: ./no-token }
    tls: { ca_file: ./garbage.pem, cert_file: ./broken.pem, key_file: ./client.pem }
`);
    expect(found).toEqual([
      `clusters[0].auth.bearer_token_file: cannot read "${join(dir.path, "no-token")}": no such file`,
      `clusters[0].tls.ca_file: "${join(dir.path, "garbage.pem")}" is not a PEM certificate (no BEGIN/END certificate block)`,
      `clusters[0].tls.cert_file: "${join(dir.path, "broken.pem")}" is not a valid PEM certificate`,
      `clusters[0].tls.key_file: "${join(dir.path, "client.pem")}" is not a PEM private key (no BEGIN/END private key block)`,
    ]);
    if (process.getuid?.() !== 0) {
      expect(issues("    tls: { ca_file: ./unreadable.pem }\n")).toEqual([
        `clusters[0].tls.ca_file: cannot read "${unreadable}": permission denied`,
      ]);
    }
  });

  test("both kinds of token, a certificate without its key (and back), tls on http://, Authorization twice", () => {
    expect(issues("    auth: { bearer_token: a, bearer_token_file: ./token }\n")).toEqual([
      "clusters[0].auth: set bearer_token or bearer_token_file, not both",
    ]);
    expect(issues("    tls: { cert_file: ./client.pem }\n")).toEqual([
      "clusters[0].tls.key_file: required with cert_file",
    ]);
    expect(issues("    tls: { key_file: ./client.key }\n")).toEqual([
      "clusters[0].tls.cert_file: required with key_file",
    ]);
    expect(issues("    tls: { ca_file: ./ca.pem }\n", "http://127.0.0.1:9/mcp")).toEqual([
      "clusters[0].tls: applies to https:// endpoints only",
    ]);
    expect(issues("    auth: { bearer_token: a }\n    headers: { authorization: Bearer b }\n")).toEqual([
      "clusters[0].headers.authorization: conflicts with auth: set the token in auth, or the whole header in headers",
    ]);
  });
});

describe("the commands", () => {
  const bad = writeFile(
    dir.path,
    "bad.yaml",
    configText(
      "    auth: { bearer_token: a, bearer_token_file: ./token }\n    tls: { ca_file: ./garbage.pem }\n",
    ),
  );
  const run = (...args: string[]) => {
    const result = Bun.spawnSync([...SOURCE_CLI, ...args], { stdout: "pipe", stderr: "pipe" });
    return { code: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
  };

  test("check: exit 2 with every problem", () => {
    const result = run("check", "--config", bad);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("clusters[0].auth: set bearer_token or bearer_token_file, not both");
    expect(result.stderr).toContain("clusters[0].tls.ca_file:");
  });

  test("run: exit 1, cannot start, with every problem", () => {
    const result = run("run", "--config", bad);
    expect(result.code).toBe(1);
    expect(result.stderr).toStartWith("faultline: cannot start: ");
    expect(result.stderr).toContain("clusters[0].auth: set bearer_token or bearer_token_file, not both");
    expect(result.stderr).toContain("is not a PEM certificate");
  });
});
