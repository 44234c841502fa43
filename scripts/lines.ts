/** Reading a child process's output line by line (tests, the demo, the benchmark). */

/**
 * The lines of `stream` (a web ReadableStream or a node:stream Readable such as `process.stdin`), as they
 * arrive, without their newlines; a last line without one included.
 */
export async function* lines(stream: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of stream) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let at = buffer.indexOf("\n"); at >= 0; at = buffer.indexOf("\n")) {
      yield buffer.slice(0, at);
      buffer = buffer.slice(at + 1);
    }
  }
  buffer += decoder.decode();
  if (buffer !== "") yield buffer;
}
