/**
 * The SQLite store's dedup lookups: which incident a fault's event joins, if any. The in-memory
 * {@link DedupWindow} answers, kept up to date with the database (warmed from it the first time, again
 * when another writer wrote it, and from further back when a batch's oldest event reaches back past what
 * the window covers); the faults it drops past its bound are kept in `dedup_spill`, and a lookup the
 * window cannot answer reads them there. Every call runs inside the store's write transaction.
 */
import { logger } from "../log.ts";
import { DedupWindow, WINDOW_SLACK_MS } from "./dedup-window.ts";
import { faultKey } from "./fault-key.ts";
import type { Statements } from "./rows.ts";

/**
 * How often at most `dedup_spill` is pruned of entries no lookup can need (their incident gone, or last
 * seen before what the window covers) while it is being written: the window spills only past its bound
 * (a storm of distinct faults), and a warm prunes it too.
 */
const SPILL_PRUNE_INTERVAL_MS = 60_000;

const log = logger({ component: "incident-store" });

/** The statements the lookups use (see `rows.ts`). */
type DedupStatements = Pick<
  Statements,
  "dataVersion" | "seenSince" | "pruneSpill" | "spill" | "spilledIncident"
>;

/**
 * The dedup lookups of one store connection.
 *
 * @example
 * ```ts
 * const dedup = new DedupLookup(statements, 300_000, 200_000);
 * // inside a write transaction:
 * if (dedup.prepare(now, oldestReceivedMs)) nextSeq = 0; // another writer wrote the database
 * const seq = dedup.find("prod", "f-1", receivedMs); // its incident, or null: a new one
 * dedup.seen("prod", "f-1", seq ?? newSeq, receivedMs);
 * dedup.keepSpilled(); // before the commit
 * ```
 */
export class DedupLookup {
  readonly #statements: DedupStatements;
  readonly #window: DedupWindow;
  /** `PRAGMA data_version` when the window was last brought up to date (another writer changes it). */
  #dataVersion = -1;
  /** When `dedup_spill` was first written since it was last pruned (null: not since). */
  #spillWrittenMs: number | null = null;
  /** The store's clock at the current batch's {@link prepare}. */
  #batchNow = 0;

  constructor(statements: DedupStatements, windowMs: number, maxEntries: number) {
    this.#statements = statements;
    this.#window = new DedupWindow(windowMs, maxEntries);
  }

  /**
   * Brings the window up to date before a batch's lookups, at `now`, for a batch whose oldest event was
   * received at `oldest` (ms): warmed from the database the first time, after {@link reset}, and
   * whenever another process has written the database since (two faultlines on one file while one is
   * exiting); warmed again from further back when `oldest` reaches back past what the window and its
   * spill cover; nothing such a batch may join is pruned. True when another writer wrote the database
   * since the last call (the store asks its next `seq` again then).
   */
  prepare(now: number, oldest: number): boolean {
    this.#batchNow = now;
    const version = this.#statements.dataVersion.get()?.data_version ?? -1;
    const otherWriter = version !== this.#dataVersion;
    if (otherWriter) {
      this.#dataVersion = version;
      this.#window.reset(this.#window.windowMs);
    }
    // Its lookups reach back one window; a warm reaches back the slack more, for later batches.
    const from = Math.min(now, oldest);
    const windowMs = this.#window.windowMs;
    if (this.#window.warmed) {
      this.#window.prune(from);
      if (from - windowMs >= this.#window.coveredFromMs) {
        this.#pruneSpillNowAndThen(now);
        return otherWriter;
      }
      this.#window.reset(windowMs);
    }
    const since = from - windowMs - WINDOW_SLACK_MS;
    const rows = this.#statements.seenSince.all({ since });
    log.debug("dedup window warmed from the database", {
      since: new Date(since).toISOString(),
      incidents: rows.length,
    });
    this.#window.warm(rows, since);
    this.#statements.pruneSpill.run({ since });
    this.#spillWrittenMs = null;
    this.keepSpilled();
    return otherWriter;
  }

  /**
   * The `seq` of the fault's latest incident if it was last seen within the window of `received` (ms),
   * else null: the window is asked, the spill only when the window does not reach back that far.
   */
  find(cluster: string, faultId: string, received: number): number | null {
    const found = this.#window.lookup(cluster, faultId, received);
    if (found === "none") return null;
    if (found !== "unknown") return found.seq;
    // What the window dropped so far must be in the spill before the spill is asked.
    this.keepSpilled();
    const row = this.#statements.spilledIncident.get({
      fault_key: faultKey(cluster, faultId),
      cluster,
      fault_id: faultId,
      since: received - this.#window.windowMs,
    });
    return row?.seq ?? null;
  }

  /** Records that incident `seq` is the fault's latest, last seen at `lastSeenMs`. */
  seen(cluster: string, faultId: string, seq: number, lastSeenMs: number): void {
    this.#window.seen(cluster, faultId, seq, lastSeenMs);
  }

  /** Forgets the fault (its incident is gone from the database). */
  forget(cluster: string, faultId: string): void {
    this.#window.forget(cluster, faultId);
  }

  /**
   * Writes the entries the window dropped past its bound to `dedup_spill`: before the batch's
   * transaction commits (and before any lookup asks the spill).
   */
  keepSpilled(): void {
    const spilled = this.#window.takeSpilled();
    for (const entry of spilled) {
      this.#statements.spill.run({ fault_key: faultKey(entry.cluster, entry.faultId), seq: entry.seq });
    }
    if (spilled.length > 0) this.#spillWrittenMs ??= this.#batchNow;
  }

  /** Forgets everything (a rolled-back transaction, or a new window length): warmed again next time. */
  reset(windowMs = this.#window.windowMs): void {
    this.#window.reset(windowMs);
  }

  #pruneSpillNowAndThen(now: number): void {
    const written = this.#spillWrittenMs;
    if (written === null || Math.abs(now - written) < SPILL_PRUNE_INTERVAL_MS) return;
    this.#spillWrittenMs = null;
    this.#statements.pruneSpill.run({ since: this.#window.coveredFromMs });
  }
}
