/** Redacted endpoints and the secret scrubber. */
import { describe, expect, test } from "bun:test";
import { logger, setLogSink } from "../../src/log.ts";
import { REDACTED, redactUrl, Scrubber, scrubbingLogger, urlSecrets } from "../../src/runtime/redact.ts";

describe("redactUrl", () => {
  test("user-info and every query value become ***; the rest stays", () => {
    expect(redactUrl("https://bot:pw@mcp.example:8443/mcp?token=abc&tenant=x")).toBe(
      "https://***:***@mcp.example:8443/mcp?token=***&tenant=***",
    );
    expect(redactUrl("http://user@10.0.0.5/mcp")).toBe("http://***@10.0.0.5/mcp");
    expect(redactUrl("http://10.0.0.5:8080/mcp")).toBe("http://10.0.0.5:8080/mcp");
    expect(redactUrl("not a url with a secret")).toBe(REDACTED);
  });
});

describe("Scrubber", () => {
  test("replaces every known secret, longest first, also percent-encoded URL parts", () => {
    const scrubber = new Scrubber(urlSecrets("http://us%40er:p%2Fw0rd@h/mcp?token=a%20b&x=1"));
    scrubber.add("tok-123");
    scrubber.add("tok-1234");
    scrubber.add("ab"); // too short to scrub from free text
    expect(scrubber.scrub("us@er p/w0rd us%40er p%2Fw0rd a b a%20b tok-1234 tok-123 ab")).toBe(
      "*** *** *** *** *** *** *** *** ab",
    );
  });

  test("a scrubbing logger cleans the message and string fields", () => {
    const lines: string[] = [];
    const restore = setLogSink((line) => lines.push(line));
    try {
      const scrubber = new Scrubber(["s3cret-value"]);
      scrubbingLogger(logger({ cluster: "c" }), scrubber).warn("failed with s3cret-value", {
        error: "HTTP 401 for s3cret-value",
        list: ["s3cret-value"],
        n: 1,
      });
    } finally {
      setLogSink(restore);
    }
    const line = JSON.parse(lines[0] ?? "{}");
    expect(line).toMatchObject({
      msg: "failed with ***",
      error: "HTTP 401 for ***",
      list: ["***"],
      n: 1,
      cluster: "c",
    });
  });
});
