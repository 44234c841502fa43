/**
 * SQLite result codes by name, for drivers that report them as numbers (`node:sqlite`'s `errcode`) or
 * only as SQLite's message (Deno's `node:sqlite`).
 */

/** Primary result codes (the low byte of an extended code). */
const PRIMARY: readonly string[] = [
  "SQLITE_OK",
  "SQLITE_ERROR",
  "SQLITE_INTERNAL",
  "SQLITE_PERM",
  "SQLITE_ABORT",
  "SQLITE_BUSY",
  "SQLITE_LOCKED",
  "SQLITE_NOMEM",
  "SQLITE_READONLY",
  "SQLITE_INTERRUPT",
  "SQLITE_IOERR",
  "SQLITE_CORRUPT",
  "SQLITE_NOTFOUND",
  "SQLITE_FULL",
  "SQLITE_CANTOPEN",
  "SQLITE_PROTOCOL",
  "SQLITE_EMPTY",
  "SQLITE_SCHEMA",
  "SQLITE_TOOBIG",
  "SQLITE_CONSTRAINT",
  "SQLITE_MISMATCH",
  "SQLITE_MISUSE",
  "SQLITE_NOLFS",
  "SQLITE_AUTH",
  "SQLITE_FORMAT",
  "SQLITE_RANGE",
  "SQLITE_NOTADB",
];

/** The extended codes an operator is told about in their own words (see incidents/open.ts). */
const EXTENDED: Readonly<Record<number, string>> = {
  [10 | (3 << 8)]: "SQLITE_IOERR_WRITE",
  [10 | (4 << 8)]: "SQLITE_IOERR_FSYNC",
};

/**
 * The name of a (primary or extended) result code: the extended name where it matters, else the
 * primary one's.
 *
 * @example
 * ```ts
 * sqliteCodeName(13);  // "SQLITE_FULL"
 * sqliteCodeName(778); // "SQLITE_IOERR_WRITE"
 * sqliteCodeName(261); // "SQLITE_BUSY" (SQLITE_BUSY_RECOVERY)
 * ```
 */
export function sqliteCodeName(code: number): string {
  return EXTENDED[code] ?? PRIMARY[code & 0xff] ?? `SQLITE_ERROR_${code}`;
}

/** SQLite's own messages for the codes an operator can act on (`sqlite3_errstr`). */
const MESSAGES: readonly (readonly [RegExp, string])[] = [
  [/database or disk is full/, "SQLITE_FULL"],
  [/file is not a database/, "SQLITE_NOTADB"],
  [/database disk image is malformed/, "SQLITE_CORRUPT"],
  [/attempt to write a readonly database/, "SQLITE_READONLY"],
  [/unable to open database file/, "SQLITE_CANTOPEN"],
  [/database is locked/, "SQLITE_BUSY"],
  [/database table is locked/, "SQLITE_LOCKED"],
  [/disk I\/O error/, "SQLITE_IOERR"],
  [/constraint failed/, "SQLITE_CONSTRAINT"],
];

/**
 * The result code an SQLite message stands for, when the driver gives only the message; SQLITE_ERROR
 * when it is none of the known ones.
 *
 * @example
 * ```ts
 * sqliteCodeOfMessage("database or disk is full"); // "SQLITE_FULL"
 * ```
 */
export function sqliteCodeOfMessage(message: string): string {
  for (const [pattern, code] of MESSAGES) if (pattern.test(message)) return code;
  return "SQLITE_ERROR";
}
