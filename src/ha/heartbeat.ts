/**
 * A replica's heartbeat: its row in `replicas`, upserted with the database's `now()` (never this
 * machine's clock), and the live set every replica reads (heartbeat within `ha.lease_seconds`).
 * It also knows when this replica must fence itself: no heartbeat written for `lease_seconds - 1` s,
 * counted from when the last successful one was sent, so the replica stops before the others can see
 * its lease expire.
 */
import type { HaSql } from "./database.ts";

/** Options of {@link Heartbeat}. */
export interface HeartbeatOptions {
  /** This replica's name (`ha.replica`). */
  replica: string;
  /** `ha.lease_seconds`. */
  leaseSeconds: number;
  /** Where this replica serves HTTP (shown to operators), or null. */
  url: string | null;
  /** faultline's version. */
  version: string;
  /** Monotonic milliseconds (tests pin it). */
  now?: () => number;
}

/** Writes this replica's heartbeat and reads the live set. */
export class Heartbeat {
  readonly #sql: HaSql;
  readonly #options: HeartbeatOptions;
  readonly #now: () => number;
  /** When the last successful heartbeat was sent (monotonic ms), or null before the first. */
  #lastSentOk: number | null = null;
  #first = true;

  constructor(sql: HaSql, options: HeartbeatOptions) {
    this.#sql = sql;
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
  }

  /** This replica's name. */
  get replica(): string {
    return this.#options.replica;
  }

  /** Milliseconds between heartbeats: a third of the lease. */
  get intervalMs(): number {
    return (this.#options.leaseSeconds * 1000) / 3;
  }

  /** Milliseconds since the last successful heartbeat was sent, or Infinity before the first. */
  sinceLastMs(): number {
    return this.#lastSentOk === null ? Number.POSITIVE_INFINITY : this.#now() - this.#lastSentOk;
  }

  /**
   * Milliseconds until the next heartbeat is due: the interval counted from when the last good one was
   * sent, not from when its answer came. Sent then, heartbeats go out every interval however slow the
   * database answers, and a replica fences itself ({@link fenced}: lease - 1 s since the last good one
   * was sent) only when one answer takes longer than lease - 1 s - interval, not from a few slow ones.
   */
  untilDueMs(): number {
    return Math.max(0, this.intervalMs - this.sinceLastMs());
  }

  /** True when no heartbeat has succeeded for `lease_seconds - 1` s (or none ever did). */
  fenced(): boolean {
    return this.sinceLastMs() > (this.#options.leaseSeconds - 1) * 1000;
  }

  /**
   * Upserts this replica's row (`heartbeat_at = now()`; `started_at` on this process's first one).
   * Throws when the database cannot be reached; {@link fenced} then grows true with time.
   *
   * @example
   * ```ts
   * setTimeout(() => void heartbeat.beat(), heartbeat.untilDueMs());
   * ```
   */
  async beat(): Promise<void> {
    const sent = this.#now();
    const { replica, url, version } = this.#options;
    const first = this.#first;
    await this.#sql`
      INSERT INTO replicas (name, heartbeat_at, started_at, url, version)
      VALUES (${replica}, now(), now(), ${url}, ${version})
      ON CONFLICT (name) DO UPDATE SET heartbeat_at = now(), url = excluded.url, version = excluded.version,
        started_at = CASE WHEN ${first}::boolean THEN now() ELSE replicas.started_at END`;
    this.#first = false;
    if (this.#lastSentOk === null || sent > this.#lastSentOk) this.#lastSentOk = sent;
  }

  /** The live replicas' names, sorted: heartbeat within the lease, by the database's clock. */
  async live(): Promise<string[]> {
    const rows = await this.#sql<Array<{ name: string }>>`
      SELECT name FROM replicas
      WHERE heartbeat_at > now() - make_interval(secs => ${this.#options.leaseSeconds})
      ORDER BY name`;
    return rows.map((r) => r.name);
  }

  /**
   * Holds this replica's runs: until the returned `done` is called, this process holds a `FOR KEY
   * SHARE` lock on its row, so {@link settleExpired} (`FOR UPDATE SKIP LOCKED`) passes it by and no
   * replica closes its runs as interrupted, even once its heartbeat has expired or it is marked gone.
   * Heartbeats may go on meanwhile (a non-key update). If this process dies, the lock ends with its
   * connection. A graceful stop takes it before it hands its clusters over, so a handover longer than
   * the lease cannot let another replica settle runs that are still going here.
   *
   * @example
   * ```ts
   * const done = await heartbeat.hold();
   * await releaseEverything(); // heartbeats go on
   * await heartbeat.markGone();
   * await triage.stop(graceMs);
   * await done();
   * ```
   */
  async hold(): Promise<() => Promise<void>> {
    const replica = this.#options.replica;
    let release = (): void => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked = (): void => {};
    const lockTaken = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const holding = this.#sql.begin(async (tx) => {
      await tx`SELECT 1 FROM replicas WHERE name = ${replica} FOR KEY SHARE`;
      locked();
      await released;
    });
    await Promise.race([lockTaken, holding]);
    return async () => {
      release();
      await holding;
    };
  }

  /**
   * Marks this replica gone: its row's heartbeat is set to expired, so the others stop counting it live
   * at once. Call once heartbeats have stopped (a later one would make it live again).
   */
  async markGone(): Promise<void> {
    await this.#sql`UPDATE replicas SET heartbeat_at = '-infinity' WHERE name = ${this.#options.replica}`;
    this.#lastSentOk = null;
  }
}

/**
 * Settles one replica whose lease expired, if any: in one transaction, locks its row (`SKIP LOCKED`,
 * so exactly one live replica settles each), runs `settle(name)` (e.g. the store's
 * `recoverInterrupted({ replica: name })`), and deletes the row. When `settle` throws, the row stays
 * for the next attempt. Returns the name settled, or null when none is expired.
 *
 * @example
 * ```ts
 * await settleExpired(sql, 15, (dead) => store.recoverInterrupted({ replica: dead, retry, maxAttempts }));
 * ```
 */
export async function settleExpired(
  sql: HaSql,
  leaseSeconds: number,
  settle: (replica: string) => Promise<void>,
): Promise<string | null> {
  return sql.begin(async (tx) => {
    const [row] = await tx<Array<{ name: string }>>`
      SELECT name FROM replicas
      WHERE heartbeat_at <= now() - make_interval(secs => ${leaseSeconds})
      ORDER BY name LIMIT 1 FOR UPDATE SKIP LOCKED`;
    if (!row) return null;
    await settle(row.name);
    await tx`DELETE FROM replicas WHERE name = ${row.name}`;
    return row.name;
  });
}
