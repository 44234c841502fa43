import { expect, test } from "bun:test";
import {
  BUN_DEFAULT_MAX_HTTP_REQUESTS,
  estimateClusters,
  FTL_JIT_VARIABLE,
  GC_TIMER_VARIABLE,
  planHttpLimit,
  REEXEC_MARKER,
  reexecEnv,
  requiredHttpRequests,
  selfArgv,
} from "../../src/runtime/http-capacity.ts";

test("small fleets keep Bun's default cap", () => {
  expect(planHttpLimit(10, {})).toEqual({
    action: "keep",
    limit: BUN_DEFAULT_MAX_HTTP_REQUESTS,
    required: 84,
  });
});

test("large fleets re-execute with a cap sized for them", () => {
  expect(planHttpLimit(1000, {})).toEqual({ action: "reexec", limit: 2064, required: 2064, current: 256 });
  expect(planHttpLimit(1000, { BUN_CONFIG_MAX_HTTP_REQUESTS: "100" })).toMatchObject({
    action: "reexec",
    current: 100,
  });
});

test("a cap already large enough is kept; a re-executed process never loops", () => {
  expect(planHttpLimit(1000, { BUN_CONFIG_MAX_HTTP_REQUESTS: "5000" })).toMatchObject({
    action: "keep",
    limit: 5000,
  });
  expect(planHttpLimit(1000, { BUN_CONFIG_MAX_HTTP_REQUESTS: "300", [REEXEC_MARKER]: "1" })).toEqual({
    action: "short",
    limit: 300,
    required: 2064,
  });
});

test("the requirement never exceeds Bun's maximum", () => {
  expect(requiredHttpRequests(100_000)).toBe(65_535);
});

test("self argv: source keeps the script, a compiled binary drops its embedded entry", () => {
  expect(selfArgv(["/usr/bin/bun", "/app/src/main.ts", "run", "-c", "x"], "/usr/bin/bun")).toEqual([
    "/usr/bin/bun",
    "/app/src/main.ts",
    "run",
    "-c",
    "x",
  ]);
  expect(selfArgv(["bun", "/$bunfs/root/faultline", "run"], "/opt/faultline")).toEqual([
    "/opt/faultline",
    "run",
  ]);
});

test("the cluster estimate counts every mcp_endpoint key, never fewer than the clusters", () => {
  const text = `clusters:
  - { name: a, mcp_endpoint: "http://a/mcp", kubeconfig: k }
  - name: b
    mcp_endpoint:   http://b/mcp
    kubeconfig: k
  # - { name: c, mcp_endpoint: "http://c/mcp", kubeconfig: k }
`;
  expect(estimateClusters(text)).toBe(3);
  expect(estimateClusters("mcp_endpoint: http://x/mcp\n")).toBe(1);
  expect(estimateClusters("")).toBe(0);
});

test("the estimate counts quoted keys too: a JSON config (JSON is YAML) is not parsed twice", () => {
  const clusters = [1, 2, 3].map((i) => ({
    name: `c${i}`,
    mcp_endpoint: `http://c${i}/mcp`,
    kubeconfig: "k",
  }));
  expect(estimateClusters(JSON.stringify({ clusters }, null, 2))).toBe(3);
  expect(estimateClusters(JSON.stringify({ clusters }))).toBe(3);
  expect(estimateClusters("clusters:\n  - 'mcp_endpoint': http://x/mcp\n")).toBe(1);
});

test("the re-executed process gets the raised cap, the marker, Bun's GC timer off and the FTL tier off, unless the user set those", () => {
  expect(reexecEnv({ PATH: "/bin" }, 2064)).toEqual({
    PATH: "/bin",
    BUN_CONFIG_MAX_HTTP_REQUESTS: "2064",
    [REEXEC_MARKER]: "1",
    [GC_TIMER_VARIABLE]: "1",
    [FTL_JIT_VARIABLE]: "0",
  });
  expect(reexecEnv({ [FTL_JIT_VARIABLE]: "1" }, 300)[FTL_JIT_VARIABLE]).toBe("1");
  expect(reexecEnv({ BUN_GC_TIMER_INTERVAL: "5000" }, 300)[GC_TIMER_VARIABLE]).toBeUndefined();
  expect(reexecEnv({ [GC_TIMER_VARIABLE]: "" }, 300)[GC_TIMER_VARIABLE]).toBe("");
});
