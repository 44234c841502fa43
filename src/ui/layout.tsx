/** @jsxImportSource hono/jsx */
/** The status page's frame (head, top bar, refresh) and its shared pieces: status badges, label chips. */
import type { Child } from "hono/jsx";

/** Seconds between the page's own reloads (a `<meta http-equiv="refresh">`: no JavaScript). */
export const REFRESH_SECONDS = 10;

/** What every page shows in its frame. */
export interface FrameProps {
  title: string;
  /** The path from this page to the site's root (`./` for `/`, `../../` for `/ui/incidents/ID`). */
  root: string;
  /** Reload the page every {@link REFRESH_SECONDS}. */
  refresh: boolean;
  /** Shows the logout button (a token is configured). */
  loggedIn: boolean;
  /** Extra text in the top bar (version, uptime). */
  meta?: string;
  children?: Child;
}

/** A whole page. Every value in it is escaped by JSX; nothing runs in it (there is no script). */
export function Frame(props: FrameProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        {props.refresh && <meta http-equiv="refresh" content={String(REFRESH_SECONDS)} />}
        <title>{props.title}</title>
        <link rel="stylesheet" href={`${props.root}ui/style.css`} />
      </head>
      <body>
        <header class="top">
          <a href={props.root}>faultline</a>
          <span class="meta">{props.meta ?? ""}</span>
          <span class="spacer" />
          {props.refresh && <span class="meta">refreshes every {REFRESH_SECONDS} s</span>}
          {props.loggedIn && (
            <form method="post" action={`${props.root}ui/logout`}>
              <button type="submit">log out</button>
            </form>
          )}
        </header>
        <main>{props.children}</main>
      </body>
    </html>
  );
}

/** A status word as a coloured badge (the colour comes from the word, see style.ts). */
export function Badge(props: { value: string; title?: string }) {
  return (
    <span class={`badge ${props.value.replace(/[^a-z_]/g, "")}`} title={props.title}>
      {props.value}
    </span>
  );
}

/** A label map as `key=value` chips. */
export function Labels(props: { labels: Record<string, string> }) {
  const entries = Object.entries(props.labels);
  if (entries.length === 0) return <span class="muted">—</span>;
  return (
    <>
      {entries.map(([key, value]) => (
        <span class="chip">
          {key}={value}
        </span>
      ))}
    </>
  );
}

/** A table's header row from its column titles. */
export function TableHead(props: { columns: string[] }) {
  return (
    <thead>
      <tr>
        {props.columns.map((column) => (
          <th>{column}</th>
        ))}
      </tr>
    </thead>
  );
}

/** A page's document: the doctype, then `page` rendered. */
export function documentOf(page: unknown): string {
  return `<!doctype html>${String(page)}`;
}
