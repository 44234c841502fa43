/**
 * Dedup against a model of its rule, on random histories: an event joins its fault's latest incident if
 * that incident was last seen within the window of the event's `received_at`, else it opens a new one.
 * The store runs with a dedup window of a few entries, so nearly every lookup goes past its bound (the
 * spill, `dedup_spill`), through late events, events from the future, clock jumps both ways, window
 * changes, restarts and batches rolled back by a failing insert.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import type { IngestItem } from "../../src/incidents/model.ts";
import { SqliteStore } from "../../src/incidents/store.ts";
import { makeFault } from "../helpers/fault.ts";
import { tempDir } from "../helpers/tmp.ts";

const T0 = Date.parse("2026-11-25T03:00:00.000Z");

/** A small deterministic generator (an LCG): the same seed, the same history. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

interface ModelIncident {
  fault: string;
  lastSeen: number;
  count: number;
}

/** What the model says each event does: `fault:count:created`, as the store's results are printed. */
function modelIngest(
  incidents: ModelIncident[],
  events: { fault: string; received: number }[],
  windowMs: number,
) {
  return events.map(({ fault, received }) => {
    let latest: ModelIncident | undefined;
    for (const incident of incidents) {
      if (incident.fault === fault && (latest === undefined || incident.lastSeen > latest.lastSeen))
        latest = incident;
    }
    if (latest !== undefined && latest.lastSeen >= received - windowMs) {
      latest.lastSeen = Math.max(latest.lastSeen, received);
      latest.count++;
      return `${fault}:${latest.count}:false`;
    }
    incidents.push({ fault, lastSeen: received, count: 1 });
    return `${fault}:1:true`;
  });
}

/** Runs one random history; the first difference from the model, or null. */
function history(seed: number, bound: number, steps: number): string | null {
  const next = random(seed);
  const dir = tempDir("faultline-dedup-model-");
  let now = T0;
  let windowMs = 300_000;
  const open = () =>
    SqliteStore.open(join(dir.path, "state"), {
      now: () => new Date(now),
      dedupWindowSeconds: windowMs / 1000,
      dedupWindowEntries: bound,
    });
  let store = open();
  const model: ModelIncident[] = [];
  try {
    for (let step = 0; step < steps; step++) {
      const roll = next();
      if (roll < 0.03) {
        now += Math.floor(next() * 3 * windowMs);
        continue;
      }
      if (roll < 0.04) {
        now -= Math.floor(next() * 2 * windowMs);
        continue;
      }
      if (roll < 0.05) {
        windowMs = [60_000, 300_000, 600_000][Math.floor(next() * 3)] ?? 300_000;
        store.configure({ dedupWindowSeconds: windowMs / 1000 });
        continue;
      }
      if (roll < 0.06) {
        store.close();
        store = open();
        continue;
      }
      now += Math.floor(next() * 20_000);
      const events: { fault: string; received: number }[] = [];
      for (let n = 1 + Math.floor(next() * 6); n > 0; n--) {
        const kind = next();
        const late = kind < 0.1 ? Math.floor(next() * 3 * windowMs) : Math.floor(next() * 2000);
        const received = kind >= 0.1 && kind < 0.13 ? now + Math.floor(next() * 5000) : now - late;
        events.push({ fault: `f${Math.floor(next() * 10)}`, received });
      }
      const items: IngestItem[] = events.map(({ fault, received }) => ({
        event: makeFault({ fault_id: fault, at: new Date(received) }),
        decision: { action: "skip", reason: "no_agent" },
      }));
      if (next() < 0.05) {
        // A reason the schema refuses: the insert fails and the whole batch is rolled back.
        const refused = { action: "skip", reason: "refused" } as unknown as IngestItem["decision"];
        items.push({ event: makeFault({ fault_id: `bad-${step}`, at: new Date(now) }), decision: refused });
        expect(() => store.ingest(items)).toThrow();
        continue;
      }
      const got = store.ingest(items).map((r) => `${r.incident.fault_id}:${r.incident.count}:${r.created}`);
      const expected = modelIngest(model, events, windowMs);
      if (JSON.stringify(got) !== JSON.stringify(expected)) {
        return `seed ${seed}, step ${step}: got ${got.join(" ")}, the model ${expected.join(" ")}`;
      }
    }
    return null;
  } finally {
    store.close();
    dir.cleanup();
  }
}

test("with a window of 1-4 entries, every event joins or opens the incident the model says", () => {
  const differences: string[] = [];
  for (let seed = 1; seed <= 30 && differences.length < 3; seed++) {
    const difference = history(seed, 1 + (seed % 4), 200);
    if (difference !== null) differences.push(difference);
  }
  expect(differences).toEqual([]);
}, 120_000);
