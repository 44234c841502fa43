/**
 * The intake journal of the SQLite store: received events recorded durably first, one line each in the
 * journal's file (`journal-file.ts`: `faultline.db-intake`, next to the database), and their incidents
 * built from them later, in the order appended (schema version 12; version 10 kept them in `event_log`).
 *
 * Why: recording an event as its incident costs ~21 µs of CPU in big batches (the incident row, its
 * event, their indexes, and the store's JavaScript), and a few events per transaction cost about twice
 * per event what a few dozen do. The sink (`src/pipeline/sink.ts`) appends every batch, so an event is
 * durable within the fan-in's few milliseconds, and decides when to build: a burst once it has passed, a
 * steady rate's appends every 100 ms (up to 4096 events a transaction). An append to the file is one
 * `write(2)`; as a row of `event_log` it was a SQLite transaction of its own (~25 µs an event at a steady
 * rate), whose pages the build's delete and the checkpoint wrote again.
 *
 * What keeps it exact:
 * - Building entries records the highest `seq` built (`intake_mark`) in the same transaction as their
 *   incidents and events, so every entry is built once: an entry in the file above the mark at start-up
 *   was appended and not built. `faultline run` (which holds the state directory's lock, so it is the
 *   file's only writer) builds those as it opens the store, before anything else reads it
 *   (`SqliteStore.open` with `buildJournal`).
 * - A `seq` is never given twice: the next is above both the mark and every line in the file. A build
 *   first reads the mark, so entries another store on the file built (a test opened with `buildJournal`)
 *   are not built again.
 * - Entries are built oldest first and nothing is ingested past an unbuilt one, so dedup sees the
 *   events in the order they were received.
 * - An entry keeps the route stage's verdict of when it was received (`route`), so a restart builds it
 *   as it would have been built.
 *
 * This module keeps the entries not built yet (in memory: the event's JSON text already made, so a build
 * serialises nothing, and the few facts the build reads, not the parsed event with its `raw` payload),
 * the file, and the mark's statements; the building itself is the store's own ingest.
 */
import { existsSync } from "node:fs";
import { eventJson } from "../events/event-json.ts";
import { errorMessage, logger } from "../log.ts";
import type { SqlDatabase, SqlStatement } from "../runtime/sqlite.ts";
import {
  INTAKE_RESET_BYTES,
  INTAKE_ROTATE_BYTES,
  INTAKE_SUFFIX,
  IntakeFile,
  type IntakeRecord,
  intakeLine,
  ROTATED_SUFFIX,
  readIntakeFile,
  removeIfPresent,
  syncDatabaseFiles,
} from "./journal-file.ts";
import {
  INCIDENT_SKIP_REASONS,
  type IngestItem,
  incidentFacts,
  type RecordedItem,
  type RouteDecision,
  type SkipReason,
} from "./model.ts";
import { oneOf, parseStoredEvent } from "./rows.ts";
import type { IntakeFileBytes } from "./settings.ts";

/** An event appended to the journal and not built yet. */
export interface JournalEntry {
  /** Its place in the journal (its line's `seq`). */
  readonly seq: number;
  /** Its facts (not the whole event: an entry does not keep the event's `raw` payload alive) and route. */
  readonly item: RecordedItem;
  /** The event's JSON text, as the `events` table stores it. */
  readonly json: string;
  /** When it was appended (`performance.now()`; at start-up for an entry a previous run left). */
  readonly at: number;
}

/** The route verdict as a journal line keeps it: `triage`, or the skip reason. */
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

/** A row of version 10's `event_log`, moved into the file at the first open by this build. */
interface LogRow {
  seq: number;
  event: string;
  route: string;
}

const log = logger({ component: "store" });

/**
 * The entries not built yet, oldest first, the journal's file, and the statements of its mark. An
 * append writes the file at once (outside any transaction); a build's {@link markBuilt} runs inside the
 * store's building transaction, and the in-memory list changes only once that commits ({@link drop}).
 *
 * @example
 * ```ts
 * const journal = new IntakeJournal(db, "/var/lib/faultline/faultline.db");
 * journal.accept(journal.append(items)); // durable now
 * const oldest = journal.oldest(4096); // …built in one transaction with journal.markBuilt(…)
 * journal.drop(oldest.length);
 * ```
 */
export class IntakeJournal {
  /** The journal's file (`<database>-intake`). */
  readonly path: string;
  readonly #rotatedPath: string;
  readonly #db: SqlDatabase;
  readonly #markQuery: SqlStatement<{ seq: number }, []>;
  readonly #setMark: SqlStatement<never, { seq: number }>;
  readonly #legacyRows: SqlStatement<LogRow, []>;
  readonly #legacyDelete: SqlStatement<never, []>;
  readonly #legacyLast: SqlStatement<{ seq: number }, []>;
  /** Open once something is appended or loaded: a store that only reads never touches the file. */
  #file: IntakeFile | null = null;
  /** The highest `seq` given or found. */
  #lastSeq = 0;
  /** The retired file, while it is there: the last `seq` in it. */
  #retired: { through: number } | null = null;
  /** Its removal waits for the database's files to be synced. */
  #removing = false;
  /** Closed: a removal still waiting leaves the file to the next open. */
  #finalized = false;
  readonly #databasePath: string;
  #entries: JournalEntry[] = [];
  #head = 0;
  /** The JSON text's length (UTF-16 units) of the entries not built yet, summed. */
  #pendingChars = 0;

  readonly #bytes: IntakeFileBytes;

  /**
   * The journal of the database at `databasePath`; its file is `<databasePath>-intake`, emptied and
   * renamed past `bytes` (default {@link INTAKE_RESET_BYTES}, {@link INTAKE_ROTATE_BYTES}).
   */
  constructor(
    db: SqlDatabase,
    databasePath: string,
    bytes: IntakeFileBytes = { reset: INTAKE_RESET_BYTES, rotate: INTAKE_ROTATE_BYTES },
  ) {
    this.#db = db;
    this.#bytes = bytes;
    this.path = `${databasePath}${INTAKE_SUFFIX}`;
    this.#rotatedPath = `${databasePath}${ROTATED_SUFFIX}`;
    this.#databasePath = databasePath;
    this.#markQuery = db.prepare("SELECT built_through AS seq FROM intake_mark");
    this.#setMark = db.prepare("UPDATE intake_mark SET built_through = max(built_through, $seq)");
    this.#legacyRows = db.prepare("SELECT seq, event, route FROM event_log ORDER BY seq");
    this.#legacyDelete = db.prepare("DELETE FROM event_log");
    // The highest seq `event_log` ever gave: none is given again.
    this.#legacyLast = db.prepare(
      "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'event_log'), 0) AS seq",
    );
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

  /**
   * Appends one line per item to the file, in one write: durable (as a commit is) once it returns. The
   * entries, for {@link accept}. If it throws, nothing of the batch is in the file.
   */
  append(batch: readonly IngestItem[]): JournalEntry[] {
    const file = this.#open();
    const entries: JournalEntry[] = new Array(batch.length);
    const at = performance.now();
    let text = "";
    for (let i = 0; i < batch.length; i++) {
      const item = batch[i] as IngestItem;
      const json = eventJson(item.event);
      const seq = this.#lastSeq + i + 1;
      text += intakeLine(seq, routeText(item.decision), json);
      entries[i] = { seq, item: { event: incidentFacts(item.event), decision: item.decision }, json, at };
    }
    file.append(text);
    this.#lastSeq += batch.length;
    if (file.size > this.#bytes.rotate && this.#retired === null) this.#retire(file);
    return entries;
  }

  /** Takes appended entries in (they wait to be built, after every entry already waiting). */
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
   * Inside the building transaction: of `entries` (the oldest, in order), those above the mark. Another
   * store on the same file opened with `buildJournal` (a test; `faultline run` holds the lock) builds
   * every entry it finds at its open; those it built are not built again here.
   */
  unbuilt(entries: readonly JournalEntry[]): readonly JournalEntry[] {
    const first = entries[0];
    if (first === undefined) return entries;
    const mark = this.#mark();
    return first.seq > mark ? entries : entries.filter((entry) => entry.seq > mark);
  }

  /** Inside the building transaction: every entry up to `seq` is built. */
  markBuilt(seq: number): void {
    this.#setMark.run({ seq });
  }

  /**
   * Forgets the oldest `count` entries, built and committed. Then a file whose every entry is built is
   * retired past its bound, and a retired one whose every entry is built removed once synced.
   */
  drop(count: number): void {
    const end = Math.min(this.#entries.length, this.#head + count);
    for (let i = this.#head; i < end; i++)
      this.#pendingChars -= (this.#entries[i] as JournalEntry).json.length;
    this.#head = end;
    if (this.pending === 0) {
      this.#entries = [];
      this.#head = 0;
      this.#pendingChars = 0;
    } else if (this.#head > 4096 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
    this.#tidy();
  }

  /** Frees its statements and closes the file (before the database closes). */
  finalize(): void {
    this.#markQuery.finalize();
    this.#setMark.finalize();
    this.#legacyRows.finalize();
    this.#legacyDelete.finalize();
    this.#legacyLast.finalize();
    this.#file?.close();
    this.#file = null;
    this.#finalized = true;
  }

  /**
   * Loads what a previous run appended and did not build (at open, before anything is appended); rows
   * version 10 left in `event_log` are moved into the file first. An entry this build cannot read
   * throws, naming the file, its `seq` and what is wrong with it.
   */
  load(): number {
    this.#moveLegacyRows();
    const { old, current } = this.#read();
    const at = performance.now();
    const entries: JournalEntry[] = [];
    for (const [path, records] of [
      [this.#rotatedPath, old],
      [this.path, current],
    ] as const) {
      for (const record of records) {
        try {
          const event = incidentFacts(parseStoredEvent(record.event));
          entries.push({
            seq: record.seq,
            item: { event, decision: routeDecision(record.route) },
            json: record.event,
            at,
          });
        } catch (error) {
          throw new Error(`${path}: seq ${record.seq} cannot be read: ${errorMessage(error)}`);
        }
      }
    }
    this.#entries = entries;
    this.#head = 0;
    this.#pendingChars = entries.reduce((sum, entry) => sum + entry.json.length, 0);
    this.#tidy(); // a retired file whose every line was built before is removed (once synced)
    return entries.length;
  }

  #mark(): number {
    return this.#markQuery.get()?.seq ?? 0;
  }

  /** The file, open for appending (read first, once: the next `seq` is above every line in it). */
  #open(): IntakeFile {
    if (this.#file === null) this.#read();
    return this.#file as IntakeFile;
  }

  /**
   * Reads the renamed file (if any) and the file, opens the file for appending (a torn last line cut
   * off), and sets the next `seq`. Their records above the mark, oldest first.
   */
  #read(): { old: IntakeRecord[]; current: IntakeRecord[] } {
    const mark = this.#mark();
    const old = readIntakeFile(this.#rotatedPath);
    const current = readIntakeFile(this.path);
    const oldLast = old.records.at(-1)?.seq ?? 0;
    const currentFirst = current.records[0]?.seq;
    if (currentFirst !== undefined && currentFirst <= oldLast) {
      throw new Error(
        `${this.path} starts at seq ${currentFirst}, not above ${this.#rotatedPath}'s last (${oldLast})`,
      );
    }
    if (current.tornBytes + old.tornBytes > 0) {
      log.warn(
        "cut off the intake journal's torn last line (a write a crash interrupted, never acknowledged)",
        {
          file: current.tornBytes > 0 ? this.path : this.#rotatedPath,
          bytes: current.tornBytes + old.tornBytes,
        },
      );
    }
    this.#file?.close();
    this.#file = IntakeFile.open(this.path, current.validBytes);
    const legacyLast = this.#legacyLast.get()?.seq ?? 0;
    this.#lastSeq = Math.max(this.#lastSeq, mark, legacyLast, oldLast, current.records.at(-1)?.seq ?? 0);
    this.#retired = existsSync(this.#rotatedPath) ? { through: oldLast } : null;
    return {
      old: old.records.filter((record) => record.seq > mark),
      current: current.records.filter((record) => record.seq > mark),
    };
  }

  /** The file renamed (retired) and a new one started; a failure leaves the file as it was, growing. */
  #retire(file: IntakeFile): void {
    // After an append the batch is in the file: a failure here must not fail the append (it would be
    // appended again).
    try {
      file.rotate(this.#rotatedPath);
      this.#retired = { through: this.#lastSeq };
    } catch (error) {
      log.warn("cannot start a new intake journal file; the current one grows", {
        file: this.path,
        error: errorMessage(error),
      });
    }
  }

  /**
   * After a build: a file whose every entry is built is retired past its bound; a retired file whose
   * every entry is built is removed, once the database's files are synced (so the commit that built its
   * entries is on the disk first).
   */
  #tidy(): void {
    const oldest = this.#entries[this.#head];
    const file = this.#file;
    if (oldest === undefined && this.#retired === null && file !== null && file.size > this.#bytes.reset) {
      this.#retire(file);
    }
    const retired = this.#retired;
    if (retired === null || this.#removing || (oldest !== undefined && oldest.seq <= retired.through)) return;
    this.#removing = true;
    syncDatabaseFiles(this.#databasePath)
      .then(() => {
        if (this.#finalized) return; // the next open removes it (its lines are below the mark)
        removeIfPresent(this.#rotatedPath);
        if (this.#retired === retired) this.#retired = null;
      })
      .catch((error: unknown) => {
        // Built and committed all the same: the file stays until a later build tries again.
        log.warn("cannot remove the retired intake journal file", {
          file: this.#rotatedPath,
          error: errorMessage(error),
        });
      })
      .finally(() => {
        this.#removing = false;
      });
  }

  /**
   * Version 10 kept the journal in `event_log`: its rows (appended by an earlier build, not built) are
   * written into the file with their own `seq`s (above the mark version 12 set), synced, then deleted. A
   * crash in between leaves them in both; the file already holds those `seq`s, so they are written once.
   */
  #moveLegacyRows(): void {
    const rows = this.#legacyRows.all();
    if (rows.length === 0) return;
    const inFile = readIntakeFile(this.path);
    const fileLast = inFile.records.at(-1)?.seq ?? 0;
    const text = rows
      .filter((row) => row.seq > fileLast)
      .map((row) => intakeLine(row.seq, row.route, row.event))
      .join("");
    const file = IntakeFile.open(this.path, inFile.validBytes);
    try {
      if (text.length > 0) file.append(text);
      file.sync();
    } finally {
      file.close();
    }
    this.#db.immediate(() => this.#legacyDelete.run());
    log.info("moved the intake journal's rows from event_log into its file", {
      events: rows.length,
      file: this.path,
    });
  }
}
