/**
 * Reaching the PostgreSQL store: the client (`postgres`, which runs on Bun and Deno) with `int8` parsed
 * to a JS number, where the database is as it may be shown (its URL with the credentials replaced), and
 * failures turned into a {@link StoreError} that names that redacted URL and never the password.
 */
import postgres from "postgres";
import { errorMessage } from "../../log.ts";
import { redactUrl, Scrubber, urlSecrets } from "../../runtime/redact.ts";
import { StoreError } from "../model.ts";

/** A client pool of one PostgreSQL store. */
export type PgClient = postgres.Sql;
/** A client inside a transaction (`sql.begin`). */
export type PgTransaction = postgres.TransactionSql;

/** Connections a store opens at most unless told (the config's `store.postgres.max_connections` default). */
export const DEFAULT_MAX_CONNECTIONS = 10;
/** How long connecting may take before it fails. */
export const CONNECT_TIMEOUT_SECONDS = 10;

/** `int8` (OID 20) as a JS number: ids, sequence numbers and epoch milliseconds all fit in 2^53. */
const INT8_AS_NUMBER = {
  to: 20,
  from: [20],
  serialize: (value: number) => String(value),
  parse: (text: string) => Number(text),
};

/** A store's database: its client, how it may be named in messages, and how its secrets are scrubbed. */
export interface PgDatabase {
  sql: PgClient;
  /** The URL with its user-info and query values replaced by `***`. */
  location: string;
  /** Removes the URL's secrets from any text. */
  scrubber: Scrubber;
}

/**
 * A client for `url` (connections open lazily, at most `maxConnections`), with its redacted location.
 *
 * @example
 * ```ts
 * const db = connectPostgres("postgres://faultline:pw@db:5432/faultline", 10);
 * db.location; // "postgres://***:***@db:5432/faultline"
 * ```
 */
export function connectPostgres(url: string, maxConnections = DEFAULT_MAX_CONNECTIONS): PgDatabase {
  const location = redactUrl(url);
  const scrubber = new Scrubber(urlSecrets(url));
  let sql: PgClient;
  try {
    sql = postgres(url, {
      max: maxConnections,
      connect_timeout: CONNECT_TIMEOUT_SECONDS,
      onnotice: () => {},
      types: { int8: INT8_AS_NUMBER },
      connection: { application_name: "faultline" },
    });
  } catch (error) {
    throw new StoreError(location, `invalid database URL: ${scrubber.scrub(errorMessage(error))}`);
  }
  return { sql, location, scrubber };
}

/**
 * A {@link StoreError} for the database at `location` saying what could not be done and why, the why
 * scrubbed of the URL's secrets; a StoreError is returned as it is.
 *
 * @example
 * ```ts
 * toPgStoreError(db, "cannot record events", error).message;
 * // "incident store postgres://***:***@db:5432/faultline: cannot record events: connection refused (ECONNREFUSED)"
 * ```
 */
export function toPgStoreError(
  db: Pick<PgDatabase, "location" | "scrubber">,
  action: string,
  error: unknown,
): StoreError {
  if (error instanceof StoreError) return error;
  return new StoreError(db.location, `${action}: ${db.scrubber.scrub(describePgFailure(error))}`, {
    cause: error,
  });
}

/** A client or server failure in words an operator can act on. */
function describePgFailure(error: unknown): string {
  const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : "";
  const message = errorMessage(error);
  switch (code) {
    case "ECONNREFUSED":
      return "connection refused (ECONNREFUSED): is the server running and the URL's host and port right?";
    case "CONNECT_TIMEOUT":
      return `no connection within ${CONNECT_TIMEOUT_SECONDS} s (CONNECT_TIMEOUT)`;
    case "ENOTFOUND":
      return "the URL's host is unknown (ENOTFOUND)";
    case "28P01":
    case "28000":
      return `authentication failed (${code}): check the URL's user and password`;
    case "3D000":
      return `${message} (${code}): create the database first`;
    case "":
      return message;
    default:
      return `${message} (${code})`;
  }
}

/** Whether a failure is a serialization failure or deadlock PostgreSQL asks to retry. */
export function retryableConflict(error: unknown): boolean {
  const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : "";
  return code === "40001" || code === "40P01";
}
