/**
 * The WAL checkpointer's thread (see `checkpointer.ts`): its own connection to the store's file, copying
 * the WAL into the database with `PRAGMA wal_checkpoint(PASSIVE)` every few hundred ms. PASSIVE never
 * waits for the writer or readers and never blocks them; what it cannot copy now it copies next time.
 * On `stop` it copies once more, closes its connection and says `stopped`; on a failure it says `failed`
 * and ends, and the main thread's connection checkpoints by itself again.
 */
import { openSqlite, type SqlDatabase } from "../runtime/sqlite.ts";
import { parentThread } from "../runtime/threads.ts";
import type { CheckpointerToMain, MainToCheckpointer } from "./checkpointer.ts";

const parent = parentThread<CheckpointerToMain, MainToCheckpointer>();
let db: SqlDatabase | null = null;
let timer: ReturnType<typeof setInterval> | null = null;

/** Copies what the WAL holds into the database file; a failure ends the thread (the main thread takes over). */
function checkpoint(): boolean {
  try {
    db?.query("PRAGMA wal_checkpoint(PASSIVE)").get();
    return true;
  } catch (error) {
    end({ type: "failed", error: error instanceof Error ? error.message : String(error) });
    return false;
  }
}

function end(last: CheckpointerToMain): void {
  if (timer !== null) clearInterval(timer);
  timer = null;
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
    timer = setInterval(checkpoint, message.interval_ms);
    parent.post({ type: "started" });
  } else if (message.type === "stop") {
    if (checkpoint()) end({ type: "stopped" });
  }
});
