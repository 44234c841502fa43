/**
 * Ingest on PostgreSQL: one transaction per batch, a handful of multi-row statements whatever its size.
 *
 * 1. The heads (`fault_heads`) of the batch's faults are locked in (cluster, fault_id) order by one upsert
 *    (a fault seen for the first time gets its head row then). Every writer locks a fault's head before
 *    touching its incidents, and in the same order, so two replicas ingesting the same fault at once
 *    take turns (one incident, exact counts) and never deadlock.
 * 2. A batch that may queue something takes the queue's advisory lock and counts the queued incidents:
 *    `max_queue` holds fleet-wide (the count is in the database, and one writer at a time admits).
 * 3. The heads' incidents are read AFTER the locks (a statement's snapshot starts when it does: read in
 *    the locking statement, an incident another replica committed while we waited would be missed).
 * 4. The batch is decided in memory in batch order, exactly as the SQLite store decides it (sliding
 *    window, promotion of a skip, queue places in batch order), and written: new incidents, absorbed
 *    ones (counts added, never overwritten), events, heads and planned notifications, each one statement
 *    over arrays (`unnest`). Incident counts follow from the table's statement triggers.
 */
import { eventJson } from "../../events/event-json.ts";
import type { FaultEvent, Severity } from "../../events/fault.ts";
import { newIncidentId } from "../id.ts";
import type {
  Incident,
  IncidentSkipReason,
  IncidentStatus,
  IngestItem,
  IngestResult,
  RouteDecision,
} from "../model.ts";
import type { NotifyTrigger, PlannedNotification } from "../outbox.ts";
import { INCIDENT_COLUMNS, type IncidentRow, newIncidentRow, toIncident, toNewIncident } from "../rows.ts";
import type { Settings } from "../settings.ts";
import type { PgTransaction } from "./connect.ts";
import { allocateIds, enqueueNotifications, type OutboxEntry } from "./outbox.ts";

/** The advisory lock a batch that may queue incidents holds while it admits them (`max_queue`). */
export const QUEUE_LOCK = 0x71756575;

const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

/** An incident as the batch sees it: the row, and what this batch did to it. */
interface Working {
  row: IncidentRow;
  created: boolean;
  /** Events of this batch counted in it (absorbed incidents). */
  added: number;
  /** The batch changed its status (a new incident, or a promoted skip). */
  statusChanged: boolean;
}

/** One fault's head while the batch is decided. */
interface Head {
  cluster: string;
  fault_id: string;
  incident: Working | null;
}

/**
 * Records `batch` inside `tx` (see the module doc); results in batch order. The "opened" notifications
 * `settings.notify` plans are written in the same transaction.
 */
export async function ingestBatch(
  tx: PgTransaction,
  batch: readonly IngestItem[],
  settings: Settings,
): Promise<IngestResult[]> {
  const now = settings.now().getTime();
  const { heads, pointedAt } = await lockHeads(tx, batch);
  const mayQueue = batch.some((item) => item.decision.action === "triage");
  let queued = 0;
  if (mayQueue) {
    await tx`SELECT pg_advisory_xact_lock(${QUEUE_LOCK})`;
    const [depth] = await tx<{ n: number }[]>`SELECT count(*) AS n FROM incidents WHERE status = 'queued'`;
    queued = depth?.n ?? 0;
  }
  await loadIncidents(tx, pointedAt);
  const room = { queued, max: settings.maxQueue };
  const working = new Set<Working>();
  const events: { incident: Working; received: number; event: FaultEvent }[] = [];
  const results: { working: Working; incident: Incident; created: boolean; queued: boolean }[] = [];
  const opened: { incident: Working; snapshot: Incident }[] = [];

  for (const item of batch) {
    const { event } = item;
    const received = receivedMs(event, now);
    const head = heads.get(headKey(event.cluster, event.fault_id));
    if (head === undefined) throw new Error(`no head locked for ${event.cluster}/${event.fault_id}`);
    const open = head.incident;
    let current: Working;
    let created = false;
    let queuedNow = false;
    if (open !== null && open.row.last_seen_ms >= received - settings.dedupWindowMs) {
      current = open;
      absorb(current.row, event.severity, received, now);
      if (!current.created) current.added += 1;
      if (current.row.status === "skipped" && item.decision.action === "triage") {
        const triage = triageState(item.decision, room);
        current.row.status = triage.status;
        current.row.skip_reason = triage.skip_reason;
        current.statusChanged = true;
        queuedNow = triage.status === "queued";
      }
    } else {
      const triage = triageState(item.decision, room);
      const id = newIncidentId(event, new Date(received));
      const row = newIncidentRow(event, 0, id, received, now, triage);
      current = { row, created: true, added: 0, statusChanged: true };
      head.incident = current;
      created = true;
      queuedNow = triage.status === "queued";
    }
    working.add(current);
    events.push({ incident: current, received, event });
    const incident = created ? toNewIncident(current.row, event.resource) : toIncident({ ...current.row });
    results.push({ working: current, incident, created, queued: queuedNow });
    if (created) opened.push({ incident: current, snapshot: incident });
  }

  const fresh = [...working].filter((w) => w.created);
  const planned = planOpened(settings, opened);
  const ids = await allocateIds(tx, {
    incidents: fresh.length,
    events: events.length,
    messages: planned.messages,
  });
  fresh.forEach((w, i) => {
    w.row.seq = ids.incidents[i] ?? 0;
  });

  const writes: Promise<unknown>[] = [];
  if (fresh.length > 0)
    writes.push(
      insertIncidents(
        tx,
        fresh.map((w) => w.row),
      ),
    );
  const absorbed = [...working].filter((w) => !w.created);
  if (absorbed.length > 0) writes.push(updateIncidents(tx, absorbed, now));
  writes.push(
    tx`INSERT INTO events (id, incident_seq, received_ms, event)
       SELECT * FROM unnest(${ids.events}::int8[], ${events.map((e) => e.incident.row.seq)}::int8[],
         ${events.map((e) => e.received)}::int8[], ${events.map((e) => eventJson(e.event))}::text[])`,
  );
  writes.push(updateHeads(tx, [...heads.values()]));
  if (planned.entries.length > 0) {
    writes.push(enqueueNotifications(tx, planned.entries, ids.messages, now));
  }
  await Promise.all(writes);
  return results.map((r, i) => ({
    incident: r.incident,
    event_id: ids.events[i] ?? 0,
    created: r.created,
    queued: r.queued,
  }));
}

function headKey(cluster: string, faultId: string): string {
  return `${cluster}\u0000${faultId}`;
}

/** One total order every writer sorts heads by (the lock order; the database's collation plays no part). */
function lockOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The locked heads by fault, and which heads point at each existing incident (by seq). */
interface LockedHeads {
  heads: Map<string, Head>;
  pointedAt: Map<number, Head[]>;
}

/** Step 1: every fault's head row, locked in (cluster, fault_id) order; created when new. */
async function lockHeads(tx: PgTransaction, batch: readonly IngestItem[]): Promise<LockedHeads> {
  const keys = new Map<string, { cluster: string; fault_id: string }>();
  for (const { event } of batch) keys.set(headKey(event.cluster, event.fault_id), event);
  const sorted = [...keys.values()].sort(
    (a, b) => lockOrder(a.cluster, b.cluster) || lockOrder(a.fault_id, b.fault_id),
  );
  const rows = await tx<{ cluster: string; fault_id: string; incident_seq: number | null }[]>`
    INSERT INTO fault_heads (cluster, fault_id, incident_seq, last_seen_ms)
    SELECT c, f, NULL, 0 FROM unnest(${sorted.map((k) => k.cluster)}::text[], ${sorted.map((k) => k.fault_id)}::text[])
      WITH ORDINALITY AS u(c, f, o)
    ORDER BY o
    ON CONFLICT (cluster, fault_id) DO UPDATE SET incident_seq = fault_heads.incident_seq
    RETURNING cluster, fault_id, incident_seq`;
  const heads = new Map<string, Head>();
  const pointedAt = new Map<number, Head[]>();
  for (const row of rows) {
    const head: Head = { cluster: row.cluster, fault_id: row.fault_id, incident: null };
    heads.set(headKey(row.cluster, row.fault_id), head);
    if (row.incident_seq !== null) {
      pointedAt.set(row.incident_seq, [...(pointedAt.get(row.incident_seq) ?? []), head]);
    }
  }
  return { heads, pointedAt };
}

/** Step 3: the heads' incidents as they are now (a deleted one leaves its head empty). */
async function loadIncidents(tx: PgTransaction, pending: Map<number, Head[]>): Promise<void> {
  if (pending.size === 0) return;
  const rows = await tx.unsafe<IncidentRow[]>(
    `SELECT ${INCIDENT_COLUMNS.join(", ")} FROM incidents WHERE seq = ANY($1::int8[])`,
    [[...pending.keys()]],
  );
  for (const row of rows) {
    for (const head of pending.get(row.seq) ?? []) {
      head.incident = { row, created: false, added: 0, statusChanged: false };
    }
  }
}

/** A repeat counted in `row`: one more event, `last_seen` moved, the worse severity kept. */
function absorb(row: IncidentRow, severity: Severity, received: number, now: number): void {
  row.count += 1;
  row.last_seen_ms = Math.max(row.last_seen_ms, received);
  if (SEVERITY_RANK[severity] > SEVERITY_RANK[row.severity as Severity]) row.severity = severity;
  row.updated_ms = now;
}

/** Queued if the decision is triage and the queue has room (taking a place), else skipped and why. */
function triageState(
  decision: RouteDecision,
  room: { queued: number; max: number },
): { status: IncidentStatus; skip_reason: IncidentSkipReason | null } {
  if (decision.action === "skip") return { status: "skipped", skip_reason: decision.reason };
  if (room.queued >= room.max) return { status: "skipped", skip_reason: "queue_full" };
  room.queued += 1;
  return { status: "queued", skip_reason: null };
}

/** The "opened" messages of the batch's new incidents, as the planner decides (messages stored once). */
function planOpened(
  settings: Settings,
  opened: readonly { incident: Working; snapshot: Incident }[],
): { entries: OutboxEntry[]; messages: number } {
  const entries: OutboxEntry[] = [];
  if (settings.notify === null) return { entries, messages: 0 };
  const texts = new Set<string>();
  for (const { incident, snapshot } of opened) {
    const trigger: NotifyTrigger = "opened";
    const planned: PlannedNotification[] = settings.notify({ trigger, incident: snapshot, run: null });
    for (const p of planned) {
      texts.add(p.message);
      entries.push({ seqOf: () => incident.row.seq, trigger, planned: p });
    }
  }
  return { entries, messages: texts.size };
}

async function insertIncidents(tx: PgTransaction, rows: readonly IncidentRow[]): Promise<unknown> {
  const column = <K extends keyof IncidentRow>(key: K) => rows.map((row) => row[key]);
  return tx`
    INSERT INTO incidents (seq, id, cluster, fault_id, fault_type, severity, resource, status, skip_reason,
      count, first_seen_ms, last_seen_ms, attempts, workspace, created_ms, updated_ms)
    SELECT * FROM unnest(${column("seq")}::int8[], ${column("id")}::text[], ${column("cluster")}::text[],
      ${column("fault_id")}::text[], ${column("fault_type")}::text[], ${column("severity")}::text[],
      ${column("resource")}::text[], ${column("status")}::text[], ${column("skip_reason")}::text[],
      ${column("count")}::int4[], ${column("first_seen_ms")}::int8[], ${column("last_seen_ms")}::int8[],
      ${column("attempts")}::int4[], ${column("workspace")}::text[], ${column("created_ms")}::int8[],
      ${column("updated_ms")}::int8[])`;
}

/**
 * Absorbed incidents: counts ADDED and the worse severity kept (an agent's claim or end may have changed
 * the row since it was read: only a promotion, which only ingest does under the head's lock, sets status).
 */
async function updateIncidents(tx: PgTransaction, rows: readonly Working[], now: number): Promise<unknown> {
  return tx`
    UPDATE incidents AS i SET
      count = i.count + u.added,
      last_seen_ms = GREATEST(i.last_seen_ms, u.last_seen_ms),
      severity = CASE
        WHEN i.severity = 'critical' OR u.severity = 'critical' THEN 'critical'
        WHEN i.severity = 'warning' OR u.severity = 'warning' THEN 'warning'
        ELSE 'info' END,
      status = CASE WHEN u.promote = 1 THEN u.status ELSE i.status END,
      skip_reason = CASE WHEN u.promote = 1 THEN u.skip_reason ELSE i.skip_reason END,
      updated_ms = ${now}
    FROM unnest(${rows.map((w) => w.row.seq)}::int8[], ${rows.map((w) => w.added)}::int4[],
      ${rows.map((w) => w.row.last_seen_ms)}::int8[], ${rows.map((w) => w.row.severity)}::text[],
      ${rows.map((w) => (w.statusChanged ? 1 : 0))}::int2[], ${rows.map((w) => w.row.status)}::text[],
      ${rows.map((w) => w.row.skip_reason)}::text[])
      AS u(seq, added, last_seen_ms, severity, promote, status, skip_reason)
    WHERE i.seq = u.seq`;
}

/** Each head now points at its fault's latest incident and its `last_seen`. */
async function updateHeads(tx: PgTransaction, heads: readonly Head[]): Promise<unknown> {
  const set = heads.filter((h) => h.incident !== null);
  return tx`
    UPDATE fault_heads AS h SET incident_seq = u.seq, last_seen_ms = u.last_seen_ms
    FROM unnest(${set.map((h) => h.cluster)}::text[], ${set.map((h) => h.fault_id)}::text[],
      ${set.map((h) => h.incident?.row.seq ?? 0)}::int8[], ${set.map((h) => h.incident?.row.last_seen_ms ?? 0)}::int8[])
      AS u(cluster, fault_id, seq, last_seen_ms)
    WHERE h.cluster = u.cluster AND h.fault_id = u.fault_id`;
}

/** The event's `received_at` in ms; the store's clock when it is missing or unparseable. */
function receivedMs(event: FaultEvent, fallback: number): number {
  const ms = Date.parse(event.received_at);
  return Number.isNaN(ms) ? fallback : ms;
}
