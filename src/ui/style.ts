/**
 * The status page's stylesheet, served as `GET /ui/style.css` (the Content-Security-Policy allows
 * styles from the page's own origin only, no inline style).
 */

/** The stylesheet's text. */
export const STYLESHEET = `
:root { color-scheme: light; --fg: #1d2430; --muted: #5f6b7a; --line: #dde3ea; --bg: #f6f8fa; --card: #fff;
  --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --info: #0969da; --idle: #6e7781; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header.top { display: flex; align-items: center; gap: 16px; padding: 10px 24px; background: #24292f; color: #fff; }
header.top a { color: #fff; text-decoration: none; font-weight: 600; font-size: 16px; }
header.top .meta { color: #c9d1d9; font-size: 12px; }
header.top .spacer { flex: 1; }
header.top form { margin: 0; }
header.top button { background: transparent; color: #c9d1d9; border: 1px solid #57606a; border-radius: 6px; padding: 2px 10px; cursor: pointer; }
main { padding: 16px 24px 40px; max-width: 1400px; }
h1 { font-size: 20px; margin: 8px 0 12px; word-break: break-all; }
h2 { font-size: 16px; margin: 24px 0 8px; }
section.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; margin-bottom: 16px; overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; white-space: nowrap; }
tr:last-child td { border-bottom: none; }
td.nowrap, td:first-child { white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.err { color: var(--bad); max-width: 420px; word-break: break-word; }
a { color: var(--info); }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; background: var(--idle); white-space: nowrap; }
.badge.ok, .badge.active, .badge.succeeded, .badge.sent, .badge.high { background: var(--ok); }
.badge.degraded, .badge.connecting, .badge.queued, .badge.running, .badge.pending, .badge.warning, .badge.medium, .badge.timed_out, .badge.interrupted { background: var(--warn); }
.badge.down, .badge.failed, .badge.dead, .badge.critical, .badge.invalid { background: var(--bad); }
.badge.info, .badge.low { background: var(--info); }
.chip { display: inline-block; margin: 0 4px 2px 0; padding: 0 6px; border: 1px solid var(--line); border-radius: 4px; font-size: 12px; background: var(--bg); }
form.filters { display: flex; gap: 12px; align-items: end; flex-wrap: wrap; margin-bottom: 10px; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 2px; }
select, input, button { font: inherit; }
select, input[type=password] { padding: 4px 6px; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
button.primary { padding: 4px 14px; border: 1px solid #1f883d; background: #1f883d; color: #fff; border-radius: 6px; cursor: pointer; }
.banner { padding: 8px 12px; border-radius: 6px; margin-bottom: 12px; border: 1px solid var(--bad); background: #ffebe9; color: var(--bad); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; word-break: break-word; }
.summary { font-size: 15px; font-weight: 600; margin: 0 0 8px; }
.report { border-top: 1px solid var(--line); margin-top: 12px; padding-top: 4px; overflow-wrap: anywhere; }
.report pre { background: var(--bg); padding: 8px 10px; border-radius: 6px; overflow-x: auto; }
.report table { width: auto; }
.report th, .report td { border: 1px solid var(--line); }
pre.context { margin: 0; white-space: pre-wrap; word-break: break-word; max-height: 12em; overflow-y: auto; }
details { margin-top: 8px; }
summary { cursor: pointer; }
.login { max-width: 420px; margin: 60px auto; }
.login form { display: flex; flex-direction: column; gap: 10px; }
`;
