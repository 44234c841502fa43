/**
 * The WAL checkpointer's thread (see `checkpointer.ts`): its own connection to the store's file, copying
 * the WAL into the database with `PRAGMA wal_checkpoint(PASSIVE)` one interval after the main thread
 * says something was committed (never on an idle store: no timer runs while nothing was written).
 * PASSIVE never waits for the writer or readers and never blocks them; what it cannot copy now it
 * copies an interval later. On `stop` it copies once more, closes its connection and says `stopped`; on
 * a failure it says `failed` and ends, and the main thread's connection checkpoints by itself again.
 * A pass tries to copy the WAL to its last frame (up to 3 catch-up checkpoints, see {@link pass}), so
 * that the writer starts it over even while commits keep coming.
 */
import { openSqlite, type SqlDatabase } from "../runtime/sqlite.ts";
import { parentThread } from "../runtime/threads.ts";
import { type CheckpointerToMain, type MainToCheckpointer, settleWake, WAKE_ARMED } from "./checkpointer.ts";

const parent = parentThread<CheckpointerToMain, MainToCheckpointer>();
let db: SqlDatabase | null = null;
let timer: ReturnType<typeof setTimeout> | null = null;
let intervalMs = 0;
/** Shared with the main thread: whether a pass is armed and whether it committed since (see checkpointer.ts). */
let wake: Int32Array | null = null;

interface CheckpointResult {
  /**
   * WAL frames, and how many of them are in the database file now (-1 both when not in WAL mode, or
   * when another connection's checkpoint held the lock).
   */
  log: number;
  checkpointed: number;
}

/** Copies what the WAL holds into the database file; null on a failure, which ends the thread. */
function checkpoint(): CheckpointResult | null {
  try {
    return db?.query<CheckpointResult>("PRAGMA wal_checkpoint(PASSIVE)").get() ?? null;
  } catch (error) {
    end({ type: "failed", error: error instanceof Error ? error.message : String(error) });
    return null;
  }
}

/** Catch-up checkpoints at most after a pass that copied all it found (see {@link pass}). */
const CATCH_UP_CHECKPOINTS = 3;

/**
 * One pass: copies the WAL, then arms the next one if a commit came meanwhile or frames were left. A
 * checkpoint that copied every frame it found is followed at once by catch-up checkpoints of what was
 * committed while it ran (a commit's few frames: well under a millisecond), until one finds nothing new.
 * The writer starts the WAL over (writes it again from its first frame) only at a commit that finds it
 * copied to its last frame; at a steady rate a commit lands during nearly every pass, and without these
 * the WAL file grew for as long as the load lasted (measured: ~4300 frames a second at 1000 events/s,
 * never started over), each commit appending new file pages, which costs the writer more than
 * rewriting the pages of a WAL started over.
 */
function pass(): void {
  timer = null;
  let result = checkpoint();
  for (let i = 0; i < CATCH_UP_CHECKPOINTS && copiedAll(result); i++) {
    const found = result.log;
    result = checkpoint();
    if (result?.log === found) break; // nothing committed since: the WAL is copied to its last frame
  }
  if (result === null || wake === null) return;
  if (settleWake(wake, result.checkpointed < result.log)) arm();
}

/** Whether a checkpoint copied every frame of a WAL that had some (not: failed, held off, or an empty WAL). */
function copiedAll(result: CheckpointResult | null): result is CheckpointResult {
  return result !== null && result.log > 0 && result.checkpointed === result.log;
}

function arm(): void {
  timer ??= setTimeout(pass, intervalMs);
}

function end(last: CheckpointerToMain): void {
  if (timer !== null) clearTimeout(timer);
  timer = null;
  wake = null;
  try {
    db?.close();
  } catch {
    // Closing after a failure: the connection is gone either way.
  }
  db = null;
  parent.post(last); // the main thread ends this thread when it hears it
}

parent.onMessage((message) => {
  if (message.type === "start") {
    try {
      db = openSqlite(message.file);
      db.exec(`PRAGMA busy_timeout = ${message.busy_timeout_ms}`);
      db.exec("PRAGMA wal_autocheckpoint = 0");
    } catch (error) {
      end({ type: "failed", error: error instanceof Error ? error.message : String(error) });
      return;
    }
    intervalMs = message.interval_ms;
    wake = message.wake;
    // The main thread starts armed: what it wrote before the thread started is copied by a first pass.
    if (Atomics.load(wake, 0) >= WAKE_ARMED) arm();
    parent.post({ type: "started" });
  } else if (message.type === "wake") {
    if (db !== null) arm();
  } else if (message.type === "stop") {
    if (checkpoint() !== null) end({ type: "stopped" });
  }
});
