/**
 * The notification outbox on PostgreSQL: the same table and semantics as the SQLite store's (`../outbox.ts`).
 * Rows are written by the store's own transactions ({@link enqueueNotifications}, with the change that
 * causes them) and shared by every replica: delivery state is one row per message, so whichever replica
 * runs a sink's delivery loop sees what the others recorded.
 */

import {
  type AttemptResult,
  type DueNotification,
  NOTIFICATION_STATUSES,
  type Notification,
  type NotificationFilter,
  type NotificationRow,
  type NotifyTrigger,
  type OutboxCounts,
  type PlannedNotification,
  SELECT_NOTIFICATIONS,
  toNotification,
} from "../outbox.ts";
import { clampLimit } from "../queries.ts";
import { oneOf } from "../rows.ts";
import type { OutboxStore } from "../store-api.ts";
import type { PgClient, PgTransaction } from "./connect.ts";

/** One planned message of a change; `seqOf` gives its incident's seq once the batch has allocated it. */
export interface OutboxEntry {
  seqOf: () => number;
  trigger: NotifyTrigger;
  planned: PlannedNotification;
}

/** Ids taken from the tables' sequences, ascending (so ids follow batch order). */
export interface AllocatedIds {
  incidents: number[];
  events: number[];
  messages: number[];
}

/** Takes `counts` ids from the incident, event and message sequences in one round trip. */
export async function allocateIds(
  tx: PgTransaction,
  counts: { incidents: number; events: number; messages: number },
): Promise<AllocatedIds> {
  const [row] = await tx<{ incidents: string; events: string; messages: string }[]>`
    SELECT
      array_to_string(ARRAY(SELECT nextval('incidents_seq_seq') FROM generate_series(1, ${counts.incidents}::int)), ',') AS incidents,
      array_to_string(ARRAY(SELECT nextval('events_id_seq') FROM generate_series(1, ${counts.events}::int)), ',') AS events,
      array_to_string(ARRAY(SELECT nextval('notification_messages_id_seq') FROM generate_series(1, ${counts.messages}::int)), ',') AS messages`;
  const ids = (text: string | undefined) =>
    text
      ? text
          .split(",")
          .map(Number)
          .sort((a, b) => a - b)
      : [];
  return { incidents: ids(row?.incidents), events: ids(row?.events), messages: ids(row?.messages) };
}

/**
 * Writes planned messages inside the transaction recording their change: each distinct text once (ids
 * from `messageIds`, one per distinct text in order), one row per (sink, key) not there already.
 */
export async function enqueueNotifications(
  tx: PgTransaction,
  entries: readonly OutboxEntry[],
  messageIds: readonly number[],
  now: number,
): Promise<void> {
  const idOf = new Map<string, number>();
  for (const { planned } of entries) {
    if (!idOf.has(planned.message)) idOf.set(planned.message, messageIds[idOf.size] ?? 0);
  }
  await tx`INSERT INTO notification_messages (id, message)
    SELECT * FROM unnest(${[...idOf.values()]}::int8[], ${[...idOf.keys()]}::text[])`;
  await tx`
    INSERT INTO notifications (sink, incident_seq, trigger, idempotency_key, message_id, status, attempts,
      next_attempt_ms, created_ms, updated_ms)
    SELECT u.sink, u.seq, u.trigger, u.key, u.message_id, 'pending', 0, ${now}, ${now}, ${now}
    FROM unnest(${entries.map((e) => e.planned.sink)}::text[], ${entries.map((e) => e.seqOf())}::int8[],
      ${entries.map((e) => e.trigger)}::text[], ${entries.map((e) => e.planned.idempotency_key)}::text[],
      ${entries.map((e) => idOf.get(e.planned.message) ?? 0)}::int8[]) WITH ORDINALITY
      AS u(sink, seq, trigger, key, message_id, o)
    ORDER BY u.o
    ON CONFLICT (sink, idempotency_key) DO NOTHING`;
}

/** Runs a piece of store work with the store's error handling (failures become a `StoreError`). */
export type PgRun = <T>(action: string, work: (sql: PgClient) => Promise<T>) => Promise<T>;

/** The shared outbox of one PostgreSQL store; see `store.outbox`. */
export class PgOutbox implements OutboxStore {
  readonly #run: PgRun;
  readonly #now: () => Date;

  /** Built by the store: `run` gives its client and error handling, `now` is its clock. */
  constructor(run: PgRun, now: () => Date) {
    this.#run = run;
    this.#now = now;
  }

  /** The sink's pending message due first at `nowMs`, or null. */
  nextDue(sink: string, nowMs: number): Promise<DueNotification | null> {
    return this.#run("read the next notification", async (sql) => {
      const [row] = await sql<DueNotification[]>`
        SELECT n.id, n.sink, n.idempotency_key, m.message, n.attempts
        FROM notifications AS n JOIN notification_messages AS m ON m.id = n.message_id
        WHERE n.status = 'pending' AND n.sink = ${sink} AND n.next_attempt_ms <= ${nowMs}
        ORDER BY n.next_attempt_ms, n.id LIMIT 1`;
      return row ?? null;
    });
  }

  /** When the sink's next pending message is due (epoch ms), or null when none is pending. */
  nextAttemptAt(sink: string): Promise<number | null> {
    return this.#run("read the next notification time", async (sql) => {
      const [row] = await sql<{ at: number | null }[]>`
        SELECT min(next_attempt_ms) AS at FROM notifications WHERE status = 'pending' AND sink = ${sink}`;
      return row?.at ?? null;
    });
  }

  /** Records one attempt at message `id`: sent, to be retried at `retryAtMs`, or dead. */
  recordAttempt(id: number, result: AttemptResult): Promise<void> {
    return this.#run("record a notification attempt", async (sql) => {
      const now = this.#now().getTime();
      const status = result.outcome === "retry" ? "pending" : result.outcome;
      const next = result.outcome === "retry" ? result.retryAtMs : now;
      const error = result.outcome === "sent" ? null : result.error;
      await sql`
        UPDATE notifications SET status = ${status}, attempts = attempts + 1, next_attempt_ms = ${next},
          last_error = ${error}, updated_ms = ${now}
        WHERE id = ${id} AND status = 'pending'`;
    });
  }

  /** Pending messages of sinks not in `known` go to dead-letter (with why); how many, per sink. */
  buryUnknownSinks(known: ReadonlySet<string>): Promise<Map<string, number>> {
    return this.#run("dead-letter messages of removed sinks", async (sql) => {
      const now = this.#now().getTime();
      const rows = await sql<{ sink: string; n: number }[]>`
        WITH buried AS (
          UPDATE notifications SET status = 'dead',
            last_error = 'sink "' || sink || '" is no longer configured', updated_ms = ${now}
          WHERE status = 'pending' AND NOT (sink = ANY(${[...known]}::text[]))
          RETURNING sink)
        SELECT sink, count(*) AS n FROM buried GROUP BY sink`;
      return new Map(rows.map((row) => [row.sink, row.n]));
    });
  }

  /** Messages, newest first, optionally of one status and/or sink. */
  list(filter: NotificationFilter = {}): Promise<Notification[]> {
    return this.#run("list notifications", async (sql) => {
      const rows = await sql.unsafe<NotificationRow[]>(
        `${SELECT_NOTIFICATIONS}
         WHERE ($1::text IS NULL OR n.sink = $1) AND ($2::text IS NULL OR n.status = $2)
         ORDER BY n.id DESC LIMIT $3`,
        [filter.sink ?? null, filter.status ?? null, clampLimit(filter.limit)],
      );
      return rows.map(toNotification);
    });
  }

  /** Messages per sink and status. */
  counts(): Promise<OutboxCounts> {
    return this.#run("count notifications", async (sql) => {
      const rows = await sql<{ sink: string; status: string; n: number }[]>`
        SELECT sink, status, count(*) AS n FROM notifications GROUP BY sink, status`;
      const counts: OutboxCounts = new Map();
      for (const row of rows) {
        const perStatus = counts.get(row.sink) ?? {};
        perStatus[oneOf(NOTIFICATION_STATUSES, row.status, "notification status")] = row.n;
        counts.set(row.sink, perStatus);
      }
      return counts;
    });
  }
}

/** The messages about one incident (by seq), oldest first. */
export async function notificationsOf(sql: PgClient | PgTransaction, seq: number): Promise<Notification[]> {
  const rows = await sql.unsafe<NotificationRow[]>(
    `${SELECT_NOTIFICATIONS} WHERE n.incident_seq = $1 ORDER BY n.id`,
    [seq],
  );
  return rows.map(toNotification);
}
