/** The incident store's options, and its settings once defaults are applied and checked. */

import { DEFAULT_MAX_WINDOW_ENTRIES } from "./dedup-window.ts";
import { INTAKE_RESET_BYTES, INTAKE_ROTATE_BYTES } from "./journal-file.ts";
import { DEFAULT_DEDUP_WINDOW_SECONDS, DEFAULT_MAX_QUEUE } from "./model.ts";
import type { NotificationPlanner } from "./outbox.ts";

/** Options for {@link SqliteStore.open}. */
export interface IncidentStoreOptions {
  /** `dedup_window_seconds`, default {@link DEFAULT_DEDUP_WINDOW_SECONDS}. */
  dedupWindowSeconds?: number;
  /** `agent.max_queue`, default {@link DEFAULT_MAX_QUEUE}. */
  maxQueue?: number;
  /**
   * Faults the in-memory dedup window holds at most (`dedup-window.ts`), default
   * {@link DEFAULT_MAX_WINDOW_ENTRIES}; past it the oldest are asked of the database. Tests lower it.
   */
  dedupWindowEntries?: number;
  /**
   * When the intake journal's file is emptied (every event in it built, past `reset` bytes) and renamed
   * (events waiting, past `rotate` bytes): `journal-file.ts`, defaults {@link INTAKE_RESET_BYTES} and
   * {@link INTAKE_ROTATE_BYTES}. Tests lower them.
   */
  intakeFileBytes?: IntakeFileBytes;
  /** Start-up fails when the filesystem has less free space; default {@link DEFAULT_MIN_FREE_BYTES}. */
  minFreeBytes?: number;
  /** The store's clock (tests inject one). */
  now?: () => Date;
  /** Which sinks get a message for each status change (none without it). */
  notify?: NotificationPlanner;
  /**
   * WAL checkpoints in a thread of their own (`checkpointer.ts`) instead of inside the commit that fills
   * the WAL; `faultline run` sets it. Off by default (a store opened in a test or a CLI command).
   */
  checkpointInThread?: boolean;
  /**
   * Build at open what a previous run left in the intake journal (`journal.ts`); default false.
   * `faultline run` sets it (it holds the state directory's lock, so no other process builds
   * meanwhile) and gives {@link notify} at open, so those incidents get their messages; any other
   * opener (the CLI's commands, scripts) leaves the rows to the next `faultline run`.
   */
  buildJournal?: boolean;
}

/** The intake journal file's bounds (bytes). */
export interface IntakeFileBytes {
  /** A file whose every event is built is emptied past this. */
  reset: number;
  /** A file with events waiting is renamed and a new one started past this. */
  rotate: number;
}

/** Store settings after defaults and validation. */
export interface Settings {
  dedupWindowMs: number;
  dedupWindowEntries: number;
  intakeFileBytes: IntakeFileBytes;
  maxQueue: number;
  now: () => Date;
  notify: NotificationPlanner | null;
}

/** The settings `options` ask for, defaults applied; a RangeError names a value out of range. */
export function resolveSettings(options: IncidentStoreOptions): Settings {
  const dedupWindowSeconds = options.dedupWindowSeconds ?? DEFAULT_DEDUP_WINDOW_SECONDS;
  const maxQueue = options.maxQueue ?? DEFAULT_MAX_QUEUE;
  const dedupWindowEntries = options.dedupWindowEntries ?? DEFAULT_MAX_WINDOW_ENTRIES;
  if (!Number.isFinite(dedupWindowSeconds) || dedupWindowSeconds < 0) {
    throw new RangeError(`dedupWindowSeconds must be a number >= 0, got ${dedupWindowSeconds}`);
  }
  if (!Number.isInteger(maxQueue) || maxQueue < 0) {
    throw new RangeError(`maxQueue must be an integer >= 0, got ${maxQueue}`);
  }
  if (!Number.isInteger(dedupWindowEntries) || dedupWindowEntries < 1) {
    throw new RangeError(`dedupWindowEntries must be an integer >= 1, got ${dedupWindowEntries}`);
  }
  const intakeFileBytes = options.intakeFileBytes ?? {
    reset: INTAKE_RESET_BYTES,
    rotate: INTAKE_ROTATE_BYTES,
  };
  for (const key of ["reset", "rotate"] as const) {
    const value = intakeFileBytes[key];
    if (!Number.isInteger(value) || value < 0) {
      throw new RangeError(`intakeFileBytes.${key} must be an integer >= 0, got ${value}`);
    }
  }
  return {
    dedupWindowMs: dedupWindowSeconds * 1000,
    dedupWindowEntries,
    intakeFileBytes,
    maxQueue,
    now: options.now ?? (() => new Date()),
    notify: options.notify ?? null,
  };
}
