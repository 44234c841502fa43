/**
 * The `node:sqlite` driver (`DatabaseSync`), which Deno 2 and Bun both implement: the store's driver
 * under Deno. Its statements differ from {@link SqlStatement} only in returning `undefined` for no
 * row; `node:sqlite` has no transaction helper, so IMMEDIATE transactions (savepoints when nested)
 * are written out here. Errors carry SQLite's numeric code as `errcode` (Node, Bun) or only its
 * message (Deno), both read as the code's name.
 */
import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";
import type { SqlDatabase, SqliteDriver, SqliteFailure, SqlOpenOptions, SqlStatement } from "./sqlite.ts";
import { sqliteCodeName, sqliteCodeOfMessage } from "./sqlite-codes.ts";

type NamedParams = Record<string, SQLInputValue>;

/** `node:sqlite` as the store's driver. */
export function nodeSqlite(): SqliteDriver {
  return {
    name: "node:sqlite",
    open: (file, options) => openNode(file, options ?? {}),
    failure: failureOf,
  };
}

function openNode(file: string, options: SqlOpenOptions): SqlDatabase {
  const { DatabaseSync } = process.getBuiltinModule("node:sqlite");
  const db: DatabaseSync = new DatabaseSync(file, { readOnly: options.readonly ?? false });
  const cache = new Map<string, SqlStatement<unknown, unknown>>();
  let depth = 0;
  const prepare = <Row, Params>(sql: string): SqlStatement<Row, Params> =>
    wrapStatement<Row, Params>(db.prepare(sql));
  return {
    prepare,
    query: <Row, Params>(sql: string): SqlStatement<Row, Params> => {
      let statement = cache.get(sql);
      if (statement === undefined) {
        statement = prepare<unknown, unknown>(sql);
        cache.set(sql, statement);
      }
      return statement as SqlStatement<Row, Params>;
    },
    exec: (sql) => db.exec(sql),
    immediate: <T>(work: () => T): T => {
      const savepoint = depth > 0 ? `faultline_${depth}` : null;
      db.exec(savepoint ? `SAVEPOINT ${savepoint}` : "BEGIN IMMEDIATE");
      depth++;
      try {
        const result = work();
        db.exec(savepoint ? `RELEASE ${savepoint}` : "COMMIT");
        return result;
      } catch (error) {
        // A failed COMMIT may have ended the transaction already; rolling back what is left is enough.
        if (db.isTransaction)
          db.exec(savepoint ? `ROLLBACK TO ${savepoint}; RELEASE ${savepoint}` : "ROLLBACK");
        throw error;
      } finally {
        depth--;
      }
    },
    close: () => {
      cache.clear();
      if (db.isOpen) db.close();
    },
  };
}

/** A `node:sqlite` statement as a {@link SqlStatement}: `null` for no row, finalized with its database. */
function wrapStatement<Row, Params>(statement: StatementSync): SqlStatement<Row, Params> {
  const wrapped = {
    get: (params?: NamedParams) =>
      ((params === undefined ? statement.get() : statement.get(params)) ?? null) as Row | null,
    all: (params?: NamedParams) => (params === undefined ? statement.all() : statement.all(params)) as Row[],
    run: (params?: NamedParams) => {
      const { changes, lastInsertRowid } = params === undefined ? statement.run() : statement.run(params);
      return { changes: Number(changes), lastInsertRowid };
    },
    finalize: () => {},
  };
  return wrapped as unknown as SqlStatement<Row, Params>;
}

function failureOf(error: unknown): SqliteFailure | null {
  if (!(error instanceof Error) || (error as { code?: unknown }).code !== "ERR_SQLITE_ERROR") return null;
  const errcode = (error as { errcode?: unknown }).errcode;
  const code = typeof errcode === "number" ? sqliteCodeName(errcode) : sqliteCodeOfMessage(error.message);
  return { code, message: error.message };
}
