/**
 * Debian's Chromium for the tests that look at what a page renders: where it is, and how to start
 * it headless with nothing reaching out (no sync, no component updates, no QUIC, no first-run
 * work) and a fresh profile each time. playwright-core drives it; no browser is downloaded.
 */
import { accessSync, constants } from "node:fs";
import { chromium, type Browser } from "playwright-core";

/** Points the tests at another Chromium build than Debian's. */
export const CHROMIUM_ENV = "SPOT_MANAGER_CHROMIUM";
const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

/** Besides --headless, which playwright adds itself. */
export const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

const executable = (path: string) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** The Chromium binary to use, or where it was looked for. */
export function locateChromium(): { path?: string; searched: string[] } {
  const fromEnv = process.env[CHROMIUM_ENV];
  const searched = fromEnv ? [fromEnv] : CANDIDATES;
  return { ...(searched.find(executable) ? { path: searched.find(executable) as string } : {}), searched };
}

export function chromiumMissing(searched: string[]): string {
  return `Chromium not found (looked at ${searched.join(", ")}): the browser tests are skipped. Install Debian's package (apt-get install chromium) or set ${CHROMIUM_ENV} to a Chromium binary.`;
}

/** Starts headless Chromium (playwright gives it a fresh, throw-away profile). */
export async function launchChromium(path: string): Promise<Browser> {
  return chromium.launch({ executablePath: path, headless: true, args: CHROMIUM_FLAGS, timeout: 30_000 });
}
