/** Bounded waits: a promise that must settle within a time, or the caller goes on without it. */

/** The rejection of {@link deadline} when the time ran out first. */
export class DeadlineExceeded extends Error {
  constructor(
    message: string,
    /** The time that ran out, in milliseconds. */
    readonly ms: number,
  ) {
    super(message);
    this.name = "DeadlineExceeded";
  }
}

/**
 * `work`'s outcome if it settles within `ms`, else a rejection with {@link DeadlineExceeded} carrying
 * `message`. The timer is cleared either way; `work` itself keeps running (nothing here can cancel it).
 *
 * @example
 * ```ts
 * await deadline(transport.terminateSession(), 2000, "session close timed out").catch(() => {});
 * ```
 */
export function deadline<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded(message, ms)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * True when `work` fulfils within `ms`; false when it rejects or the time runs out first. For waits
 * that are worth a moment but never an error.
 *
 * @example
 * ```ts
 * const opened = await fulfilsWithin(streamOpen, 2000);
 * if (!opened) log.warn("event stream not confirmed open; subscribing anyway");
 * ```
 */
export function fulfilsWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  return deadline(
    work.then(() => true),
    ms,
    "",
  ).catch(() => false);
}
