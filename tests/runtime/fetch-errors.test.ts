import { expect, test } from "bun:test";
import { describeFetchError } from "../../src/runtime/fetch-errors.ts";

/** A fetch failure as Deno reports it: a TypeError whose cause's message tells what happened. */
function denoFetchError(cause: string): TypeError {
  return new TypeError("fetch failed", { cause: new Error(cause) });
}

const TO = "http://10.0.0.5:8080/mcp";

test("Bun's errors are read by their code", () => {
  const reset = Object.assign(
    new TypeError("ECONNRESET: closed. For more information, pass `verbose: true`"),
    {
      code: "ECONNRESET",
    },
  );
  expect(describeFetchError(reset, TO)).toBe(
    `${TO} closed the connection unexpectedly (the server or a proxy in between dropped it)`,
  );
});

test("Deno's errors (no code) are read by their cause's message, as the same words", () => {
  const cases: [string, string][] = [
    [
      `error sending request for url (${TO}): client error (Connect): tcp connect error: Connection refused (os error 111)`,
      `connection refused by ${TO} (nothing listens there, or a firewall rejects it)`,
    ],
    [
      `error sending request from 127.0.0.1:40356 for ${TO} (10.0.0.5:8080): client error (SendRequest): connection closed before message completed`,
      `${TO} closed the connection unexpectedly (the server or a proxy in between dropped it)`,
    ],
    [
      `error sending request for url (${TO}): client error (Connect): dns error: failed to lookup address information: Name or service not known`,
      `host not found: the name in ${TO} does not resolve (DNS)`,
    ],
  ];
  for (const [cause, words] of cases) expect(describeFetchError(denoFetchError(cause), TO)).toBe(words);
  expect(describeFetchError(denoFetchError("something else"), TO)).toBe("fetch failed");
});
