/** report.md rendering: markdown becomes HTML, and whatever could run or load is escaped or dropped. */
import { expect, test } from "bun:test";
import { renderMarkdown } from "../../src/ui/markdown.ts";

test("markdown becomes HTML: headings, lists, emphasis, code, tables, links", () => {
  const html = renderMarkdown(
    "# Cause\n\n*DB_URL* is **missing**\n\n1. one\n2. two\n\n```yaml\na: <b>\n```\n\n| k | v |\n|:--|--:|\n| a | 1 |\n\n[runbook](https://example.test/x)",
  );
  expect(html).toContain("<h1>Cause</h1>");
  expect(html).toContain("<em>DB_URL</em> is <strong>missing</strong>");
  expect(html).toContain("<ol>\n<li>one</li>");
  expect(html).toContain('<code class="language-yaml">a: &lt;b&gt;');
  expect(html).toContain('<th align="left">k</th>');
  expect(html).toContain('<a href="https://example.test/x" rel="noopener noreferrer nofollow">runbook</a>');
});

test("raw HTML that could run, load or restyle is escaped into text", () => {
  const html = renderMarkdown(
    [
      "<script>document.title='pwned'</script>",
      "<img src=x onerror=alert(1)>",
      "<iframe src=https://evil.test></iframe>",
      "<svg onload=alert(1)>",
      "<style>body{display:none}</style>",
      '<a href="https://ok.test" onclick="alert(1)">x</a>',
      '<form action="https://evil.test"><input name=a></form>',
      '<p style="position:fixed">covered</p>',
    ].join("\n\n"),
  );
  expect(html).not.toMatch(/<(script|img|iframe|svg|style|form|input)/i);
  expect(html).not.toMatch(/onclick|onerror=|onload=|style=/i);
  expect(html).toContain("&lt;script&gt;document.title='pwned'&lt;/script&gt;");
  expect(html).toContain('<a href="https://ok.test" rel="noopener noreferrer nofollow">x</a>');
});

test("links keep http(s) and mailto targets only; images are not loaded", () => {
  const html = renderMarkdown(
    "[a](javascript:alert(1)) [b](JaVaScRiPt:alert(1)) [c](data:text/html,x) [d](//evil.test) [e](mailto:ops@example.test) ![i](https://evil.test/beacon.png)",
  );
  expect(html).not.toMatch(/javascript|data:|\/\/evil|<img/i);
  expect(html).toContain('<a href="mailto:ops@example.test"');
  expect(html.match(/<a rel="noopener noreferrer nofollow">/g)?.length).toBe(4);
});

test("the same report renders the same (from the cache) and a 256 KiB report renders in bounded time", () => {
  const report = "## Step\n\nSome *text* with `code` and [a link](https://example.test)\n\n- item\n\n".repeat(
    3200,
  );
  const started = performance.now();
  const first = renderMarkdown(report);
  const took = performance.now() - started;
  expect(took).toBeLessThan(5000);
  expect(renderMarkdown(report)).toBe(first);
});
