/** Reading a faultline state directory from outside (while faultline runs, as operators would). */
import { Database } from "bun:sqlite";
import { join } from "node:path";
import type { Simulator } from "../../scripts/sim/index.ts";

/** Runs `sql` on `<stateDir>/faultline.db`, read-only, and returns every row. */
export function queryState<T>(stateDir: string, sql: string): T[] {
  const db = new Database(join(stateDir, "faultline.db"), { readonly: true });
  try {
    return db.query<T, []>(sql).all();
  } finally {
    db.close();
  }
}

/** The single number a `SELECT count(*) n …` query returns. */
export function countState(stateDir: string, sql: string): number {
  return queryState<{ n: number }>(stateDir, sql)[0]?.n ?? -1;
}

/** `clusters:` YAML for the simulator's `names`, all sharing one kubeconfig path. */
export function clustersYaml(sim: Simulator, names: readonly string[], kubeconfig: string): string {
  const entries = names.map(
    (n) => `  - { name: ${n}, mcp_endpoint: "${sim.endpoint(n)}", kubeconfig: ${kubeconfig} }`,
  );
  return `clusters:\n${entries.join("\n")}\n`;
}
