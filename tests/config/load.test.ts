import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { loadConfig, MAX_CONFIG_BYTES, parseConfig } from "../../src/config/load.ts";
import {
  DEFAULT_ENV_PASSTHROUGH,
  DEFAULT_HANG_SECONDS,
  DEFAULT_WORKERS_MAX,
} from "../../src/config/schema.ts";
import { configProblems } from "../helpers/config.ts";
import { tempDir, writeFile, writeKubeconfig } from "../helpers/tmp.ts";
import { aliasBombYaml } from "../helpers/yaml-bomb.ts";

const dir = tempDir();
afterAll(dir.cleanup);
const kubeA = writeKubeconfig(dir.path, "a.yaml");
writeKubeconfig(dir.path, "b.yaml");
const agent = writeFile(dir.path, "agent.sh", "#!/bin/sh\nexit 0\n", 0o755);
const source = join(dir.path, "faultline.yaml");

/** Every problem a config text has, as `path: message` lines. */
function problems(text: string, env: Record<string, string | undefined> = {}): string[] {
  return configProblems(text, source, env);
}

const two = `
clusters:
  - name: prod-east
    mcp_endpoint: http://127.0.0.1:8081/mcp
    kubeconfig: ./a.yaml
    labels: { region: us-east }
  - name: prod-west
    mcp_endpoint: https://10.0.0.6:8080/mcp
    kubeconfig: ./b.yaml
    enabled: false
    severity_threshold: critical
    triage: false
`;

describe("multi-cluster configuration", () => {
  test("a valid file resolves paths, defaults and per-cluster overrides", () => {
    const config = parseConfig(`${two}\nagent: { command: ["./agent.sh", "--fast"] }\n`, source, {});
    expect(config.mode).toBe("multi");
    expect(config.clusters.map((c) => c.name)).toEqual(["prod-east", "prod-west"]);
    const [east, west] = config.clusters;
    expect(east?.kubeconfig).toBe(kubeA);
    expect(east).toMatchObject({
      enabled: true,
      triage: true,
      severity_threshold: "info",
      labels: { region: "us-east" },
    });
    expect(west).toMatchObject({ enabled: false, triage: false, severity_threshold: "critical" });
    expect(config.agent).toEqual({
      command: [agent, "--fast"],
      max_concurrent: 4,
      timeout_seconds: 600,
      max_queue: 1000,
      retry_interrupted: true,
      max_attempts: 3,
      max_log_bytes: 10 * 1024 * 1024,
      env_passthrough: [...DEFAULT_ENV_PASSTHROUGH],
    });
    expect(config.limits).toEqual({
      max_event_bytes: 1024 * 1024,
      max_event_depth: 64,
      max_message_bytes: 16 * 1024 * 1024,
      max_string_chars: 64 * 1024,
    });
    expect(config.dedup_window_seconds).toBe(300);
    expect(config.shutdown_timeout_seconds).toBe(30);
    expect(config.reconnect).toEqual({ initial_seconds: 1, max_seconds: 60 });
    expect(config.subscribe).toEqual({ mode: "auto", poll_interval_seconds: 15 });
    expect(config.health).toEqual({ enabled: true, listen: { hostname: "127.0.0.1", port: 8080 } });
    expect(config.workers.max).toBe(DEFAULT_WORKERS_MAX);
    expect(config.workers.hang_seconds).toBe(DEFAULT_HANG_SECONDS);
    expect(DEFAULT_WORKERS_MAX).toBe(Math.max(1, Math.min(16, availableParallelism())));
    expect(config.state_dir).toBe(join(dir.path, "faultline-data"));
  });

  test("duplicate cluster names are rejected, naming the duplicate", () => {
    const text = `${two}\n  - name: prod-east\n    mcp_endpoint: http://x:1/mcp\n    kubeconfig: ./a.yaml\n`;
    expect(problems(text)).toEqual([
      `clusters[2].name: duplicate cluster name "prod-east" (also clusters[0].name)`,
    ]);
  });

  test.each(["name", "mcp_endpoint", "kubeconfig"])(
    "a cluster missing %s is rejected with its field path",
    (field) => {
      const entry: Record<string, string> = {
        name: "b",
        mcp_endpoint: "http://127.0.0.1:1/mcp",
        kubeconfig: "./b.yaml",
      };
      delete entry[field];
      const text = `clusters:\n  - { name: a, mcp_endpoint: "http://127.0.0.1:1/mcp", kubeconfig: ./a.yaml }\n  - ${JSON.stringify(entry)}\n`;
      expect(problems(text)).toEqual([`clusters[1].${field}: required`]);
    },
  );

  test("unknown keys, wrong types and bad URLs are each reported with their path", () => {
    const text = `
clusters:
  - name: "bad name!"
    mcp_endpoint: ftp://example/mcp
    kubeconfig: ./a.yaml
    enabled: "yes"
    colour: blue
severity_threshold: severe
agent: { command: "./agent.sh --fast" }
workers: { max: 0, hang_seconds: 0 }
reconnect: { initial_seconds: 10, max_seconds: 5 }
extra: 1
`;
    expect(problems(text).sort()).toEqual(
      [
        "clusters[0].name: must be 1-63 characters of A-Z, a-z, 0-9, '_' or '-'",
        "clusters[0].mcp_endpoint: must be an http:// or https:// URL",
        "clusters[0].enabled: must be true or false",
        "clusters[0].colour: unknown key",
        "severity_threshold: must be one of info, warning, critical",
        "agent.command: must be a list of strings (an argv array, never a shell string)",
        "workers.max: must be at least 1",
        "workers.hang_seconds: must be greater than 0",
        "reconnect.max_seconds: must be at least initial_seconds (10)",
        "extra: unknown key",
      ].sort(),
    );
  });

  test("an unreadable or missing kubeconfig is rejected with its path", () => {
    const locked = writeKubeconfig(dir.path, "locked.yaml");
    chmodSync(locked, 0o000);
    mkdirSync(join(dir.path, "a-dir"), { recursive: true });
    const text = `
clusters:
  - { name: a, mcp_endpoint: "http://127.0.0.1:1/mcp", kubeconfig: ./missing.yaml }
  - { name: b, mcp_endpoint: "http://127.0.0.1:1/mcp", kubeconfig: ./a-dir }
  - { name: c, mcp_endpoint: "http://127.0.0.1:1/mcp", kubeconfig: ./locked.yaml }
`;
    const found = problems(text);
    expect(found[0]).toBe(
      `clusters[0].kubeconfig: cannot read "${join(dir.path, "missing.yaml")}": no such file`,
    );
    expect(found[1]).toBe(`clusters[1].kubeconfig: "${join(dir.path, "a-dir")}" is not a file`);
    // root reads any file regardless of mode bits; everyone else must be told.
    if (process.getuid?.() !== 0) expect(found[2]).toContain("clusters[2].kubeconfig: cannot read");
  });

  test("an agent program that does not exist is rejected", () => {
    expect(problems(`${two}\nagent: { command: ["./nope.sh"] }\n`)).toEqual([
      'agent.command[0]: program "./nope.sh" not found or not executable',
    ]);
  });

  test("an empty clusters list is rejected", () => {
    expect(problems("clusters: []\n")).toEqual(["clusters: must list at least one cluster"]);
  });
});

describe("single-cluster mode", () => {
  test("mcp_endpoint alone gives one cluster named default using $KUBECONFIG", () => {
    const config = parseConfig("mcp_endpoint: http://127.0.0.1:9/mcp\n", source, { KUBECONFIG: kubeA });
    expect(config.mode).toBe("single");
    expect(config.clusters).toEqual([
      {
        name: "default",
        mcp_endpoint: "http://127.0.0.1:9/mcp",
        kubeconfig: kubeA,
        enabled: true,
        labels: {},
        severity_threshold: "info",
        triage: true,
      },
    ]);
  });

  test("without $KUBECONFIG the default is ~/.kube/config", () => {
    const home = join(dir.path, "home");
    mkdirSync(join(home, ".kube"), { recursive: true });
    const kube = writeKubeconfig(join(home, ".kube"), "config");
    const config = parseConfig("mcp_endpoint: http://127.0.0.1:9/mcp\n", source, { HOME: home });
    expect(config.clusters[0]?.kubeconfig).toBe(kube);
  });

  test("a missing default kubeconfig is reported", () => {
    expect(
      problems("mcp_endpoint: http://127.0.0.1:9/mcp\n", { HOME: join(dir.path, "nohome") })[0],
    ).toStartWith("kubeconfig (default: $KUBECONFIG, else ~/.kube/config): cannot read");
  });

  test("mcp_endpoint and clusters together are rejected: both cannot be set", () => {
    expect(problems(`mcp_endpoint: http://127.0.0.1:9/mcp\n${two}`)).toEqual([
      "mcp_endpoint and clusters cannot both be set: use clusters for many clusters, mcp_endpoint for one",
    ]);
  });

  test("neither mcp_endpoint nor clusters is rejected", () => {
    expect(problems("log_level: debug\n")).toEqual([
      "no clusters configured: set clusters (a list) or mcp_endpoint (one server)",
    ]);
  });
});

describe("unusable files", () => {
  test("an empty file", () => {
    expect(problems("  \n")).toEqual(["config file is empty"]);
  });

  test("invalid YAML names the line", () => {
    const [problem] = problems("clusters:\n  - name: a\n   bad: [\n");
    expect(problem).toStartWith("invalid YAML:");
    expect(problem).toContain("line");
  });

  test("a YAML alias bomb is refused, not expanded", () => {
    const bomb = aliasBombYaml();
    const [problem, ...rest] = problems(bomb);
    expect(rest).toEqual([]);
    expect(problem).toBe("YAML refused: Excessive alias count indicates a resource exhaustion attack");
  });

  test("YAML nested too deep for the stack is refused; deep nesting costs linear time", () => {
    const [problem] = problems(`clusters: ${"[".repeat(8_000)}${"]".repeat(8_000)}\n`);
    expect(problem).toMatch(/^(YAML refused|invalid YAML): /);
    const started = performance.now();
    expect(problems(`clusters: ${"[".repeat(5_000)}${"]".repeat(5_000)}\n`).length).toBeGreaterThan(0);
    // yaml's visit() copies the path at each level: 5,000 levels took 11 s with it.
    expect(performance.now() - started).toBeLessThan(3000);
  });

  test("a file over MAX_CONFIG_BYTES is refused before parsing", () => {
    const huge = `log_level: info\n#${"x".repeat(MAX_CONFIG_BYTES)}\n`;
    expect(problems(huge)).toEqual([`config file too large: over ${MAX_CONFIG_BYTES} bytes`]);
  });

  test("a repeated key is named with its line", () => {
    expect(problems(`${two}\nlog_level: info\nlog_level: debug\n`)).toEqual([
      'invalid YAML: Map keys must be unique ("log_level" at line 15)',
    ]);
  });

  test("a YAML document that is not a mapping", () => {
    expect(problems("- a\n- b\n")).toEqual(["config must be a YAML mapping of keys to values"]);
  });

  test("a file that does not exist", () => {
    expect(() => loadConfig(join(dir.path, "none.yaml"))).toThrow(/cannot read config file/);
  });

  test("a state_dir that is a file", () => {
    expect(problems(`${two}\nstate_dir: ./agent.sh\n`)).toEqual([`state_dir: "${agent}" is not a directory`]);
  });

  test("a bad health.listen", () => {
    expect(problems(`${two}\nhealth: { listen: "localhost" }\n`)).toEqual([
      'health.listen: must be host:port with a port from 0 to 65535, got "localhost"',
    ]);
  });
});

describe("notify", () => {
  test("sinks with their defaults; health.public_url", () => {
    const config = parseConfig(
      `${two}
health: { public_url: "https://faultline.example" }
notify:
  - { name: ops-slack, type: slack, url: "https://hooks.slack.com/services/T/B/X", match: { clusters: ["prod-*"], severity: warning, labels: { tier: prod } } }
  - { name: hook, type: webhook, url: "http://127.0.0.1:9/h", secret: s, on: [opened] }
`,
      source,
      {},
    );
    expect(config.health.public_url).toBe("https://faultline.example");
    expect(config.notify[0]).toEqual({
      name: "ops-slack",
      type: "slack",
      url: "https://hooks.slack.com/services/T/B/X",
      on: ["triaged", "failed"],
      match: { clusters: ["prod-*"], severity: "warning", labels: { tier: "prod" } },
      max_per_minute: 60,
      max_attempts: 10,
      retry: { initial_seconds: 1, max_seconds: 300 },
      timeout_seconds: 10,
    });
    expect(config.notify[1]).toMatchObject({ type: "webhook", secret: "s", on: ["opened"], match: {} });
    expect(parseConfig(two, source, {}).notify).toEqual([]);
  });

  test("a url that is not http(s) is a config error that does not repeat the url (a secret)", () => {
    const found = problems(
      `${two}
notify:
  - { name: a, type: slack, url: "ftp://user:tok3n@host/x" }
  - { name: b, type: webhook, url: "not a url tok3n" }
`,
    );
    expect(found).toEqual([
      "notify[0].url: must be an http:// or https:// URL",
      "notify[1].url: must be a URL",
    ]);
    expect(found.join("\n")).not.toContain("tok3n");
  });

  test("unknown types and events, duplicate names, a secret on a sink that cannot sign, bad match keys", () => {
    expect(
      problems(
        `${two}
notify:
  - { name: a, type: email, url: "https://x/" }
  - { name: a, type: slack, url: "https://x/", on: [resolved], secret: s }
  - { name: c, type: webhook, url: "https://x/", on: [], match: { namespaces: [x] } }
`,
      ),
    ).toEqual([
      "notify[0].type: must be one of slack, webhook, alertmanager",
      "notify[1].on[0]: must be one of opened, triaged, failed",
      "notify[2].on: must name at least one event",
      "notify[2].match.namespaces: unknown key",
      'notify[1].name: duplicate sink name "a" (also notify[0].name)',
      "notify[1].secret: only a webhook sink signs its messages",
    ]);
  });
});

describe("health.listen overrides", () => {
  const overrides = tempDir();
  afterAll(overrides.cleanup);
  writeKubeconfig(overrides.path, "k.yaml");
  const source = join(overrides.path, "faultline.yaml");
  const text = `clusters:\n  - { name: a, mcp_endpoint: "http://127.0.0.1:9/mcp", kubeconfig: ./k.yaml }\nhealth: { listen: "127.0.0.1:7000" }\n`;

  test("--listen wins over FAULTLINE_HEALTH_LISTEN, which wins over health.listen", () => {
    expect(parseConfig(text, source, {}).health.listen).toEqual({ hostname: "127.0.0.1", port: 7000 });
    const env = { FAULTLINE_HEALTH_LISTEN: "0.0.0.0:8080" };
    expect(parseConfig(text, source, env).health.listen).toEqual({ hostname: "0.0.0.0", port: 8080 });
    expect(parseConfig(text, source, env, { healthListen: "[::1]:9" }).health.listen).toEqual({
      hostname: "::1",
      port: 9,
    });
    expect(parseConfig(text, source, { FAULTLINE_HEALTH_LISTEN: "" }).health.listen.port).toBe(7000);
  });

  test("a malformed override is reported under its own name", () => {
    expect(() => parseConfig(text, source, {}, { healthListen: "8080" })).toThrow(
      '--listen: must be host:port with a port from 0 to 65535, got "8080"',
    );
  });
});
