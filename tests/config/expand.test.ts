/**
 * `${VAR}`, `${VAR:-default}` and `$$` in every string value of the config, before validation; the
 * connection keys (`context`, `auth`, `headers`, `tls`) per cluster and at top level in single mode.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config-file variable references are the subject here
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { expandEnvironment } from "../../src/config/expand.ts";
import { parseConfig } from "../../src/config/load.ts";
import { formatFieldIssue } from "../../src/validation/issues.ts";
import { configProblems } from "../helpers/config.ts";
import { tempDir, writeKubeconfig } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(dir.cleanup);
const kubeconfig = writeKubeconfig(dir.path, "k.yaml");
const source = join(dir.path, "faultline.yaml");

function problems(text: string, env: Record<string, string | undefined> = {}): string[] {
  return configProblems(text, source, env);
}

describe("expandEnvironment", () => {
  const expand = (value: unknown, env: Record<string, string | undefined> = {}) =>
    expandEnvironment(value, env);

  test("${VAR}, ${VAR:-default} (unset or empty), $$ and a lone $", () => {
    const env = { TOKEN: "s3cret", EMPTY: "", PORT: "8081" };
    expect(
      expand(
        {
          a: "${TOKEN}",
          b: "Bearer ${TOKEN} and ${TOKEN}",
          c: "${MISSING:-fallback}",
          d: "${EMPTY:-fallback}",
          e: "${TOKEN:-fallback}",
          f: "cost: $$5, $HOME stays, 100$",
          g: "http://h:${PORT}/mcp",
          h: "${MISSING:-}",
        },
        env,
      ),
    ).toEqual({
      value: {
        a: "s3cret",
        b: "Bearer s3cret and s3cret",
        c: "fallback",
        d: "fallback",
        e: "s3cret",
        f: "cost: $5, $HOME stays, 100$",
        g: "http://h:8081/mcp",
        h: "",
      },
      issues: [],
    });
  });

  test("every string value, in lists and maps, and never keys or other types", () => {
    const env = { X: "x" };
    expect(expand({ "${X}": ["${X}", 3, true, null, { deep: ["${X}"] }] }, env).value).toEqual({
      "${X}": ["x", 3, true, null, { deep: ["x"] }],
    });
  });

  test("an unset variable without a default, a bad name and an unterminated ${ are problems with the field path", () => {
    const { issues } = expand({
      clusters: [{ auth: { bearer_token: "${NOPE}" } }, { a: "${bad-name}", b: "x${" }],
    });
    expect(issues.map(formatFieldIssue)).toEqual([
      "clusters[0].auth.bearer_token: environment variable NOPE is not set (use ${NOPE:-default} for a default)",
      'clusters[1].a: "${bad-name}" is not a variable reference: names are letters, digits and _ (write $$ for a literal $)',
      'clusters[1].b: unterminated "${" (write $$ for a literal $)',
    ]);
  });
});

describe("in a config file", () => {
  const cluster = (extra: string) => `clusters:
  - name: a
    mcp_endpoint: \${A_ENDPOINT:-http://127.0.0.1:9/mcp}
    kubeconfig: ./k.yaml
${extra}`;

  test("values are expanded before validation: numbers and URLs from variables validate", () => {
    const config = parseConfig(
      `${cluster("")}ping: { interval_seconds: 5 }\nlog_level: \${LEVEL}\n`,
      source,
      {
        LEVEL: "debug",
        A_ENDPOINT: "https://mcp.example/mcp",
      },
    );
    expect(config.log_level).toBe("debug");
    expect(config.clusters[0]?.mcp_endpoint).toBe("https://mcp.example/mcp");
  });

  test("an unset variable is reported once, naming the field and the variable", () => {
    expect(problems(cluster("    auth:\n      bearer_token: ${PROD_TOKEN}\n"))).toEqual([
      "clusters[0].auth.bearer_token: environment variable PROD_TOKEN is not set (use ${PROD_TOKEN:-default} for a default)",
    ]);
    expect(problems("mcp_endpoint: ${ENDPOINT}\n", { KUBECONFIG: kubeconfig })).toEqual([
      "mcp_endpoint: environment variable ENDPOINT is not set (use ${ENDPOINT:-default} for a default)",
    ]);
  });

  test("context, auth, headers and tls per cluster: paths resolved against the config's folder", () => {
    const [c] = parseConfig(
      cluster(`    context: prod-east
    auth: { bearer_token_file: ./tokens/east }
    headers: { X-Tenant: platform }
    tls: { ca_file: ca.pem, server_name: mcp.internal, cert_file: ./c.pem, key_file: ./k.pem, insecure_skip_verify: false }
`),
      source,
      {},
    ).clusters;
    expect(c).toMatchObject({
      config_path: "clusters[0]",
      context: "prod-east",
      auth: { bearer_token_file: join(dir.path, "tokens/east") },
      headers: { "X-Tenant": "platform" },
      tls: {
        ca_file: join(dir.path, "ca.pem"),
        server_name: "mcp.internal",
        cert_file: join(dir.path, "c.pem"),
        key_file: join(dir.path, "k.pem"),
        insecure_skip_verify: false,
      },
    });
  });

  test("at top level they apply to the single cluster of mcp_endpoint mode, and only there", () => {
    const single = parseConfig(
      "mcp_endpoint: https://mcp.example/mcp\ncontext: ctx\nauth: { bearer_token: t0k }\nheaders: { X-A: b }\ntls: { ca_file: ./ca.pem }\n",
      source,
      { KUBECONFIG: kubeconfig },
    );
    expect(single.clusters[0]).toMatchObject({
      name: "default",
      context: "ctx",
      auth: { bearer_token: "t0k" },
      headers: { "X-A": "b" },
      tls: { ca_file: join(dir.path, "ca.pem") },
    });
    expect(problems(`${cluster("")}context: x\nauth: { bearer_token: t }\n`)).toEqual([
      "context: applies to mcp_endpoint (single-cluster mode) only: set it on each entry of clusters",
      "auth: applies to mcp_endpoint (single-cluster mode) only: set it on each entry of clusters",
    ]);
  });

  test("unknown auth or tls keys, bad header names and values, headers the transport sets", () => {
    expect(
      problems(
        cluster(`    auth: { password: x }
    tls: { verify: false }
    headers: { "X Bad": v, Mcp-Session-Id: s, X-Ok: "a\\nb", X-Num: 3 }
`),
      ),
    ).toEqual([
      "clusters[0].auth.password: unknown key",
      "clusters[0].headers.X Bad: header names are letters, digits and -",
      "clusters[0].headers.Mcp-Session-Id: is set by the MCP transport itself",
      "clusters[0].headers.X-Ok: header values must not contain line breaks",
      "clusters[0].headers.X-Num: header values must be strings",
      "clusters[0].tls.verify: unknown key",
    ]);
  });
});
