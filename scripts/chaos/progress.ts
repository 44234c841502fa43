/** The harness's progress lines (stderr) and its waits. */

/** Writes a timestamped progress line to stderr. */
export function progress(text: string): void {
  process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
}

/**
 * Polls `check` every 50 ms until it holds; throws naming `what` after `timeoutMs`.
 *
 * @example
 * ```ts
 * await waitUntil("every cluster active", 30_000, () => runner.activeClusters().length === 12);
 * ```
 */
export async function waitUntil(
  what: string,
  timeoutMs: number,
  check: () => boolean | Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(50);
  }
}
