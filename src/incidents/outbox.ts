/**
 * The notification outbox: one row per message a sink is to receive, written by the incident store in
 * the SAME transaction as the status change that causes it (an incident opened, triaged, failed), so
 * a crash can never lose a message nor send one for a change that was rolled back. The notifier
 * (`src/notify/`) reads each sink's due messages, and records here how each attempt went: `pending`
 * until the sink accepts it (`sent`), or `dead` after its last attempt. Sinks are known by name only:
 * their URLs are never stored.
 */

import { NOTIFY_EVENTS } from "../config/schema.ts";
import type { SqlDatabase } from "../runtime/sqlite.ts";
import { exhaustiveList } from "./exhaustive.ts";
import type { AgentRun, Incident } from "./model.ts";
import { clampLimit } from "./queries.ts";
import { oneOf } from "./rows.ts";
import type { OutboxStore } from "./store-api.ts";

/** The status changes a sink can be told about (`failed` includes `timed_out`): the config's `on` values. */
export type NotifyTrigger = (typeof NOTIFY_EVENTS)[number];
/** Every {@link NotifyTrigger}. */
export const NOTIFY_TRIGGERS: readonly NotifyTrigger[] = NOTIFY_EVENTS;

/** Where a message stands: waiting (first try or a retry), accepted by its sink, or given up on. */
export type NotificationStatus = "pending" | "sent" | "dead";
/** Every {@link NotificationStatus}. */
export const NOTIFICATION_STATUSES = exhaustiveList<NotificationStatus>()(["pending", "sent", "dead"]);

/** A status change the store has just committed (in the transaction that commits it). */
export interface StatusChange {
  trigger: NotifyTrigger;
  /** The incident as it now stands. */
  incident: Incident;
  /** The run that just finished (`triaged`, `failed`); null for `opened`. */
  run: AgentRun | null;
}

/** One message to put in the outbox: for which sink, its stable key, and its content (JSON). */
export interface PlannedNotification {
  sink: string;
  /** The same on every attempt: receivers drop repeats by it. */
  idempotency_key: string;
  /** The message's facts as JSON; each sink renders its own body from them. */
  message: string;
}

/**
 * Decides, inside the store's transaction, which sinks get a message for a change (and what it
 * says). Must be pure and must not throw: it runs in the transaction that records the change.
 */
export type NotificationPlanner = (change: StatusChange) => PlannedNotification[];

/** A message in the outbox, as the API shows it (never the sink's URL). */
export interface Notification {
  id: number;
  /** The sink's configured name. */
  sink: string;
  incident_id: string;
  trigger: NotifyTrigger;
  idempotency_key: string;
  status: NotificationStatus;
  /** Delivery attempts made. */
  attempts: number;
  /** RFC 3339: when it is tried next; null unless pending. */
  next_attempt_at: string | null;
  /** Why the last attempt failed, else null. */
  last_error: string | null;
  /** RFC 3339. */
  created_at: string;
  /** RFC 3339. */
  updated_at: string;
}

/** A pending message due for delivery. */
export interface DueNotification {
  id: number;
  sink: string;
  idempotency_key: string;
  /** The message's facts as JSON. */
  message: string;
  attempts: number;
}

/** Filter for {@link NotificationOutbox.list}. */
export interface NotificationFilter {
  status?: NotificationStatus;
  sink?: string;
  /** As for incident listings: default 100, at most 1000. */
  limit?: number;
}

/** How one delivery attempt went, as {@link NotificationOutbox.recordAttempt} takes it. */
export type AttemptResult =
  | { outcome: "sent" }
  | { outcome: "retry"; error: string; retryAtMs: number }
  | { outcome: "dead"; error: string };

/** Messages per sink and status (statuses with none are left out). */
export type OutboxCounts = Map<string, Partial<Record<NotificationStatus, number>>>;

/** A `notifications` row joined with its incident's public id, as either backend returns it. */
export interface NotificationRow {
  id: number;
  sink: string;
  incident_id: string;
  trigger: string;
  idempotency_key: string;
  status: string;
  attempts: number;
  next_attempt_ms: number;
  last_error: string | null;
  created_ms: number;
  updated_ms: number;
}

/** Every notification column and its incident's id (SQL both backends run), to be followed by a WHERE. */
export const SELECT_NOTIFICATIONS = `SELECT n.id, n.sink, i.id AS incident_id, n.trigger, n.idempotency_key, n.status,
  n.attempts, n.next_attempt_ms, n.last_error, n.created_ms, n.updated_ms
  FROM notifications AS n JOIN incidents AS i ON i.seq = n.incident_seq`;

function prepare(db: SqlDatabase) {
  const newest = "ORDER BY n.id DESC LIMIT $limit";
  return {
    insertMessage: db.prepare<never, { message: string }>(
      "INSERT INTO notification_messages (message) VALUES ($message)",
    ),
    insert: db.prepare<
      never,
      { sink: string; incident_seq: number; trigger: string; key: string; message_id: number; now: number }
    >(
      `INSERT INTO notifications (sink, incident_seq, trigger, idempotency_key, message_id, status, attempts,
         next_attempt_ms, created_ms, updated_ms)
       VALUES ($sink, $incident_seq, $trigger, $key, $message_id, 'pending', 0, $now, $now, $now)
       ON CONFLICT (sink, idempotency_key) DO NOTHING`,
    ),
    nextDue: db.prepare<DueNotification, { sink: string; now: number }>(
      `SELECT n.id, n.sink, n.idempotency_key, m.message, n.attempts
       FROM notifications AS n JOIN notification_messages AS m ON m.id = n.message_id
       WHERE n.status = 'pending' AND n.sink = $sink AND n.next_attempt_ms <= $now
       ORDER BY n.next_attempt_ms, n.id LIMIT 1`,
    ),
    nextAttempt: db.prepare<{ at: number | null }, { sink: string }>(
      "SELECT MIN(next_attempt_ms) AS at FROM notifications WHERE status = 'pending' AND sink = $sink",
    ),
    attempt: db.prepare<
      never,
      { id: number; status: string; next: number; error: string | null; now: number }
    >(
      `UPDATE notifications SET status = $status, attempts = attempts + 1, next_attempt_ms = $next,
         last_error = $error, updated_ms = $now
       WHERE id = $id AND status = 'pending'`,
    ),
    orphans: db.prepare<{ sink: string; n: number }, []>(
      "SELECT sink, COUNT(*) AS n FROM notifications WHERE status = 'pending' GROUP BY sink",
    ),
    bury: db.prepare<never, { sink: string; error: string; now: number }>(
      `UPDATE notifications SET status = 'dead', last_error = $error, updated_ms = $now
       WHERE status = 'pending' AND sink = $sink`,
    ),
    listAll: db.prepare<NotificationRow, { limit: number }>(`${SELECT_NOTIFICATIONS} ${newest}`),
    listByStatus: db.prepare<NotificationRow, { status: string; limit: number }>(
      `${SELECT_NOTIFICATIONS} WHERE n.status = $status ${newest}`,
    ),
    listBySink: db.prepare<NotificationRow, { sink: string; limit: number }>(
      `${SELECT_NOTIFICATIONS} WHERE n.sink = $sink ${newest}`,
    ),
    listBySinkAndStatus: db.prepare<NotificationRow, { sink: string; status: string; limit: number }>(
      `${SELECT_NOTIFICATIONS} WHERE n.sink = $sink AND n.status = $status ${newest}`,
    ),
    ofIncident: db.prepare<NotificationRow, { seq: number }>(
      `${SELECT_NOTIFICATIONS} WHERE n.incident_seq = $seq ORDER BY n.id`,
    ),
    counts: db.prepare<{ sink: string; status: string; n: number }, []>(
      "SELECT sink, status, COUNT(*) AS n FROM notifications GROUP BY sink, status",
    ),
  };
}

/** Runs `work` as one write transaction of the store (its errors become the store's). */
export type WriteTransaction = <T>(action: string, work: () => T) => T;

/** The outbox table of one open incident database. Built by the incident store; see `store.outbox`. */
export class NotificationOutbox implements OutboxStore {
  readonly #statements: ReturnType<typeof prepare>;
  readonly #write: WriteTransaction;
  readonly #now: () => Date;

  /** Compiles the outbox statements; `write` runs a store transaction, `now` is the store's clock. */
  constructor(db: SqlDatabase, write: WriteTransaction, now: () => Date) {
    this.#statements = prepare(db);
    this.#write = write;
    this.#now = now;
  }

  /**
   * Adds the planned messages of a change to the outbox. Only for the store, INSIDE the transaction
   * recording the change. A message whose (sink, key) is there already is not added again; a
   * message text several sinks share is stored once.
   */
  enqueue(incidentSeq: number, trigger: NotifyTrigger, planned: readonly PlannedNotification[]): void {
    const now = this.#now().getTime();
    const messageIds = new Map<string, number>();
    for (const p of planned) {
      let messageId = messageIds.get(p.message);
      if (messageId === undefined) {
        messageId = Number(this.#statements.insertMessage.run({ message: p.message }).lastInsertRowid);
        messageIds.set(p.message, messageId);
      }
      this.#statements.insert.run({
        sink: p.sink,
        incident_seq: incidentSeq,
        trigger,
        key: p.idempotency_key,
        message_id: messageId,
        now,
      });
    }
  }

  /** The sink's pending message that is due first at `nowMs`, or null. */
  nextDue(sink: string, nowMs: number): DueNotification | null {
    return this.#statements.nextDue.get({ sink, now: nowMs });
  }

  /** When the sink's next pending message is due (ms since the epoch), or null when none is pending. */
  nextAttemptAt(sink: string): number | null {
    return this.#statements.nextAttempt.get({ sink })?.at ?? null;
  }

  /** Records one attempt at message `id`: sent, to be retried at `retryAtMs`, or dead. */
  recordAttempt(id: number, result: AttemptResult): void {
    this.#write("record a notification attempt", () => {
      const now = this.#now().getTime();
      const status = result.outcome === "retry" ? "pending" : result.outcome;
      this.#statements.attempt.run({
        id,
        status,
        next: result.outcome === "retry" ? result.retryAtMs : now,
        error: result.outcome === "sent" ? null : result.error,
        now,
      });
    });
  }

  /**
   * Start-up: pending messages of sinks that are no longer configured go to dead-letter (with why),
   * so they show in the API instead of waiting for ever. Returns how many, per sink.
   */
  buryUnknownSinks(known: ReadonlySet<string>): Map<string, number> {
    return this.#write("dead-letter messages of removed sinks", () => {
      const buried = new Map<string, number>();
      const now = this.#now().getTime();
      for (const { sink, n } of this.#statements.orphans.all()) {
        if (known.has(sink)) continue;
        this.#statements.bury.run({ sink, error: `sink "${sink}" is no longer configured`, now });
        buried.set(sink, n);
      }
      return buried;
    });
  }

  /** Messages, newest first, optionally of one status and/or sink. */
  list(filter: NotificationFilter = {}): Notification[] {
    const limit = clampLimit(filter.limit);
    const { sink, status } = filter;
    const s = this.#statements;
    let rows: NotificationRow[];
    if (sink !== undefined && status !== undefined) rows = s.listBySinkAndStatus.all({ sink, status, limit });
    else if (sink !== undefined) rows = s.listBySink.all({ sink, limit });
    else if (status !== undefined) rows = s.listByStatus.all({ status, limit });
    else rows = s.listAll.all({ limit });
    return rows.map(toNotification);
  }

  /** The messages about one incident (by its internal seq), oldest first. */
  ofIncident(incidentSeq: number): Notification[] {
    return this.#statements.ofIncident.all({ seq: incidentSeq }).map(toNotification);
  }

  /** Messages per sink and status. */
  counts(): OutboxCounts {
    const counts: OutboxCounts = new Map();
    for (const row of this.#statements.counts.all()) {
      const perStatus = counts.get(row.sink) ?? {};
      perStatus[oneOf(NOTIFICATION_STATUSES, row.status, "notification status")] = row.n;
      counts.set(row.sink, perStatus);
    }
    return counts;
  }

  /** Releases the compiled statements (before the database closes). */
  finalize(): void {
    for (const statement of Object.values(this.#statements)) statement.finalize();
  }
}

/** A notification row as the API shows it (statuses and triggers checked against their lists). */
export function toNotification(row: NotificationRow): Notification {
  const status = oneOf(NOTIFICATION_STATUSES, row.status, "notification status");
  return {
    id: row.id,
    sink: row.sink,
    incident_id: row.incident_id,
    trigger: oneOf(NOTIFY_TRIGGERS, row.trigger, "notification trigger"),
    idempotency_key: row.idempotency_key,
    status,
    attempts: row.attempts,
    next_attempt_at: status === "pending" ? new Date(row.next_attempt_ms).toISOString() : null,
    last_error: row.last_error,
    created_at: new Date(row.created_ms).toISOString(),
    updated_at: new Date(row.updated_ms).toISOString(),
  };
}
