import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { type RealServer, startRealServer } from '../server/real.js';

/** Shared set-up of the browser suites: a real server, headless Debian Chromium, an account, axe and screenshots. */

export const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts/browser');
export const PHONE = '+14155550134';
export const PASSWORD = 'a long and private passphrase 42';

export interface App {
  readonly server: RealServer;
  readonly browser: Browser;
  readonly context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

export async function openApp(
  executable: string,
  serverOptions: Parameters<typeof startRealServer>[1] = {},
): Promise<App> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const server = await startRealServer({}, serverOptions);
  const browser = await chromium.launch({
    executablePath: executable,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  return {
    server,
    browser,
    context,
    page,
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

/**
 * Creates the account from the sign-up form, saves the recovery kit it shows (ticks "I have saved it",
 * Continue) and waits for the timeline. Returns the recovery code.
 */
export async function signUp(page: Page, url: string, phone = PHONE): Promise<string> {
  await page.goto(url);
  const form = page.getByRole('form', { name: 'Create an account' });
  await form.getByLabel('Phone number').fill(phone);
  await form.getByLabel('Name (optional)').fill('Ana');
  await form.getByLabel('Choose a password').fill(PASSWORD);
  await form.getByRole('button', { name: 'Create account' }).click();
  return saveRecoveryKit(page);
}

/** On the recovery-kit page shown right after sign-up: reads the code, confirms it was saved, goes on. */
export async function saveRecoveryKit(page: Page): Promise<string> {
  await page.getByRole('heading', { name: 'Recovery kit', level: 1 }).waitFor();
  const code = (await page.getByTestId('recovery-code').textContent()) ?? '';
  await page.getByLabel('I have saved it').check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { name: 'Timeline', level: 1 }).waitFor();
  return code;
}

/** Writes memories through the capture form, one after another. */
export async function remember(page: Page, texts: readonly string[]): Promise<void> {
  for (const text of texts) {
    await page.getByLabel('What happened?').fill(text);
    await page.getByRole('button', { name: 'Remember' }).click();
    await page.waitForFunction(() => !(document.querySelector('main textarea') as HTMLTextAreaElement | null)?.value);
  }
}

/** Follows a link of the main nav. */
export const nav = (page: Page, name: string) =>
  page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/**
 * Runs axe-core (from node_modules, injected into the page: no network) on the current page and returns the
 * serious and critical violations.
 */
export async function axeSerious(page: Page): Promise<AxeViolation[]> {
  const loaded = await page.evaluate(() => typeof (window as unknown as { axe?: unknown }).axe === 'object');
  if (!loaded) await page.evaluate(AXE);
  return page.evaluate(async () => {
    type Violation = { id: string; impact: string | null; help: string; nodes: { target: string[] }[] };
    const axe = (
      window as unknown as { axe: { run: (ctx: Document, o: object) => Promise<{ violations: Violation[] }> } }
    ).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        targets: v.nodes.map((n) => n.target.join(' ')),
      }));
  });
}

/** The page at 1280×800 and 390×844 (full page), then the viewport as it was. */
export async function shotBoth(page: Page, name: string): Promise<void> {
  const before = page.viewportSize();
  for (const [width, height] of [
    [1280, 800],
    [390, 844],
  ] as const) {
    await page.setViewportSize({ width, height });
    await page.screenshot({ path: join(ARTIFACTS, `${name}-${width}.png`), fullPage: true });
  }
  if (before) await page.setViewportSize(before);
}
