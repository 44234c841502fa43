/**
 * The SQLite driver the incident store uses, the same on every runtime: {@link openSqlite} opens a
 * file with the driver picked once at start-up (`bun:sqlite` under Bun, `node:sqlite` elsewhere, i.e.
 * Deno; see README "Running on Deno" for why two), and {@link sqliteFailure} reads any driver's error
 * as an SQLite result code (`SQLITE_FULL`, `SQLITE_BUSY`, …).
 *
 * Statements bind named parameters from an object whose keys are the names without their `$` (`{ id }`
 * for `$id`). Pass exactly the parameters a statement has: `node:sqlite` refuses a key the statement
 * does not use (`bun:sqlite` ignores it), and booleans and `undefined` (bind numbers and null). Rows are plain objects keyed by column name (the `node:sqlite` driver's have
 * no prototype); integers come back as numbers.
 */
import { bunSqlite } from "./sqlite-bun.ts";
import { nodeSqlite } from "./sqlite-node.ts";

/** What a write statement did. */
export interface SqlChanges {
  /** Rows inserted, updated or deleted. */
  changes: number;
  /** The rowid of the last row inserted. */
  lastInsertRowid: number | bigint;
}

/** The arguments a statement with parameters `Params` takes: none for `[]`, else one object. */
export type SqlArgs<Params> = Params extends readonly unknown[] ? Params : [Params];

/** A compiled statement returning rows of `Row`, bound from `Params` (`[]` for none). */
export interface SqlStatement<Row, Params> {
  /** The first row, or null when there is none. */
  get(...params: SqlArgs<Params>): Row | null;
  /** Every row. */
  all(...params: SqlArgs<Params>): Row[];
  /** Runs it for its effect. */
  run(...params: SqlArgs<Params>): SqlChanges;
  /** Frees it now (the database frees what is left when it closes). */
  finalize(): void;
}

/** An open SQLite database. */
export interface SqlDatabase {
  /** Compiles `sql` (one statement). */
  prepare<Row = unknown, Params = []>(sql: string): SqlStatement<Row, Params>;
  /** Like {@link prepare}, compiled once per database and text, then reused. */
  query<Row = unknown, Params = []>(sql: string): SqlStatement<Row, Params>;
  /** Runs `sql` (any number of statements, no parameters). */
  exec(sql: string): void;
  /**
   * Runs `work` in an IMMEDIATE transaction: committed when it returns, rolled back when it throws.
   * Inside another transaction it runs as a savepoint of it.
   */
  immediate<T>(work: () => T): T;
  /** Closes the database. */
  close(): void;
}

/** How to open a file. */
export interface SqlOpenOptions {
  /** Open read-only (the file must exist). Default false: read-write, created when missing. */
  readonly?: boolean;
}

/** A failure reported by SQLite itself, whichever driver reported it. */
export interface SqliteFailure {
  /** The result code's name, e.g. `SQLITE_FULL`, `SQLITE_IOERR_WRITE`, `SQLITE_BUSY`. */
  code: string;
  /** SQLite's message. */
  message: string;
}

/** One runtime's SQLite: how to open a file and how to read its errors. */
export interface SqliteDriver {
  /** `bun:sqlite` or `node:sqlite`. */
  readonly name: string;
  open(file: string, options?: SqlOpenOptions): SqlDatabase;
  /** The SQLite failure `error` is, or null when it is not one (a file-system error, a bug…). */
  failure(error: unknown): SqliteFailure | null;
}

/**
 * The driver of this process: `bun:sqlite` under Bun (measured faster there than `node:sqlite` for the
 * store's ingest), `node:sqlite` everywhere else.
 */
export const SQLITE: SqliteDriver = bunSqlite() ?? nodeSqlite();

/**
 * Opens (creating when missing, unless read-only) the database at `file` with this runtime's driver.
 *
 * @example
 * ```ts
 * const db = openSqlite("/var/lib/faultline/faultline.db");
 * const row = db.query<{ n: number }>("SELECT count(*) AS n FROM incidents").get();
 * db.immediate(() => db.prepare<never, { id: string }>("DELETE FROM t WHERE id = $id").run({ id }));
 * ```
 */
export function openSqlite(file: string, options: SqlOpenOptions = {}): SqlDatabase {
  return SQLITE.open(file, options);
}

/** The SQLite failure `error` is (any driver's), or null when it is not one. */
export function sqliteFailure(error: unknown): SqliteFailure | null {
  return SQLITE.failure(error);
}
