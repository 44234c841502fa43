/** `faultline probe URL` against real loopback servers: 2xx → 0, anything else → 1, with a readable reason. */
import { afterAll, expect, test } from "bun:test";
import { createServer } from "node:net";
import { cli } from "../../src/cli/entry.ts";
import { EXIT } from "../../src/cli/exit-codes.ts";
import type { CommandIO } from "../../src/cli/io.ts";

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/ok") return Response.json({ ready: true });
    if (path === "/slow") return Bun.sleep(2000).then(() => new Response("late"));
    return new Response("no", { status: 503 });
  },
});
// A peer that accepts and hangs up at once: Bun's fetch error for it advises programmers.
const rude = createServer((socket) => socket.destroy()).listen(0, "127.0.0.1");
afterAll(async () => {
  await server.stop(true);
  rude.close();
});

async function probe(...argv: string[]) {
  let stdout = "";
  let stderr = "";
  const io: CommandIO = { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) };
  return { code: await cli(["probe", ...argv], io), stdout, stderr };
}

test("2xx exits 0; 503 exits 1; nothing listening exits 1 with a plain reason", async () => {
  const base = `http://127.0.0.1:${server.port}`;
  expect(await probe(`${base}/ok`)).toEqual({ code: EXIT.ok, stdout: `${base}/ok: HTTP 200\n`, stderr: "" });
  expect(await probe(`${base}/down`)).toEqual({
    code: EXIT.error,
    stdout: "",
    stderr: `${base}/down: HTTP 503\n`,
  });
  const refused = await probe("http://127.0.0.1:1/livez");
  expect(refused.code).toBe(EXIT.error);
  expect(refused.stderr).toBe(
    "faultline probe: connection refused by http://127.0.0.1:1/livez (nothing listens there, or a firewall rejects it)\n",
  );
  const slow = await probe(`${base}/slow`, "--timeout", "0.2");
  expect(slow).toEqual({
    code: EXIT.error,
    stdout: "",
    stderr: `faultline probe: no answer from ${base}/slow in time\n`,
  });
});

test("a peer that hangs up is described without Bun's advice to programmers", async () => {
  const address = rude.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const result = await probe(`http://localhost:${port}/livez`);
  expect(result.code).toBe(EXIT.error);
  expect(result.stderr).toContain("closed the connection unexpectedly");
  expect(result.stderr).not.toContain("verbose");
});
