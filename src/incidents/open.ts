/**
 * Opening the incident database: the checks made before it is opened (`state_dir` is a writable
 * directory with free space, an existing file is a readable, writable file), the pragmas (WAL, busy
 * timeout, foreign keys), the integrity check and migrations, and SQLite or file-system failures
 * turned into a {@link StoreError} an operator can act on.
 */
import { accessSync, constants, mkdirSync, statfsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { errorMessage, logger } from "../log.ts";
import { errnoCode } from "../runtime/errno.ts";
import { openSqlite, type SqlDatabase, sqliteFailure } from "../runtime/sqlite.ts";
import { StoreError } from "./model.ts";
import { migrate, NewerSchemaError, schemaVersion } from "./schema.ts";

/** The database's file name inside `state_dir`. */
export const DB_FILE = "faultline.db";
/** Default free space the filesystem must have at start-up. */
export const DEFAULT_MIN_FREE_BYTES = 8 * 1024 * 1024;
/**
 * WAL pages (4 KiB each) written before SQLite copies them into the database file: its default. 4000 was
 * measured: fewer checkpoints, but each one inside a commit pushed the fan-in p99 from ~7.5 to ~18 ms.
 */
export const WAL_AUTOCHECKPOINT_PAGES = 1000;
/**
 * The page cache of the store's connection, in KiB (SQLite's default is 2000). A burst of new incidents
 * writes at random places in the fault-key and cluster indexes; with 2 MB those pages fell out of the
 * cache between batches and were read back from the WAL. Measured (bun:sqlite, 100k new incidents in
 * batches of 4096): 208k writes and 133k reads of a page with 2 MB, 135k and 52k with 8 MB, 127k and
 * 42k from 16 MB on. Pages are allocated as they are used: a quiet store stays small.
 */
export const PAGE_CACHE_KIB = 8192;
/** How long a write waits for another process's transaction before failing. */
export const BUSY_TIMEOUT_MS = 5000;

const log = logger({ component: "incident-store" });

/** An open, migrated incident database and the absolute path of its file. */
export interface OpenedDatabase {
  db: SqlDatabase;
  file: string;
}

/**
 * Opens (creating if needed) `<stateDir>/faultline.db`: creates `stateDir`, checks it is a writable
 * directory with at least `minFreeBytes` free (0 skips that check), opens the database in WAL mode
 * with a busy timeout, checks its integrity and migrates its schema. Throws {@link StoreError}
 * naming the path and the cause when any of that fails.
 *
 * @example
 * ```ts
 * const { db, file } = openStoreDatabase("./faultline-data", DEFAULT_MIN_FREE_BYTES);
 * ```
 */
export function openStoreDatabase(stateDir: string, minFreeBytes: number): OpenedDatabase {
  const dir = resolve(stateDir);
  const file = join(dir, DB_FILE);
  prepareStateDir(dir);
  checkDatabaseFile(file);
  checkFreeSpace(dir, minFreeBytes);
  return { db: openDatabase(file), file };
}

/**
 * Creates `state_dir` if missing; it must be a writable directory. Throws {@link StoreError} naming it.
 * `faultline run` calls it before taking the state_dir lock, which lives inside.
 */
export function prepareStateDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    if (errnoCode(error) === "EEXIST") {
      throw new StoreError(dir, "state_dir is not a directory", { cause: error });
    }
    throw new StoreError(dir, `cannot create state_dir: ${describeFsError(error)}`, { cause: error });
  }
  if (!statSync(dir).isDirectory()) throw new StoreError(dir, "state_dir is not a directory");
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw new StoreError(dir, `state_dir is not writable: ${describeFsError(error)}`, { cause: error });
  }
}

/** An existing database file must be a regular file faultline can read and write. */
function checkDatabaseFile(file: string): void {
  let isFile: boolean;
  try {
    isFile = statSync(file).isFile();
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return;
    throw new StoreError(file, `cannot inspect the database file: ${describeFsError(error)}`, {
      cause: error,
    });
  }
  if (!isFile) throw new StoreError(file, "the database path exists but is not a file");
  try {
    accessSync(file, constants.R_OK | constants.W_OK);
  } catch (error) {
    throw new StoreError(file, `database file is not writable: ${describeFsError(error)}`, { cause: error });
  }
}

/** Refuses to start on a (nearly) full filesystem rather than failing on the first write. */
function checkFreeSpace(dir: string, minFreeBytes: number): void {
  if (minFreeBytes <= 0) return;
  const stats = statfsSync(dir);
  const free = stats.bavail * stats.bsize;
  if (free < minFreeBytes) {
    throw new StoreError(
      dir,
      `disk full: ${formatBytes(free)} free on the filesystem holding state_dir, need at least ${formatBytes(minFreeBytes)}`,
    );
  }
}

/** Opens the file in WAL mode, checks its integrity and migrates its schema; closes it again on failure. */
function openDatabase(file: string): SqlDatabase {
  let db: SqlDatabase;
  try {
    db = openSqlite(file);
  } catch (error) {
    throw toStoreError(file, "cannot open the database", error);
  }
  try {
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // A new file frees deleted pages incrementally (retention); this must precede WAL and the first
    // table. An existing file is converted once by retention (VACUUM).
    if (schemaVersion(db) === 0) db.exec("PRAGMA auto_vacuum = INCREMENTAL");
    const mode = db.query<{ journal_mode: string }>("PRAGMA journal_mode = WAL").get()?.journal_mode;
    if (mode !== "wal")
      throw new StoreError(file, `cannot switch the database to WAL mode (it stays in ${mode})`);
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec(`PRAGMA cache_size = -${PAGE_CACHE_KIB}`);
    // Copy the WAL into the database every ~16 MB instead of SQLite's ~4 MB: a burst's index pages are
    // copied (and both files synced) a quarter as often. Durability is the same: a commit is in the WAL.
    db.exec(`PRAGMA wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
    db.exec("PRAGMA foreign_keys = ON");
    checkIntegrity(db, file);
    const { from, to } = migrate(db);
    if (from !== to) log.info("incident store schema migrated", { path: file, from, to });
    return db;
  } catch (error) {
    db.close();
    if (error instanceof StoreError) throw error;
    if (error instanceof NewerSchemaError) throw new StoreError(file, error.message, { cause: error });
    throw toStoreError(file, "cannot open the database", error);
  }
}

/** `PRAGMA quick_check`: structural damage found now, not in the middle of a burst of events. */
function checkIntegrity(db: SqlDatabase, file: string): void {
  const report = db
    .query<{ quick_check: string }>("PRAGMA quick_check(3)")
    .all()
    .map((row) => row.quick_check);
  if (report.length === 1 && report[0] === "ok") return;
  const problems = report
    .flatMap((text) => text.split("\n"))
    .filter((line) => line !== "" && !line.startsWith("***"))
    .slice(0, 3);
  throw new StoreError(
    file,
    `database is corrupt (${problems.join("; ")}); move it aside to start with an empty store`,
  );
}

/**
 * A {@link StoreError} for `path` saying what could not be done (`action`) and, as plainly as
 * possible, why; a StoreError is returned as it is.
 *
 * @example
 * ```ts
 * toStoreError("/state/faultline.db", "cannot record events", sqliteFullError).message;
 * // "incident store /state/faultline.db: cannot record events: disk full"
 * ```
 */
export function toStoreError(path: string, action: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  return new StoreError(path, `${action}: ${describeFailure(error)}`, { cause: error });
}

/** SQLite and file-system failures in words an operator can act on. */
function describeFailure(error: unknown): string {
  const failure = sqliteFailure(error);
  if (failure === null) return describeFsError(error);
  const { code, message } = failure;
  if (code === "SQLITE_NOTADB") {
    return "file is not a database (corrupt, or not a faultline database); move it aside to start with an empty store";
  }
  if (code.startsWith("SQLITE_CORRUPT")) return `database is corrupt (${message}); move it aside`;
  if (code === "SQLITE_FULL" || code === "SQLITE_IOERR_WRITE" || code === "SQLITE_IOERR_FSYNC") {
    return code === "SQLITE_FULL" ? "disk full" : `write failed, the disk may be full (${code})`;
  }
  if (code.startsWith("SQLITE_READONLY")) return `database is read-only (${message})`;
  if (code.startsWith("SQLITE_CANTOPEN")) return `cannot open the database file (${message})`;
  if (code.startsWith("SQLITE_BUSY")) {
    return `database is locked by another process for more than ${BUSY_TIMEOUT_MS} ms`;
  }
  return `${message} (${code})`;
}

/** A Node file-system error in words: `permission denied`, `not a directory`, … */
function describeFsError(error: unknown): string {
  switch (errnoCode(error)) {
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "ENOTDIR":
      return "a parent of the path is a file, not a directory";
    case "ENOSPC":
      return "disk full";
    case "EROFS":
      return "read-only file system";
    default:
      return errorMessage(error);
  }
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}
