/**
 * `faultline probe URL`: one GET to a loopback URL, exit 0 on a 2xx answer and 1 otherwise. For a
 * container HEALTHCHECK without curl in the image (`faultline probe http://127.0.0.1:8080/livez`).
 */
import { parseArgs } from "node:util";
import { describeFetchError } from "../runtime/fetch-errors.ts";
import { EXIT } from "./exit-codes.ts";
import { type CommandIO, PROCESS_IO } from "./io.ts";
import { parseCommandArgs } from "./options.ts";

/** `faultline probe --help`. */
export const PROBE_USAGE = `Usage: faultline probe URL [--timeout SECONDS]

GET URL (on this machine only: localhost, 127.0.0.0/8 or [::1]) and exit 0 when it answers 2xx, 1
otherwise: a health check for containers without curl, e.g.
  HEALTHCHECK CMD ["faultline", "probe", "http://127.0.0.1:8080/livez"]

Options:
  --timeout SECONDS   give up after this long (default 5)
  -h, --help          show this help

Exit codes: 0 answered 2xx, 1 any other answer or none, 2 bad usage.`;

/** True for `localhost`, `127.x.y.z` and `[::1]`. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === "localhost" || host === "[::1]" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** `argv` is what follows `probe`; resolves to the exit code. */
export async function probeCommand(argv: string[], io: CommandIO = PROCESS_IO): Promise<number> {
  const parsed = parseCommandArgs("faultline probe:", PROBE_USAGE, io, () =>
    parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: { timeout: { type: "string" }, help: { type: "boolean", short: "h" } },
    }),
  );
  if (typeof parsed === "number") return parsed;
  const [target, ...extra] = parsed.positionals;
  const timeout = Number(parsed.values.timeout ?? "5");
  let url: URL | null = null;
  try {
    url = target === undefined ? null : new URL(target);
  } catch {
    // reported below
  }
  const problem =
    extra.length > 0
      ? `one URL only, got ${parsed.positionals.length}`
      : !url || !/^https?:$/.test(url.protocol)
        ? `URL must be an http:// or https:// URL, got ${JSON.stringify(target ?? "")}`
        : !isLoopbackHost(url.hostname)
          ? `URL must be on this machine (localhost, 127.0.0.0/8 or [::1]), got ${url.hostname}`
          : !(timeout > 0)
            ? `--timeout must be a number of seconds above 0, got ${parsed.values.timeout}`
            : null;
  if (problem || !url) {
    io.stderr(`faultline probe: ${problem}\n`);
    return EXIT.usage;
  }
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeout * 1000), redirect: "manual" });
    await response.body?.cancel();
    const line = `${url.href}: HTTP ${response.status}\n`;
    if (response.ok) {
      io.stdout(line);
      return EXIT.ok;
    }
    io.stderr(line);
    return EXIT.error;
  } catch (error) {
    io.stderr(`faultline probe: ${describeFetchError(error, url.href)}\n`);
    return EXIT.error;
  }
}
