/**
 * The store's WAL checkpoints, off the main thread. With SQLite's own auto-checkpoint, the commit that
 * crosses the WAL's size copies ~1000 pages into the database file inside the main thread's event loop:
 * a few ms during which no event is stored (measured at 1000 faults/s: fan-in p99 7.0 ms without those
 * checkpoints against 9-12.5 ms with them). A {@link Checkpointer} runs them in a thread of its own
 * (`checkpoint-thread.ts`, its own connection, PASSIVE: it never blocks the writer) while the main
 * connection's auto-checkpoint is off; if the thread fails or ends, the main connection's auto-checkpoint
 * is switched back on, so the WAL stays bounded either way.
 *
 * The thread runs a pass {@link CHECKPOINT_INTERVAL_MS} after a commit, not on a timer of its own: an
 * idle store (no events, a liveness write every 5 s) wakes it once per write instead of four times a
 * second. The writer says so through a shared word ({@link Checkpointer.committed}: an atomic
 * compare-and-swap per commit, a message only when the thread has no pass armed), so a busy store costs
 * no more messages than an idle one: while commits keep coming, each pass arms the next.
 */
import { logger } from "../log.ts";
import type { SqlDatabase } from "../runtime/sqlite.ts";
import { startThread, type Thread } from "../runtime/threads.ts";
import { BUSY_TIMEOUT_MS, WAL_AUTOCHECKPOINT_PAGES } from "./open.ts";

/** What the main thread tells the checkpointer. */
export type MainToCheckpointer =
  | { type: "start"; file: string; interval_ms: number; busy_timeout_ms: number; wake: Int32Array }
  | { type: "wake" }
  | { type: "stop" };

/** What the checkpointer tells the main thread. */
export type CheckpointerToMain =
  | { type: "started" }
  | { type: "stopped" }
  | { type: "failed"; error: string };

/**
 * How long after a commit the thread copies the WAL into the database; while commits keep coming, how
 * often (at 1000 events/s the WAL grows ~12 MB a second).
 */
export const CHECKPOINT_INTERVAL_MS = 250;

/** The shared wake word: no pass armed (the thread waits for a `wake` message). */
export const WAKE_IDLE = 0;
/** A pass is armed: a commit now is copied by it. */
export const WAKE_ARMED = 1;
/** A pass is armed and a commit came since it was: the thread arms another once it has run. */
export const WAKE_AGAIN = 2;

/**
 * The thread's side of the wake word after a pass: whether it must arm another (frames were `left`, or a
 * commit came during the pass); otherwise the word says idle, and the next commit sends a `wake`.
 */
export function settleWake(wake: Int32Array, left: boolean): boolean {
  if (left) {
    Atomics.store(wake, 0, WAKE_ARMED);
    return true;
  }
  if (Atomics.compareExchange(wake, 0, WAKE_ARMED, WAKE_IDLE) === WAKE_ARMED) return false;
  Atomics.store(wake, 0, WAKE_ARMED); // WAKE_AGAIN: the writer committed during the pass
  return true;
}

/** Longest wait for the thread's last checkpoint at stop before it is ended anyway. */
const STOP_TIMEOUT_MS = 2000;

/**
 * Inside Bun's compiled binary the thread is an embedded entry point named by the path the bundler gives
 * it (relative to `src/`, as `scripts/build.ts` lists it); from source, a file URL.
 */
const CHECKPOINT_ENTRY: string = import.meta.url.includes("/$bunfs/")
  ? "./incidents/checkpoint-thread.ts"
  : new URL("./checkpoint-thread.ts", import.meta.url).href;

const log = logger({ component: "store" });

/**
 * Runs the WAL checkpoints of `db` (the file `file`) in a thread of its own.
 *
 * @example
 * ```ts
 * const checkpointer = Checkpointer.start(db, "/var/lib/faultline/faultline.db");
 * store.write(); checkpointer.committed(); // the thread copies the WAL into the file 250 ms later
 * await checkpointer.stop(); // then close db
 * ```
 */
export class Checkpointer {
  readonly #db: SqlDatabase;
  readonly #thread: Thread<MainToCheckpointer, CheckpointerToMain>;
  #running = true;
  /** Shared with the thread: see {@link WAKE_IDLE}, {@link WAKE_ARMED}, {@link WAKE_AGAIN}. */
  readonly #wake = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  readonly #stopped: PromiseWithResolvers<void> = Promise.withResolvers<void>();

  private constructor(db: SqlDatabase, file: string, intervalMs: number) {
    this.#db = db;
    this.#thread = startThread<MainToCheckpointer, CheckpointerToMain>(CHECKPOINT_ENTRY, {
      message: (message) => {
        if (message.type === "failed") log.warn("WAL checkpoint thread failed", { error: message.error });
        if (message.type === "started") return;
        this.#ended();
        this.#thread.terminate();
      },
      error: (message) => log.warn("WAL checkpoint thread error", { error: message }),
      exit: () => this.#ended(),
    });
    // Armed from the start: what was written before the thread opened is copied by its first pass.
    Atomics.store(this.#wake, 0, WAKE_ARMED);
    this.#thread.post({
      type: "start",
      file,
      interval_ms: intervalMs,
      busy_timeout_ms: BUSY_TIMEOUT_MS,
      wake: this.#wake,
    });
    db.exec("PRAGMA wal_autocheckpoint = 0");
  }

  /** Turns `db`'s auto-checkpoint off and starts the thread that checkpoints `file` `intervalMs` after commits. */
  static start(db: SqlDatabase, file: string, intervalMs: number = CHECKPOINT_INTERVAL_MS): Checkpointer {
    return new Checkpointer(db, file, intervalMs);
  }

  /** Whether the thread still checkpoints (false once it stopped or failed: the main connection does). */
  get running(): boolean {
    return this.#running;
  }

  /** Whether the thread has no pass armed: it waits, without a timer, for the next commit. */
  get idle(): boolean {
    return Atomics.load(this.#wake, 0) === WAKE_IDLE;
  }

  /**
   * Something was committed to the WAL: the thread copies it within an interval. Costs an atomic
   * compare-and-swap; a message goes only when the thread has no pass armed.
   */
  committed(): void {
    if (!this.#running) return;
    for (;;) {
      const was = Atomics.compareExchange(this.#wake, 0, WAKE_IDLE, WAKE_ARMED);
      if (was === WAKE_IDLE) {
        this.#thread.post({ type: "wake" });
        return;
      }
      if (was === WAKE_AGAIN) return;
      // Armed: ask for another pass, unless the thread went idle meanwhile (then wake it: loop).
      if (Atomics.compareExchange(this.#wake, 0, WAKE_ARMED, WAKE_AGAIN) === WAKE_ARMED) return;
    }
  }

  /** Asks the thread for a last checkpoint and to end; resolves once it has (or after a bounded wait). */
  async stop(): Promise<void> {
    if (this.#running) this.#thread.post({ type: "stop" });
    const timer = setTimeout(() => this.#thread.terminate(), STOP_TIMEOUT_MS);
    try {
      await this.#stopped.promise;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The thread is gone: the main connection checkpoints by itself again. */
  #ended(): void {
    if (!this.#running) return;
    this.#running = false;
    try {
      this.#db.exec(`PRAGMA wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
    } catch {
      // The database is closing: nothing left to checkpoint for.
    }
    this.#stopped.resolve();
  }
}
