/**
 * The `bun:sqlite` driver (Bun only). Its statements already have the shape of {@link SqlStatement},
 * so they are handed out as they are: no wrapper on the store's hot path. The module is taken with
 * `process.getBuiltinModule` rather than imported, so this file loads (and type-checks) on runtimes
 * without it; the types below are the few parts of `bun:sqlite` used here.
 */

import { RUNTIME } from "./runtime.ts";
import type { SqlDatabase, SqliteDriver, SqliteFailure, SqlOpenOptions, SqlStatement } from "./sqlite.ts";
import { sqliteCodeName } from "./sqlite-codes.ts";

/** The parts of a `bun:sqlite` Database used here. */
interface BunDatabase {
  prepare(sql: string): SqlStatement<unknown, unknown>;
  query(sql: string): SqlStatement<unknown, unknown>;
  run(sql: string): unknown;
  transaction<T>(work: () => T): { immediate(): T };
  /** Whether a transaction is open on the connection. */
  readonly inTransaction: boolean;
  close(): void;
}

/** The parts of the `bun:sqlite` module used here. */
interface BunSqliteModule {
  Database: new (
    file: string,
    options: { create?: boolean; readwrite?: boolean; readonly?: boolean; strict: boolean },
  ) => BunDatabase;
  SQLiteError: new (...args: never[]) => Error & { code?: string; errno: number };
}

/** `bun:sqlite` as the store's driver, or null when this runtime is not Bun. */
export function bunSqlite(): SqliteDriver | null {
  if (RUNTIME !== "bun") return null;
  const sqlite = process.getBuiltinModule("bun:sqlite") as unknown as BunSqliteModule;
  return {
    name: "bun:sqlite",
    open: (file, options) => wrap(openBun(sqlite, file, options ?? {})),
    failure: (error) => failureOf(sqlite, error),
  };
}

function openBun(sqlite: BunSqliteModule, file: string, options: SqlOpenOptions): BunDatabase {
  // strict: named parameters bind from keys without their `$`, and a missing one is an error.
  const mode = options.readonly ? { readonly: true } : { create: true, readwrite: true };
  return new sqlite.Database(file, { ...mode, strict: true });
}

function wrap(db: BunDatabase): SqlDatabase {
  // A write transaction's BEGIN and COMMIT, compiled once: `db.transaction(work)` builds a new wrapper
  // (a function and its properties) per call, which cost about as much as a one-event write's inserts.
  const begin = db.prepare("BEGIN IMMEDIATE") as SqlStatement<never, []>;
  const commit = db.prepare("COMMIT") as SqlStatement<never, []>;
  const rollback = db.prepare("ROLLBACK") as SqlStatement<never, []>;
  return {
    prepare: <Row, Params>(sql: string) => db.prepare(sql) as SqlStatement<Row, Params>,
    query: <Row, Params>(sql: string) => db.query(sql) as SqlStatement<Row, Params>,
    exec: (sql) => {
      db.run(sql);
    },
    immediate: <T>(work: () => T): T => {
      // Inside another transaction: a savepoint of it, as bun:sqlite nests them.
      if (db.inTransaction) return db.transaction(work).immediate();
      begin.run();
      try {
        const result = work();
        commit.run();
        return result;
      } catch (error) {
        // A failed COMMIT may have ended the transaction already; rolling back what is left is enough.
        if (db.inTransaction) rollback.run();
        throw error;
      }
    },
    close: () => {
      for (const statement of [begin, commit, rollback]) statement.finalize();
      db.close();
    },
  };
}

function failureOf(sqlite: BunSqliteModule, error: unknown): SqliteFailure | null {
  if (!(error instanceof sqlite.SQLiteError)) return null;
  return { code: error.code ?? sqliteCodeName(error.errno), message: error.message };
}
