/**
 * The benchmark's reader of faultline's intake journal file (`src/incidents/journal-file.ts`), from
 * outside and read-only: the lines appended since the last look, and the last `seq` in the file. The
 * writer appends whole lines and retires the file (renames it, starts a new one) past its bounds; a
 * look that finds another file at the path reads the old one to its end first (or, not having had it
 * open, the retired file), one that finds the file shorter than where it read to starts again from its
 * beginning, and a `seq` seen already is not handed out again.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import {
  INTAKE_SUFFIX,
  type IntakeRecord,
  parseIntakeLine,
  ROTATED_SUFFIX,
  readIntakeFile,
} from "../../src/incidents/journal-file.ts";

/** Longest tail read to find the file's last line (a line is one event, at most `max_event_bytes` long). */
const LAST_LINE_BYTES = 4 * 1024 * 1024;
/** The first tail read for it: a line is ~1 KB. */
const FIRST_WINDOW_BYTES = 8 * 1024;

/**
 * Reads the journal file of the database `dbFile` as it grows.
 *
 * @example
 * ```ts
 * const tail = new IntakeTail("/state/faultline.db");
 * for (const record of tail.poll()) console.log(record.seq);
 * ```
 */
export class IntakeTail {
  readonly #path: string;
  #fd: number | null = null;
  #ino = 0;
  #offset = 0;
  #partial = "";
  #lastSeq = 0;

  /** A reader of the journal file of the database `dbFile` (`<dbFile>-intake`), from its beginning. */
  constructor(dbFile: string) {
    this.#path = `${dbFile}${INTAKE_SUFFIX}`;
  }

  /** The records appended since the last poll (or since {@link skipToEnd}), oldest first. */
  poll(): IntakeRecord[] {
    const out: IntakeRecord[] = [];
    for (;;) {
      if (this.#fd === null && !this.#reopen(out)) return out;
      this.#readToEnd(out);
      // Renamed (a new file at the path): the old one is read to its end; go on with the new one.
      let ino: number;
      try {
        ino = statSync(this.#path).ino;
      } catch {
        return out;
      }
      if (ino === this.#ino) return out;
      this.#close();
    }
  }

  /** Makes {@link poll} start after everything in the file now. */
  skipToEnd(): void {
    this.poll();
  }

  /** The last `seq` appended (the file's, or the renamed file's when the file is empty): 0 for none. */
  lastSeq(): number {
    const dbFile = this.#path.slice(0, -INTAKE_SUFFIX.length);
    return lastSeqIn(this.#path) || lastSeqIn(`${dbFile}${ROTATED_SUFFIX}`);
  }

  /** Closes the file it holds open, if any. */
  close(): void {
    this.#close();
  }

  #reopen(out: IntakeRecord[]): boolean {
    // Renamed before this reader opened it: the renamed file's lines not seen yet come first.
    const rotated = `${this.#path.slice(0, -INTAKE_SUFFIX.length)}${ROTATED_SUFFIX}`;
    try {
      for (const record of readIntakeFile(rotated, this.#lastSeq).records) out.push(record);
      this.#lastSeq = out.at(-1)?.seq ?? this.#lastSeq;
    } catch {
      // Removed between the look and the read (every line in it built): nothing to read there.
    }
    try {
      this.#fd = openSync(this.#path, "r");
    } catch {
      return false; // not there (yet, or between a rename and the new file)
    }
    this.#ino = fstatSync(this.#fd).ino;
    this.#offset = 0;
    this.#partial = "";
    return true;
  }

  #close(): void {
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
  }

  #readToEnd(out: IntakeRecord[]): void {
    const fd = this.#fd as number;
    const size = fstatSync(fd).size;
    if (size < this.#offset) {
      this.#offset = 0; // emptied: every line in it was built
      this.#partial = "";
    }
    if (size === this.#offset) return;
    const bytes = Buffer.alloc(size - this.#offset);
    const read = readSync(fd, bytes, 0, bytes.length, this.#offset);
    this.#offset += read;
    const text = this.#partial + bytes.subarray(0, read).toString("utf8");
    const end = text.lastIndexOf("\n");
    this.#partial = text.slice(end + 1);
    if (end < 0) return;
    for (const line of text.slice(0, end).split("\n")) {
      let record: IntakeRecord;
      try {
        record = parseIntakeLine(line);
      } catch {
        continue; // not a whole line (read from the middle of a file emptied and written again)
      }
      if (record.seq <= this.#lastSeq) continue;
      this.#lastSeq = record.seq;
      out.push(record);
    }
  }
}

/**
 * The `seq` of the last whole line of the file at `path`, 0 when it has none (or is not there). Reads
 * the file's end only, a window growing until it holds a whole line: polled every 5 ms through a burst
 * (a file of ~20 MB), reading 1 MiB each time cost the machine more than the answer is worth.
 */
function lastSeqIn(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return 0;
  }
  try {
    const size = fstatSync(fd).size;
    for (let window = FIRST_WINDOW_BYTES; ; window *= 4) {
      const length = Math.min(size, window);
      const bytes = Buffer.allocUnsafe(length);
      readSync(fd, bytes, 0, length, size - length);
      const end = bytes.lastIndexOf(0x0a);
      if (end < 0) return 0; // no whole line at all (the window covers the file) or one longer than it
      const newline = bytes.lastIndexOf(0x0a, end - 1);
      if (newline < 0 && length < size && window < LAST_LINE_BYTES) continue; // the line starts further back
      const line = bytes.subarray(newline + 1, end).toString("utf8");
      const tab = line.indexOf("\t");
      const seq = Number(line.slice(0, tab));
      return tab > 0 && Number.isSafeInteger(seq) ? seq : 0;
    }
  } finally {
    closeSync(fd);
  }
}
