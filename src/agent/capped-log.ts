/**
 * The agent's output, captured into `agent.log` up to a size (`agent.max_log_bytes`): past it, one
 * marker line says so and the rest is read and discarded, so an agent that prints without end neither
 * fills the disk nor blocks on a full pipe.
 */
import { closeSync, fstatSync, openSync, writeSync } from "node:fs";

/** The line written once the log is full. */
export function truncationMarker(maxBytes: number): string {
  return `\n[faultline: agent.log reached agent.max_log_bytes (${maxBytes} bytes); further output discarded]\n`;
}

/** Output being captured: {@link close} waits for its end (bounded), then stops reading. */
export interface CapturedOutput {
  /**
   * Waits up to `waitMs` for every stream to end (a process left holding the pipe would keep it open),
   * then stops reading and closes the file. Resolves with the bytes written (the marker included).
   */
  close(waitMs: number): Promise<number>;
}

/**
 * Appends what `streams` carry to the file at `path` (created when missing), at most `maxBytes` in all
 * counting what the file held before (a retried run appends), then the {@link truncationMarker}.
 *
 * @example
 * ```ts
 * const output = captureOutput([child.stdout, child.stderr], join(workspace, "agent.log"), 10 << 20);
 * await child.exited;
 * await output.close(1000);
 * ```
 */
export function captureOutput(
  streams: readonly ReadableStream<Uint8Array>[],
  path: string,
  maxBytes: number,
): CapturedOutput {
  const fd = openSync(path, "a");
  let size = fstatSync(fd).size;
  let written = 0;
  let full = size >= maxBytes;
  const write = (bytes: Uint8Array): void => {
    const n = writeSync(fd, bytes);
    size += n;
    written += n;
  };
  const take = (chunk: Uint8Array): void => {
    if (full) return;
    const room = maxBytes - size;
    if (chunk.length <= room) {
      write(chunk);
      return;
    }
    if (room > 0) write(chunk.subarray(0, room));
    write(new TextEncoder().encode(truncationMarker(maxBytes)));
    full = true;
  };
  const readers = streams.map((stream) => stream.getReader());
  const pumps = readers.map(async (reader) => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        take(value);
      }
    } catch {
      // Cancelled by close(), or the pipe broke: what was read is written.
    }
  });
  return {
    async close(waitMs) {
      const ended = Promise.all(pumps);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, waitMs);
      });
      await Promise.race([ended, timedOut]);
      clearTimeout(timer);
      await Promise.all(readers.map((reader) => reader.cancel().catch(() => {})));
      await ended;
      closeSync(fd);
      return written;
    },
  };
}
