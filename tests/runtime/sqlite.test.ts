import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { SQLITE, type SqliteDriver } from "../../src/runtime/sqlite.ts";
import { bunSqlite } from "../../src/runtime/sqlite-bun.ts";
import { sqliteCodeName, sqliteCodeOfMessage } from "../../src/runtime/sqlite-codes.ts";
import { nodeSqlite } from "../../src/runtime/sqlite-node.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

/** What `work` throws (undefined when it does not). */
function thrown(work: () => unknown): unknown {
  try {
    work();
  } catch (error) {
    return error;
  }
  return undefined;
}

test("under Bun the store uses bun:sqlite", () => {
  expect(SQLITE.name).toBe("bun:sqlite");
});

// node:sqlite is the driver under Deno: the same contract is checked here, under Bun, for both.
const drivers: SqliteDriver[] = [bunSqlite() as SqliteDriver, nodeSqlite()];
let files = 0;

describe.each(drivers.map((driver) => [driver.name, driver] as const))("%s", (_name, driver) => {
  const open = () => {
    const db = driver.open(join(dir.path, `t${files++}.db`));
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, n INTEGER)");
    return db;
  };

  test("named parameters bind from keys without $; get is null without a row; run counts changes", () => {
    const db = open();
    const insert = db.prepare<never, { name: string; n: number | null }>(
      "INSERT INTO t (name, n) VALUES ($name, $n)",
    );
    expect(insert.run({ name: "a", n: 1 })).toEqual({ changes: 1, lastInsertRowid: 1 });
    expect(Number(insert.run({ name: "b", n: null }).lastInsertRowid)).toBe(2);
    const byName = db.query<{ id: number; n: number | null }, { name: string }>(
      "SELECT id, n FROM t WHERE name = $name",
    );
    expect({ ...byName.get({ name: "b" }) }).toEqual({ id: 2, n: null });
    expect(byName.get({ name: "zz" })).toBeNull();
    expect(db.query("SELECT id, n FROM t WHERE name = $name")).toBe(byName as never);
    expect(
      db
        .query<{ name: string }>("SELECT name FROM t ORDER BY id")
        .all()
        .map((r) => r.name),
    ).toEqual(["a", "b"]);
    expect(db.prepare<never, { n: number }>("UPDATE t SET n = $n").run({ n: 5 }).changes).toBe(2);
    insert.finalize();
    db.close();
  });

  test("immediate commits, rolls back on throw, and nests as a savepoint", () => {
    const db = open();
    const insert = db.prepare<never, { name: string }>("INSERT INTO t (name) VALUES ($name)");
    const count = () => db.query<{ c: number }>("SELECT count(*) AS c FROM t").get()?.c;
    expect(db.immediate(() => insert.run({ name: "a" }).changes)).toBe(1);
    expect(() =>
      db.immediate(() => {
        insert.run({ name: "b" });
        throw new Error("no");
      }),
    ).toThrow("no");
    expect(count()).toBe(1);
    db.immediate(() => {
      insert.run({ name: "c" });
      expect(() =>
        db.immediate(() => {
          insert.run({ name: "d" });
          throw new Error("inner");
        }),
      ).toThrow("inner");
    });
    expect(
      db
        .query<{ name: string }>("SELECT name FROM t ORDER BY name")
        .all()
        .map((r) => r.name),
    ).toEqual(["a", "c"]);
    db.close();
  });

  test("SQLite failures are read as result codes; other errors are not SQLite's", () => {
    const db = open();
    db.exec("INSERT INTO t (name) VALUES ('a')");
    const caught = thrown(() => db.exec("INSERT INTO t (name) VALUES ('a')"));
    // bun:sqlite names the extended code (SQLITE_CONSTRAINT_UNIQUE), node:sqlite the primary one.
    expect(driver.failure(caught)?.code).toStartWith("SQLITE_CONSTRAINT");
    expect(driver.failure(new Error("plain"))).toBeNull();
    db.close();
    const notADatabase = join(dir.path, `junk-${driver.name.replace(":", "-")}.db`);
    writeFileSync(notADatabase, "x".repeat(4096));
    const junk = thrown(() => driver.open(notADatabase).query("PRAGMA user_version").get());
    expect(driver.failure(junk)?.code).toBe("SQLITE_NOTADB");
  });

  test("read-only opens refuse writes", () => {
    const file = join(dir.path, `ro-${driver.name.replace(":", "-")}.db`);
    const db = driver.open(file);
    db.exec("CREATE TABLE t (a)");
    db.close();
    const readonly = driver.open(file, { readonly: true });
    const caught = thrown(() => readonly.exec("INSERT INTO t VALUES (1)"));
    expect(driver.failure(caught)?.code).toBe("SQLITE_READONLY");
    readonly.close();
  });
});

test("result codes by number (extended where an operator is told) and by message", () => {
  expect(sqliteCodeName(13)).toBe("SQLITE_FULL");
  expect(sqliteCodeName(778)).toBe("SQLITE_IOERR_WRITE");
  expect(sqliteCodeName(261)).toBe("SQLITE_BUSY");
  expect(sqliteCodeOfMessage("database or disk is full")).toBe("SQLITE_FULL");
  expect(sqliteCodeOfMessage("database is locked")).toBe("SQLITE_BUSY");
  expect(sqliteCodeOfMessage("no such table: x")).toBe("SQLITE_ERROR");
});
