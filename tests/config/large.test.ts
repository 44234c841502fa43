/** Large config files: parse time grows linearly with the number of map keys (it was quadratic). */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { parseConfig } from "../../src/config/load.ts";
import { tempDir, writeKubeconfig } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(dir.cleanup);
writeKubeconfig(dir.path, "a.yaml");
const source = join(dir.path, "faultline.yaml");

/**
 * CPU seconds to validate a config whose one cluster has `count` labels (CPU, not wall clock: on a
 * machine shared with other work the wall clock stretches, the CPU the parse needs does not).
 */
function secondsFor(count: number): number {
  const lines = Array.from({ length: count }, (_, i) => `      k${i}: v${i}\n`).join("");
  const text = `clusters:\n  - name: a\n    mcp_endpoint: http://127.0.0.1:1/mcp\n    kubeconfig: ./a.yaml\n    labels:\n${lines}`;
  const started = process.cpuUsage();
  const config = parseConfig(text, source, {});
  const used = process.cpuUsage(started);
  const seconds = (used.user + used.system) / 1e6;
  expect(Object.keys(config.clusters[0]?.labels ?? {})).toHaveLength(count);
  return seconds;
}

test("100k labels validate in about a second; 4× the keys cost about 4× the time, not 16×", () => {
  secondsFor(5_000); // warm up the parser
  const small = secondsFor(25_000);
  const large = secondsFor(100_000);
  console.log(`25k labels: ${small.toFixed(2)} s CPU, 100k labels: ${large.toFixed(2)} s CPU`);
  // Was quadratic (yaml's uniqueKeys): 25k took 4.7 s, 50k 16.5 s.
  expect(large / small).toBeLessThan(8);
  expect(large).toBeLessThan(5);
}, 60_000);
