/**
 * An agent's `report.md` as HTML for the status page. The report is untrusted: `marked` turns the
 * markdown into HTML (raw HTML in it passes through), then `sanitize-html` keeps only an allowlist of
 * text-formatting tags and attributes. Any other tag — `<script>`, `<img onerror>`, `<iframe>`, `<style>`,
 * forms — is escaped, so it shows as the text the agent wrote and never runs; links keep only http(s)
 * and mailto targets and open with `rel="noopener noreferrer nofollow"`. Images are not shown (a report
 * must not make the browser fetch anything).
 */
import { createHash } from "node:crypto";
import { Marked } from "marked";
import sanitizeHtml from "sanitize-html";

/** One parser for the process, GitHub-flavoured, synchronous; the global `marked` is left alone. */
const parser = new Marked({ gfm: true, breaks: false, async: false });

/** Tags a rendered report may keep. */
const ALLOWED_TAGS = [
  "h1",
  "h2",
  "h3",
  "h4",
  "h5",
  "h6",
  "p",
  "br",
  "hr",
  "blockquote",
  "pre",
  "code",
  "em",
  "strong",
  "del",
  "s",
  "ul",
  "ol",
  "li",
  "a",
  "table",
  "thead",
  "tbody",
  "tr",
  "th",
  "td",
];

/** The sanitizer's policy: the allowlist above, nothing else; what it refuses is escaped, not run. */
const POLICY: sanitizeHtml.IOptions = {
  allowedTags: ALLOWED_TAGS,
  allowedAttributes: {
    a: ["href", "title", "rel"],
    code: ["class"],
    ol: ["start"],
    th: ["align"],
    td: ["align"],
  },
  allowedClasses: { code: [/^language-[A-Za-z0-9_+-]{1,40}$/] },
  allowedSchemes: ["http", "https", "mailto"],
  allowedSchemesAppliedToAttributes: ["href"],
  allowProtocolRelative: false,
  disallowedTagsMode: "escape",
  transformTags: {
    a: sanitizeHtml.simpleTransform("a", { rel: "noopener noreferrer nofollow" }),
  },
};

/**
 * Reports rendered lately, by the SHA-256 of their text (least recently used first): a finished run's
 * report never changes, and a 256 KiB one takes a few hundred milliseconds to render, while the page
 * reloads itself every few seconds.
 */
const rendered = new Map<string, string>();
/** Reports kept rendered. */
const RENDER_CACHE_ENTRIES = 32;

/**
 * Safe HTML for the markdown `text`: rendered, then sanitized (see the module comment); the latest
 * {@link RENDER_CACHE_ENTRIES} results are kept.
 *
 * @example
 * ```ts
 * renderMarkdown("# Cause\n<script>alert(1)</script>");
 * // '<h1>Cause</h1>\n&lt;script&gt;alert(1)&lt;/script&gt;'
 * ```
 */
export function renderMarkdown(text: string): string {
  const key = createHash("sha256").update(text).digest("base64");
  const cached = rendered.get(key);
  if (cached !== undefined) {
    rendered.delete(key);
    rendered.set(key, cached);
    return cached;
  }
  const html = sanitizeHtml(parser.parse(text, { async: false }), POLICY);
  rendered.set(key, html);
  if (rendered.size > RENDER_CACHE_ENTRIES) rendered.delete(rendered.keys().next().value ?? "");
  return html;
}
