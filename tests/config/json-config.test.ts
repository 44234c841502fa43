import { expect, test } from "bun:test";
import { parse } from "yaml";
import { MAX_JSON_CONFIG_DEPTH, parseJsonConfig } from "../../src/config/json-config.ts";
import { ConfigError, parseConfig } from "../../src/config/load.ts";

test("a JSON object reads as the YAML parser reads it", () => {
  const text = JSON.stringify(
    {
      clusters: [
        { name: "prod-eu", mcp_endpoint: "https://a.example/mcp", labels: { 'team"x': "a\\b", ü: "ü" } },
        { name: "dev", mcp_endpoint: "http://127.0.0.1:1/mcp", enabled: false, tls: null },
      ],
      ping: { interval_seconds: 12.5 },
      empty: {},
      list: [[], [{}], ["{", "}", "[", ":"]],
    },
    null,
    2,
  );
  expect(parseJsonConfig(text)).toEqual(parse(text));
  expect(parseJsonConfig(JSON.stringify({ a: 1 }))).toEqual({ a: 1 });
});

test("anything but a plain JSON object is left to the YAML parser", () => {
  expect(parseJsonConfig("clusters: []")).toBeNull();
  expect(parseJsonConfig("{clusters: []}")).toBeNull(); // a YAML flow mapping, not JSON
  expect(parseJsonConfig("[1, 2]")).toBeNull();
  expect(parseJsonConfig('{"a": 1,}')).toBeNull();
  // Repeated keys, at the top, nested, and written with an escape: YAML reports them.
  expect(parseJsonConfig('{"a": 1, "a": 2}')).toBeNull();
  expect(parseJsonConfig('{"x": [{"b": 1, "c": {"d": 1, "d": 1}}]}')).toBeNull();
  expect(parseJsonConfig('{"key": 1, "k\\u0065y": 2}')).toBeNull();
  // The same key in different objects, and as a value, is fine.
  expect(parseJsonConfig('{"a": {"a": "a"}, "b": [{"a": 1}, {"a": 2}]}')).toEqual({
    a: { a: "a" },
    b: [{ a: 1 }, { a: 2 }],
  });
  const deep = `${'{"a":'.repeat(MAX_JSON_CONFIG_DEPTH + 1)}1${"}".repeat(MAX_JSON_CONFIG_DEPTH + 1)}`;
  expect(parseJsonConfig(deep)).toBeNull();
});

test("a JSON config with a repeated key is refused with the YAML parser's message and line", () => {
  const text = '{\n  "clusters": [],\n  "state_dir": "/tmp/a",\n  "state_dir": "/tmp/b"\n}\n';
  let error: unknown;
  try {
    parseConfig(text, "/etc/faultline/faultline.json", {});
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).issues.map((issue) => issue.message)).toEqual([
    'invalid YAML: Map keys must be unique ("state_dir" at line 4)',
  ]);
});
