import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { defaultReplicaName, parseConfig } from "../../src/config/load.ts";
import { configProblems } from "../helpers/config.ts";
import { tempDir, writeKubeconfig } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(dir.cleanup);
writeKubeconfig(dir.path, "a.yaml");
const source = join(dir.path, "faultline.yaml");
const cluster = `
clusters:
  - name: east
    mcp_endpoint: http://127.0.0.1:8081/mcp
    kubeconfig: ./a.yaml
`;

describe("store and ha", () => {
  test("without store: SQLite, ha resolved to defaults with $HOSTNAME as the replica", () => {
    const config = parseConfig(cluster, source, { HOSTNAME: "faultline-7d9c-x2" });
    expect(config.store.postgres).toBeUndefined();
    expect(config.ha).toEqual({ replica: "faultline-7d9c-x2", lease_seconds: 15 });
  });

  test("store.postgres with a URL from the environment, ha written out", () => {
    const text = `${cluster}
store: { postgres: { url: "\${FAULTLINE_DATABASE_URL}" } }
ha: { replica: pod-a, lease_seconds: 9 }
`;
    const config = parseConfig(text, source, { FAULTLINE_DATABASE_URL: "postgres://u:p@127.0.0.1:5432/f" });
    expect(config.store.postgres).toEqual({ url: "postgres://u:p@127.0.0.1:5432/f", max_connections: 10 });
    expect(config.ha).toEqual({ replica: "pod-a", lease_seconds: 9 });
  });

  test("bad values name their field; ha without store.postgres is refused", () => {
    const text = `${cluster}
store: { postgres: { url: "mysql://x", max_connections: 0 } }
ha: { replica: "bad name!", lease_seconds: 1 }
`;
    const found = configProblems(text, source, {});
    expect(found).toContain("store.postgres.url: must be a postgres:// or postgresql:// URL");
    expect(found).toContain("store.postgres.max_connections: must be at least 1");
    expect(found.some((p) => p.startsWith("ha.replica: must be 1-253 characters"))).toBe(true);
    expect(found).toContain("ha.lease_seconds: must be at least 3");
    expect(configProblems(`${cluster}\nha: { lease_seconds: 20 }\n`, source, {})).toEqual([
      "ha: needs store.postgres: replicas share the fleet through one PostgreSQL database",
    ]);
  });

  test("the default replica name is made valid from any host name", () => {
    expect(defaultReplicaName({ HOSTNAME: "node 1/a" })).toBe("node-1-a");
    expect(defaultReplicaName({ HOSTNAME: "-lead" })).toBe("replica--lead");
  });
});
