/**
 * Whether to write ANSI colours: only to a terminal, and never when `NO_COLOR` is set to anything
 * non-empty (https://no-color.org). The CLI and the demo both ask here.
 *
 * @example
 * ```ts
 * const bold = useColor(process.stdout) ? (s: string) => `\x1b[1m${s}\x1b[0m` : (s: string) => s;
 * ```
 */

/** True when `stream` is a terminal and `NO_COLOR` is unset or empty in `env`. */
export function useColor(
  stream: { isTTY?: boolean },
  env: Record<string, string | undefined> = process.env,
): boolean {
  return stream.isTTY === true && !env.NO_COLOR;
}

/** Wraps `text` in the ANSI `code` and a reset when `enabled`, else returns it as it is. */
export function paint(text: string, code: string, enabled: boolean): string {
  return enabled && code !== "" ? `${code}${text}\x1b[0m` : text;
}
