/**
 * `/metrics` hygiene: the exposition passes `promtool check metrics`, carries build and cluster info,
 * the reload gauges, lifetime counts as `_total` counters, and no default series Bun reports wrongly.
 */
import { describe, expect, test } from "bun:test";
import { sampleExposition } from "../../scripts/metrics-sample.ts";
import { runtimeName } from "../../src/http/metrics.ts";
import { VERSION } from "../../src/version.ts";

const exposition = sampleExposition;

describe("metrics", () => {
  test("build info, cluster info with label_ labels, reload gauges", async () => {
    const text = await exposition();
    expect(text).toContain(`faultline_build_info{version="${VERSION}",runtime="${runtimeName()}"} 1`);
    expect(runtimeName()).toStartWith("bun ");
    expect(text).toContain(
      'faultline_cluster_info{label_region="us-east",label_app_kubernetes_io_team="payments",label_cluster="theirs",cluster="prod-east"} 1',
    );
    expect(text).toContain('faultline_cluster_info{cluster="dev"} 1');
    expect(text).toContain("faultline_config_last_reload_successful 0");
    expect(text).toContain("faultline_config_last_reload_success_timestamp_seconds 1800000000");
  });

  test("every counter ends in _total and nothing else does; no series Bun reports wrongly", async () => {
    const text = await exposition();
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, name, type]) => ({ name, type }));
    for (const { name, type } of types) expect(name?.endsWith("_total")).toBe(type === "counter");
    const names = types.map((t) => t.name);
    for (const wrong of [
      "process_heap_bytes",
      "process_virtual_memory_bytes",
      "nodejs_eventloop_lag_min_seconds",
    ]) {
      expect(names).not.toContain(wrong);
    }
    expect(text).not.toMatch(/ Nan$/m);
    const rss = Number(/^process_resident_memory_bytes (\S+)$/m.exec(text)?.[1]);
    expect(rss).toBeGreaterThan(1_000_000);
    expect(rss).toBeLessThan(4_000_000_000);
  });

  test.skipIf(!Bun.which("promtool"))(
    "promtool check metrics passes (.ci/run installs promtool)",
    async () => {
      const promtool = Bun.spawn(["promtool", "check", "metrics"], {
        stdin: "pipe",
        stdout: "pipe",
        stderr: "pipe",
      });
      promtool.stdin.write(await exposition());
      await promtool.stdin.end();
      const [code, out, err] = await Promise.all([
        promtool.exited,
        new Response(promtool.stdout).text(),
        new Response(promtool.stderr).text(),
      ]);
      expect(`${out}${err}`).toBe("");
      expect(code).toBe(0);
    },
  );
});
