/**
 * Headless Chromium for browser tests: Debian's `chromium` (or `$CHROMIUM`), driven by puppeteer-core,
 * which never downloads a browser. Tests skip, saying why, when there is none (CI installs it).
 */
import { existsSync } from "node:fs";
import puppeteer, { type Browser } from "puppeteer-core";

/** The browser binary: `$CHROMIUM`, else the first of Debian's paths that exists, else null. */
export function chromiumPath(): string | null {
  const candidates = [process.env.CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"];
  return candidates.find((path): path is string => Boolean(path && existsSync(path))) ?? null;
}

/**
 * Starts headless Chromium with no network of its own (no background requests, no updates, no sync),
 * as root without the sandbox, in a fresh profile. Close it with `browser.close()`.
 */
export async function launchChromium(executablePath: string): Promise<Browser> {
  return await puppeteer.launch({
    executablePath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
}
