/**
 * The index-cost benchmark (`scripts/bench/index-cost.ts`) over the store's real migrations: each variant
 * changes the indexes it says, and a small run of every variant completes with the store's own
 * statements (a schema change that breaks it fails here, not in someone's measurement).
 */
import { expect, test } from "bun:test";
import {
  applyIndexVariant,
  INDEX_VARIANTS,
  type IndexVariant,
  measureIndexCost,
} from "../../scripts/bench/index-cost.ts";
import { floorRows } from "../../scripts/bench/store-floor.ts";
import { openStoreDatabase } from "../../src/incidents/open.ts";
import { tempDir } from "../helpers/tmp.ts";

function randomIndexes(variant: IndexVariant): Record<string, string> {
  const dir = tempDir("faultline-index-cost-test-");
  const { db } = openStoreDatabase(dir.path, 0);
  try {
    applyIndexVariant(db, variant);
    const rows = db
      .prepare<{ name: string; sql: string }, []>(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN ('incidents_by_fault_key', 'incidents_by_cluster') ORDER BY name",
      )
      .all();
    return Object.fromEntries(
      rows.map((row) => [row.name, row.sql.includes("WHERE indexed = 1") ? "partial" : "full"]),
    );
  } finally {
    db.close();
    dir.cleanup();
  }
}

test("each variant has the random-place indexes it names", () => {
  expect(randomIndexes("fault_key_index")).toEqual({
    incidents_by_cluster: "full",
    incidents_by_fault_key: "full",
  });
  expect(randomIndexes("today")).toEqual({ incidents_by_cluster: "full" });
  expect(randomIndexes("no_cluster")).toEqual({});
  expect(randomIndexes("deferred")).toEqual({ incidents_by_cluster: "partial" });
});

test("a small run of every variant completes; only the deferred one flips", () => {
  const options = { preload: 300, builds: 20, perBuild: 10, clusters: 7, flip: 50 };
  const events = floorRows(options.preload + options.builds * options.perBuild, options.clusters);
  for (const variant of INDEX_VARIANTS) {
    const result = measureIndexCost(
      variant,
      options,
      events.slice(0, options.preload),
      events.slice(options.preload),
    );
    expect(result.variant).toBe(variant);
    expect(result.cpu_us).toBeGreaterThan(0);
    expect(result.insert_us).toBeGreaterThan(0);
    expect(result.longest_write_ms).toBeGreaterThan(0);
    if (variant === "deferred") expect(result.flip_us).toBeGreaterThan(0);
    else expect(result.flip_us).toBe(0);
  }
});
