import { existsSync } from 'node:fs';

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/** What the browser suite does on this machine: run against a browser, skip with one line, or fail the run. */
export type BrowserSuitePlan =
  | { readonly action: 'run'; readonly executable: string }
  | { readonly action: 'skip'; readonly line: string }
  | { readonly action: 'fail'; readonly message: string };

/** `CI=false` and `CI=0` are how people switch a CI variable off; any other value means CI. */
export function isCi(env: Readonly<Record<string, string | undefined>>): boolean {
  const value = env.CI?.trim().toLowerCase();
  return value !== undefined && value !== '' && value !== 'false' && value !== '0';
}

/**
 * Decides the browser suite's fate. A fresh machine with only Node.js must still pass `npm test`, so a missing
 * browser skips the suite with one line saying how to get it; in CI a missing browser would silently drop the
 * only end-to-end check of the web app, so there it fails the run.
 */
export function planBrowserSuite(
  env: Readonly<Record<string, string | undefined>>,
  exists: (path: string) => boolean = existsSync,
): BrowserSuitePlan {
  const configured = env.MEMVAULT_CHROMIUM?.trim();
  const executable = configured || DEFAULT_CHROMIUM;
  if (exists(executable)) return { action: 'run', executable };
  const where = configured ? `MEMVAULT_CHROMIUM=${executable} does not exist` : `no Chromium at ${executable}`;
  if (isCi(env)) {
    return {
      action: 'fail',
      message: `Browser suite cannot run in CI: ${where}. Install it (apt-get install -y chromium) or point MEMVAULT_CHROMIUM at a Chromium binary.`,
    };
  }
  return {
    action: 'skip',
    line: `Browser suite skipped: ${where}. To run it: apt-get install -y chromium (or set MEMVAULT_CHROMIUM to a Chromium binary).`,
  };
}
