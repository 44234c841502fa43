/**
 * The intake journal of the SQLite store: received events recorded durably first, one append each to
 * `event_log`, and their incidents built from them later, in the order appended (schema version 10).
 *
 * Why: recording an event as its incident costs ~21 µs of CPU in big batches (the incident row, its
 * event, their indexes, two of them at random places, and the store's JavaScript), an append ~4 µs
 * (`scripts/bench/store-bench.ts`), and a few events per transaction cost about twice per event what a
 * few dozen do. The sink (`src/pipeline/sink.ts`) appends every batch, so an event is durable within the
 * fan-in's few milliseconds, and decides when to build: a burst once it has passed, a steady rate's
 * appends every 50 ms (up to 4096 events a transaction).
 *
 * What keeps it exact:
 * - Building an entry deletes its row in the same transaction that records its incident and event,
 *   so every row is built once: a row found at start-up was appended and not built. `faultline run`
 *   (which holds the state directory's lock) builds those as it opens the store, before anything else
 *   reads it (`SqliteStore.open` with `buildJournal`).
 * - `seq` is AUTOINCREMENT, never given twice; a build first checks its entries' rows are still there,
 *   so entries another store on the file built (a test, a tool opened with `buildJournal`) are not
 *   built again.
 * - Entries are built oldest first and nothing is ingested past an unbuilt one, so dedup sees the
 *   events in the order they were received.
 * - An entry keeps the route stage's verdict of when it was received (`route`), so a restart builds it
 *   as it would have been built.
 *
 * This module keeps the entries not built yet (in memory: the event's JSON text already made, so a build
 * serialises nothing, and the few facts the build reads, not the parsed event with its `raw` payload)
 * and their statements; the building itself is the store's own ingest.
 */
import { eventJson } from "../events/event-json.ts";
import type { SqlDatabase, SqlStatement } from "../runtime/sqlite.ts";
import {
  INCIDENT_SKIP_REASONS,
  type IngestItem,
  incidentFacts,
  type RecordedItem,
  type RouteDecision,
  type SkipReason,
} from "./model.ts";
import { oneOf, parseStoredEvent } from "./rows.ts";

/** An event appended to the journal and not built yet. */
export interface JournalEntry {
  /** Its `event_log.seq`. */
  readonly seq: number;
  /** Its facts (not the whole event: an entry does not keep the event's `raw` payload alive) and route. */
  readonly item: RecordedItem;
  /** The event's JSON text, as the `events` table stores it. */
  readonly json: string;
  /** When it was appended (`performance.now()`; at start-up for a row a previous run left). */
  readonly at: number;
}

/** The route verdict as `event_log.route` keeps it: `triage`, or the skip reason. */
function routeText(decision: RouteDecision): string {
  return decision.action === "triage" ? "triage" : decision.reason;
}

/** The skip reasons the route stage gives (`queue_full` is the store's own, never routed). */
const ROUTED_SKIP_REASONS = INCIDENT_SKIP_REASONS.filter(
  (reason): reason is SkipReason => reason !== "queue_full",
);

/** A stored `route` as a decision; throws naming the value for one this build does not know. */
function routeDecision(text: string): RouteDecision {
  if (text === "triage") return { action: "triage" };
  return { action: "skip", reason: oneOf(ROUTED_SKIP_REASONS, text, "journal route") };
}

interface LogRow {
  seq: number;
  event: string;
  route: string;
}

/**
 * The entries not built yet, oldest first, and the statements that append and delete their rows.
 * Its writes run inside the store's transactions; the in-memory list changes only once they commit
 * ({@link accept}, {@link drop}).
 *
 * @example
 * ```ts
 * const journal = new IntakeJournal(db);
 * const entries = db.immediate(() => journal.append(items)); // durable now
 * journal.accept(entries);
 * const oldest = journal.oldest(4096); // …built in one transaction with journal.deleteThrough(…)
 * journal.drop(oldest.length);
 * ```
 */
export class IntakeJournal {
  readonly #insert: SqlStatement<never, { event: string; route: string }>;
  readonly #deleteThrough: SqlStatement<never, { seq: number }>;
  readonly #all: SqlStatement<LogRow, []>;
  readonly #countRange: SqlStatement<{ n: number }, { first: number; last: number }>;
  readonly #seqsInRange: SqlStatement<{ seq: number }, { first: number; last: number }>;
  #entries: JournalEntry[] = [];
  #head = 0;
  /** The JSON text's length (UTF-16 units) of the entries not built yet, summed. */
  #pendingChars = 0;

  constructor(db: SqlDatabase) {
    this.#insert = db.prepare("INSERT INTO event_log (event, route) VALUES ($event, $route)");
    this.#deleteThrough = db.prepare("DELETE FROM event_log WHERE seq <= $seq");
    this.#all = db.prepare("SELECT seq, event, route FROM event_log ORDER BY seq");
    this.#countRange = db.prepare("SELECT count(*) AS n FROM event_log WHERE seq BETWEEN $first AND $last");
    this.#seqsInRange = db.prepare("SELECT seq FROM event_log WHERE seq BETWEEN $first AND $last");
  }

  /** Entries appended and not built yet. */
  get pending(): number {
    return this.#entries.length - this.#head;
  }

  /** The events not built yet, as JSON text: their lengths summed (UTF-16 units; a bound on memory). */
  get pendingChars(): number {
    return this.#pendingChars;
  }

  /** How long (ms) the oldest entry not built yet has waited, or 0 when none waits. */
  oldestWaitMs(now = performance.now()): number {
    const oldest = this.#entries[this.#head];
    return oldest === undefined ? 0 : now - oldest.at;
  }

  /** Inside a write transaction: appends one row per item; the entries, for {@link accept} once committed. */
  append(batch: readonly IngestItem[]): JournalEntry[] {
    const entries: JournalEntry[] = new Array(batch.length);
    const at = performance.now();
    for (let i = 0; i < batch.length; i++) {
      const item = batch[i] as IngestItem;
      const json = eventJson(item.event);
      const { lastInsertRowid } = this.#insert.run({ event: json, route: routeText(item.decision) });
      entries[i] = {
        seq: Number(lastInsertRowid),
        item: { event: incidentFacts(item.event), decision: item.decision },
        json,
        at,
      };
    }
    return entries;
  }

  /** Takes committed entries in (they wait to be built, after every entry already waiting). */
  accept(entries: readonly JournalEntry[]): void {
    for (const entry of entries) {
      this.#entries.push(entry);
      this.#pendingChars += entry.json.length;
    }
  }

  /** The oldest `limit` entries not built yet (not removed: see {@link drop}). */
  oldest(limit: number): JournalEntry[] {
    return this.#entries.slice(this.#head, this.#head + Math.max(0, limit));
  }

  /**
   * Inside the building transaction: of `entries` (the oldest, in order), those whose rows are still
   * there. Another store on the same file opened with `buildJournal` (a test, a tool; `faultline run`
   * holds the lock) builds every row it finds at its open; the entries it built are not built again here.
   */
  unbuilt(entries: readonly JournalEntry[]): readonly JournalEntry[] {
    const first = entries[0];
    const last = entries.at(-1);
    if (first === undefined || last === undefined) return entries;
    const range = { first: first.seq, last: last.seq };
    if (this.#countRange.get(range)?.n === entries.length) return entries;
    const present = new Set(this.#seqsInRange.all(range).map((row) => row.seq));
    return entries.filter((entry) => present.has(entry.seq));
  }

  /** Inside the building transaction: deletes the rows of every entry up to `seq`. */
  deleteThrough(seq: number): void {
    this.#deleteThrough.run({ seq });
  }

  /** Forgets the oldest `count` entries, built and committed. */
  drop(count: number): void {
    const end = Math.min(this.#entries.length, this.#head + count);
    for (let i = this.#head; i < end; i++)
      this.#pendingChars -= (this.#entries[i] as JournalEntry).json.length;
    this.#head = end;
    if (this.pending === 0) {
      this.#entries = [];
      this.#head = 0;
      this.#pendingChars = 0;
      return;
    }
    if (this.#head > 4096 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Frees its statements (before the database closes: an unfinalised statement keeps the file open). */
  finalize(): void {
    this.#insert.finalize();
    this.#deleteThrough.finalize();
    this.#all.finalize();
    this.#countRange.finalize();
    this.#seqsInRange.finalize();
  }

  /**
   * Loads the rows a previous run appended and did not build (at open, before anything is appended).
   * A row this build cannot read throws, naming its `seq` and what is wrong with it.
   */
  load(): number {
    const rows = this.#all.all();
    const at = performance.now();
    const entries: JournalEntry[] = rows.map((row) => {
      try {
        return {
          seq: row.seq,
          item: { event: incidentFacts(parseStoredEvent(row.event)), decision: routeDecision(row.route) },
          json: row.event,
          at,
        };
      } catch (error) {
        throw new Error(
          `event_log row ${row.seq} cannot be read: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    });
    this.#entries = entries;
    this.#head = 0;
    this.#pendingChars = entries.reduce((sum, entry) => sum + entry.json.length, 0);
    return entries.length;
  }
}
