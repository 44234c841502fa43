/**
 * The benchmark's burst phase for each system: B bursts of K faults, each burst's faults never sent
 * before (their tag, hence their names and fault ids, are the burst's own), with a settle between them.
 * Each burst is measured until every fault was stored (faultline) or received (the baseline); figures in
 * scripts/bench/burst-stats.ts.
 */
import { sleep } from "../../src/runtime/sleep.ts";
import { type Burst, type BurstSummary, summariseBursts } from "./burst-stats.ts";
import { type StoredEvents, waitForCount } from "./measure.ts";
import { cpuFrom, type JsonLineChild } from "./proc.ts";

/** Quiet time after each burst was all stored, before the next burst (or the steady phase) starts. */
export const BURST_SETTLE_MS = 1000;

/** How many bursts, of how many faults, and the simulator that sends them. */
export interface BurstPlan {
  /** The simulator process (scripts/bench/sim-process.ts). */
  sim: JsonLineChild;
  /** Clusters the faults are spread over, round-robin (the simulator's first N, or N from {@link from}). */
  clusters: number;
  /** Index of the first of those clusters among the simulator's (default 0). */
  from?: number;
  /** Faults a burst (K). */
  perBurst: number;
  /** Bursts (B). */
  bursts: number;
  /** Tag prefix: burst i (from 1) sends tag `<prefix><i>`. */
  tagPrefix: string;
}

/** Everything measured of one system's bursts. */
export interface BurstPhase {
  each: Burst[];
  summary: BurstSummary;
  notes: string[];
}

/** The simulator's reply to a burst: when it sent the first and last fault, and how many it delivered. */
function sendTimes(reply: Record<string, unknown>): { firstSend: number; send_s: number; delivered: number } {
  const firstSend = Number(reply.first_send_ms);
  return {
    firstSend,
    send_s: (Number(reply.last_send_ms) - firstSend) / 1000,
    delivered: Number(reply.delivered),
  };
}

/** Runs `one` for bursts 1..B with a settle after each; notes a burst the simulator did not fully deliver. */
async function runAll(
  plan: BurstPlan,
  source: string,
  one: (tag: string, notes: string[]) => Promise<Burst>,
): Promise<BurstPhase> {
  const each: Burst[] = [];
  const notes: string[] = [];
  for (let i = 1; i <= plan.bursts; i++) {
    each.push(await one(`${plan.tagPrefix}${i}`, notes));
    await sleep(BURST_SETTLE_MS);
  }
  return { each, summary: summariseBursts(each, source), notes };
}

/** Polls of faultline's database for the burst's last durable event, once the simulator sent it (ms). */
export const DURABLE_POLL_MS = 1;
/** Polls for its last incident built (ms). */
export const BUILT_POLL_MS = 5;

/**
 * faultline's bursts: each counted in its database (`stored`: `events` rows and intake journal lines)
 * until all K are there, then its new incidents (K when every fault was new).
 *
 * The count is first read once the simulator answers that it sent the burst's last fault: none can be
 * stored before it was sent, and polling through the send cost the machine ~5 % of a core (~100 µs a
 * poll, 5 ms apart, plus each wake-up), taken from the simulator's core or faultline's, where watching
 * the baseline costs nothing (it reports its own count). Then every {@link DURABLE_POLL_MS} ms: the burst's
 * end is the first poll that sees it all.
 */
export function faultlineBursts(plan: BurstPlan, pid: number, stored: StoredEvents): Promise<BurstPhase> {
  return runAll(
    plan,
    `rows in faultline.db events and its intake journal (${DURABLE_POLL_MS} ms polls once sent)`,
    async (tag, notes) => {
      const incidents0 = stored.incidents();
      const spent = cpuFrom(pid);
      const baseCount = await stored.count();
      const baseBuilt = await stored.built();
      const reply = await plan.sim.request(
        { cmd: "burst", clusters: plan.clusters, from: plan.from ?? 0, total: plan.perBurst, tag },
        120_000,
      );
      const wait = await waitForCount(stored.count, baseCount, plan.perBurst, DURABLE_POLL_MS, 10_000);
      // Durable is counted above; the incidents of journaled events are built after. The CPU is read once
      // they are, so it includes the building.
      const built = await waitForCount(stored.built, baseBuilt, plan.perBurst, BUILT_POLL_MS, 10_000);
      const cpu = spent();
      const send = sendTimes(reply);
      if (send.delivered !== plan.perBurst)
        notes.push(`burst ${tag}: simulator delivered ${send.delivered} of ${plan.perBurst}`);
      const seconds = (wait.atMs - send.firstSend) / 1000;
      return {
        tag,
        injected: plan.perBurst,
        stored: wait.count,
        complete: wait.complete,
        seconds,
        events_per_s: wait.count / seconds,
        built_s: (built.atMs - send.firstSend) / 1000,
        send_s: send.send_s,
        ...cpu,
        cpu_us_per_event: (cpu.cpu_s / wait.count) * 1e6,
        new_incidents: stored.incidents() - incidents0,
      };
    },
  );
}

/** The baseline's bursts: each counted by the baseline itself (notifications of the burst's tag received). */
export function baselineBursts(plan: BurstPlan, baseline: JsonLineChild): Promise<BurstPhase> {
  const pid = baseline.pid;
  return runAll(plan, "notifications received by the baseline (its own clock)", async (tag, notes) => {
    const spent = cpuFrom(pid);
    const reached = baseline.request({ cmd: "expect", tag, count: plan.perBurst }, 60_000).catch(() => null);
    const reply = await plan.sim.request(
      { cmd: "burst", clusters: plan.clusters, from: plan.from ?? 0, total: plan.perBurst, tag },
      120_000,
    );
    const got = await reached;
    const cpu = spent();
    const send = sendTimes(reply);
    if (send.delivered !== plan.perBurst)
      notes.push(`burst ${tag}: simulator delivered ${send.delivered} of ${plan.perBurst}`);
    const report = got ?? (await baseline.request({ cmd: "report", tag }, 10_000));
    const count = Number(report.count);
    const seconds = (Number(got ? got.at : report.last_ms) - send.firstSend) / 1000;
    return {
      tag,
      injected: plan.perBurst,
      stored: count,
      complete: count >= plan.perBurst,
      seconds,
      events_per_s: count / seconds,
      built_s: null,
      send_s: send.send_s,
      ...cpu,
      cpu_us_per_event: (cpu.cpu_s / count) * 1e6,
      new_incidents: null,
    };
  });
}
