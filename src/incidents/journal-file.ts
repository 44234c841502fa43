/**
 * The intake journal's file: `<database>-intake` next to the database (`faultline.db-intake`), one line
 * per event appended, `<seq>\t<route>\t<event JSON>\n`. An append is one `write(2)` of the batch's lines
 * (~1 µs an event) where a row in `event_log` cost a SQLite transaction (~25 µs an event at a steady
 * rate's few events per commit, and each of its pages written again by the build's delete and by the
 * checkpoint). The database keeps how far the file is built (`intake_mark`), in the build's transaction.
 *
 * What a crash leaves, and how it is read back ({@link readIntakeFile}):
 * - A process crash: every `write` that returned is in the file (the kernel's page cache), as a commit
 *   with `synchronous = NORMAL` is in the WAL. A `write` cut short leaves a last line without its `\n`:
 *   that torn tail was never acknowledged; it is cut off before the next append.
 * - An OS crash or power loss: neither the WAL nor this file is synced at each append, so what the last
 *   moments acknowledged may be lost, as `synchronous = NORMAL` allows for the database today: the store
 *   syncs the WAL at each checkpoint (every 250 ms while it is written), and an event is in the database
 *   once built (within ~50 ms at a steady rate).
 * - A complete line that is not a record (or a `seq` not above the one before) is not something this
 *   file's writer makes: reading stops with an error naming the file and the line.
 *
 * One process writes the file: `faultline run`, which holds the state directory's lock (a second
 * store appending to the same file is not supported: each keeps its own `seq` and size).
 *
 * The file is retired (renamed to `<database>-intake.1`, a new one started) once every event in it is
 * built and it has grown past {@link INTAKE_RESET_BYTES}, or, while events keep waiting (a flood the
 * build never catches up with), past {@link INTAKE_ROTATE_BYTES}. A retired file is removed once every
 * event in it is built and the database's files are synced (`fsync`): the commit that built them is on
 * the disk before the lines go, so not even a power loss can lose an event the file let go of.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { errnoCode } from "../runtime/errno.ts";

/** The file name after the database's: `faultline.db-intake`. */
export const INTAKE_SUFFIX = "-intake";
/** A retired file's, until it may be removed: `faultline.db-intake.1`. */
export const ROTATED_SUFFIX = "-intake.1";
/** Past this size, a file whose every event is built is retired (at the next build that leaves none waiting). */
export const INTAKE_RESET_BYTES = 4 * 1024 * 1024;
/** Past this size while events in it wait, the file is retired too ({@link ROTATED_SUFFIX}) and a new one started. */
export const INTAKE_ROTATE_BYTES = 64 * 1024 * 1024;

/** One event as the file keeps it. */
export interface IntakeRecord {
  /** Its place in the journal: above every `seq` before it, never given twice. */
  readonly seq: number;
  /** The route stage's verdict: `triage`, or the skip reason. */
  readonly route: string;
  /** The event's JSON text, as the `events` table stores it. */
  readonly event: string;
}

/** What a journal file holds. */
export interface IntakeFileContents {
  /** Its records, in the order appended (`seq` rising). */
  readonly records: IntakeRecord[];
  /** The bytes up to the end of the last complete line. */
  readonly validBytes: number;
  /** The bytes after it: a line a crash cut short (0 when none). */
  readonly tornBytes: number;
}

/** The file's line for one event. */
export function intakeLine(seq: number, route: string, eventJson: string): string {
  return `${seq}\t${route}\t${eventJson}\n`;
}

const ROUTE_TEXT = /^[a-z_]{1,32}$/;

/**
 * One line (without its `\n`) as a record; throws naming what is wrong with it. The event's JSON is
 * not parsed here: the store reads it as it reads a stored event.
 *
 * @example
 * ```ts
 * parseIntakeLine('7\ttriage\t{"cluster":"prod"}'); // { seq: 7, route: "triage", event: '{"cluster":"prod"}' }
 * ```
 */
export function parseIntakeLine(line: string): IntakeRecord {
  const first = line.indexOf("\t");
  const second = first < 0 ? -1 : line.indexOf("\t", first + 1);
  if (second < 0) throw new Error("not a journal record (expected seq, route and event separated by tabs)");
  const seqText = line.slice(0, first);
  const seq = Number(seqText);
  if (!/^[1-9][0-9]{0,15}$/.test(seqText) || !Number.isSafeInteger(seq)) {
    throw new Error(`seq ${JSON.stringify(seqText.slice(0, 40))} is not a positive integer`);
  }
  const route = line.slice(first + 1, second);
  if (!ROUTE_TEXT.test(route)) throw new Error(`route ${JSON.stringify(route.slice(0, 40))} is not a route`);
  const event = line.slice(second + 1);
  if (!event.startsWith("{") || !event.endsWith("}")) throw new Error("the event is not a JSON object");
  return { seq, route, event };
}

/**
 * Reads a journal file (none: empty). A torn last line is left out (and counted in `tornBytes`); any
 * other line that is not a record, or whose `seq` is not above the one before, throws naming the file
 * and the line.
 */
export function readIntakeFile(path: string, afterSeq = 0): IntakeFileContents {
  if (!existsSync(path)) return { records: [], validBytes: 0, tornBytes: 0 };
  const bytes = readFileSync(path);
  const end = bytes.lastIndexOf(0x0a) + 1;
  const text = bytes.subarray(0, end).toString("utf8");
  const records: IntakeRecord[] = [];
  let previous = 0;
  let lineNumber = 0;
  for (let start = 0; start < text.length; ) {
    const newline = text.indexOf("\n", start);
    const line = text.slice(start, newline);
    start = newline + 1;
    lineNumber++;
    let record: IntakeRecord;
    try {
      record = parseIntakeLine(line);
      if (record.seq <= previous)
        throw new Error(`seq ${record.seq} is not above the line before's ${previous}`);
    } catch (error) {
      throw new Error(
        `${path} line ${lineNumber}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    previous = record.seq;
    if (record.seq > afterSeq) records.push(record);
  }
  return { records, validBytes: end, tornBytes: bytes.length - end };
}

/**
 * The journal's file, open for appending (created with mode 0600: it holds what the database holds).
 *
 * @example
 * ```ts
 * const file = IntakeFile.open("/var/lib/faultline/faultline.db-intake", 0);
 * file.append(intakeLine(1, "triage", json));
 * file.close();
 * ```
 */
export class IntakeFile {
  /** Where the file is. */
  readonly path: string;
  #fd: number;
  #size: number;
  /** A write failed and its bytes are not cut off yet. */
  #torn = false;

  private constructor(path: string, fd: number, size: number) {
    this.path = path;
    this.#fd = fd;
    this.#size = size;
  }

  /** Opens `path` for appending, creating it; cuts it to `validBytes` first (a torn tail). */
  static open(path: string, validBytes: number): IntakeFile {
    const fd = openSync(path, "a", 0o600);
    try {
      ftruncateSync(fd, validBytes);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    return new IntakeFile(path, fd, validBytes);
  }

  /** Bytes in the file. */
  get size(): number {
    return this.#size;
  }

  /**
   * Appends `text` (whole lines) in one write. If the write fails or is short (disk full…), the file is
   * cut back to where it was, and the error thrown: nothing of `text` stays.
   */
  append(text: string): void {
    // A failed write's bytes are cut off before anything else is written after them.
    if (this.#torn) {
      ftruncateSync(this.#fd, this.#size);
      this.#torn = false;
    }
    // The string written as it is (a Buffer of it first cost more than the write); a regular file takes
    // it whole or fails (disk full, a size limit): a short write is taken as a failure.
    const length = Buffer.byteLength(text, "utf8");
    try {
      const written = writeSync(this.#fd, text);
      if (written !== length) throw new Error(`short write: ${written} of ${length} bytes (disk full?)`);
    } catch (error) {
      this.#torn = true;
      try {
        ftruncateSync(this.#fd, this.#size);
        this.#torn = false;
      } catch {
        // Cut at the next append, or by the reader (a last line without its end) after a crash.
      }
      throw error;
    }
    this.#size += length;
  }

  /** Waits until what was written is on the disk (`fsync`). */
  sync(): void {
    fsyncSync(this.#fd);
  }

  /**
   * Renames the file to `rotatedPath` and starts a new, empty one at {@link path}. If the new one cannot
   * be made, the file gets its name back and this one goes on (the error thrown).
   */
  rotate(rotatedPath: string): void {
    renameSync(this.path, rotatedPath);
    let fd: number;
    try {
      fd = openSync(this.path, "a", 0o600);
    } catch (error) {
      renameSync(rotatedPath, this.path);
      throw error;
    }
    closeSync(this.#fd);
    this.#fd = fd;
    this.#size = 0;
    this.#torn = false;
  }

  /** Closes the file. */
  close(): void {
    closeSync(this.#fd);
  }
}

/** Removes `path` if it is there. */
export function removeIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if (errnoCode(error) !== "ENOENT") throw error;
  }
}

/**
 * Syncs the database's files (`fsync` of its WAL, if any, and of the file itself): every commit made
 * so far is on the disk once it resolves, whatever the connection's `synchronous`.
 */
export async function syncDatabaseFiles(databasePath: string): Promise<void> {
  for (const path of [`${databasePath}-wal`, databasePath]) {
    let handle: FileHandle;
    try {
      handle = await open(path, "r");
    } catch (error) {
      if (errnoCode(error) === "ENOENT") continue;
      throw error;
    }
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}
