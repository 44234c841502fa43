/** The reload's diff: which clusters connect, close, reconnect or stay, and which settings apply or wait. */
import { afterAll, describe, expect, test } from "bun:test";
import { connectionsUnchanged, diffConfig, sameValue } from "../../src/config/diff.ts";
import { parseConfig } from "../../src/config/load.ts";
import { tempDir, writeKubeconfig } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(dir.cleanup);
writeKubeconfig(dir.path, "k.yaml");
writeKubeconfig(dir.path, "k2.yaml");
const source = `${dir.path}/faultline.yaml`;
const parse = (text: string) => parseConfig(text, source, {});
const cluster = (name: string, extra = "") =>
  `  - { name: ${name}, mcp_endpoint: "http://127.0.0.1:9/${name}", kubeconfig: ./k.yaml${extra} }`;

describe("diffConfig", () => {
  const base = parse(
    `clusters:\n${[cluster("a"), cluster("b"), cluster("c"), cluster("off", ", enabled: false")].join("\n")}\n`,
  );

  test("added, removed, changed (endpoint or labels), unchanged; disabling removes, enabling adds", () => {
    const next = parse(
      `clusters:\n${[
        cluster("a"),
        cluster("c", ", labels: { team: x }"),
        cluster("d"),
        cluster("off"),
        cluster("b", ", enabled: false"),
      ].join("\n")}\n`,
    );
    const diff = diffConfig(base, next);
    const names = (list: { name: string }[]) => list.map((c) => c.name);
    expect(names(diff.added)).toEqual(["d", "off"]);
    expect(names(diff.removed)).toEqual(["b"]);
    expect(names(diff.changed)).toEqual(["c"]);
    expect(names(diff.unchanged)).toEqual(["a"]);
    expect(connectionsUnchanged(diff)).toBe(false);
  });

  test("kubeconfig, threshold and triage apply without a new session; values of paths are not shown", () => {
    const next = parse(
      `clusters:\n${[cluster("a", ", severity_threshold: critical"), cluster("b", ", triage: false"), cluster("c").replace("./k.yaml", "./k2.yaml"), cluster("off", ", enabled: false")].join("\n")}\nlog_level: debug\n`,
    );
    const diff = diffConfig(base, next);
    expect(connectionsUnchanged(diff)).toBe(true);
    expect(diff.unchanged.map((c) => c.name)).toEqual(["a", "b", "c"]);
    expect(diff.applied).toEqual([
      'clusters.a.severity_threshold: "info" → "critical"',
      "clusters.b.triage: true → false",
      "clusters.c.kubeconfig: changed",
      'log_level: "info" → "debug"',
    ]);
    expect(diff.restartRequired).toEqual([]);
  });

  test("connection settings reconnect every running cluster; state_dir, health and workers need a restart", () => {
    const next = parse(
      `clusters:\n${[cluster("a"), cluster("b"), cluster("c"), cluster("off", ", enabled: false")].join("\n")}
ping: { interval_seconds: 5 }
state_dir: ./elsewhere
health: { listen: "127.0.0.1:9999" }
workers: { max: 3 }
`,
    );
    const diff = diffConfig(base, next);
    expect(diff.changed.map((c) => c.name)).toEqual(["a", "b", "c"]);
    expect(diff.applied).toEqual(["ping: changed"]);
    expect(diff.restartRequired).toEqual(["state_dir: changed", "health: changed", "workers: changed"]);
  });

  test("sameValue compares plain values deeply, ignoring key order and undefined keys", () => {
    expect(sameValue({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(sameValue({ a: 1, x: undefined }, { a: 1 })).toBe(true);
    expect(sameValue({ a: 1 }, { a: 2 })).toBe(false);
    expect(sameValue([1], { 0: 1 })).toBe(false);
  });
});
