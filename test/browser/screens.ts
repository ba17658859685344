/**
 * Before/after screenshots of the web app's main pages for a review of the UI (issue 13): a fresh account with a
 * handful of realistic memories, then the timeline, one memory page, a search and the settings (or, before there
 * was a Settings page, the Security page) at 1280×800 and 390×844. Run: `npx tsx test/browser/screens.ts before`.
 * Files: test-artifacts/screens/<label>-<page>-<width>.png.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { startRealServer } from '../server/real.js';
import { planBrowserSuite } from './chromium.js';
import { saveRecoveryKit } from './harness.js';

const label = process.argv[2] ?? 'after';
if (!/^[a-z0-9-]+$/.test(label)) throw new Error('The label is a lowercase word, e.g. before or after.');
const plan = planBrowserSuite(process.env);
if (plan.action !== 'run') {
  console.error(plan.action === 'skip' ? plan.line : plan.message);
  process.exit(plan.action === 'skip' ? 0 : 1);
}
const OUT = resolve(import.meta.dirname, '../../test-artifacts/screens');
mkdirSync(OUT, { recursive: true });

const MEMORIES = [
  'Yesterday I hiked to the lake with Sara and we saw two herons',
  'Dentist appointment next Tuesday at 10am on Baker Street',
  'My doctor says my blood pressure is too high and I should cut down on salt',
  'I prefer oat milk in my coffee',
  'The door code for the office is 4471',
  'Dinner with Tom at the Italian place on Friday was lovely',
];

async function both(page: Page, name: string): Promise<void> {
  for (const [width, height] of [
    [1280, 800],
    [390, 844],
  ] as const) {
    await page.setViewportSize({ width, height });
    await page.waitForTimeout(150);
    const file = join(OUT, `${label}-${name}-${width}.png`);
    await page.screenshot({ path: file, fullPage: true });
    console.log(file);
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

const server = await startRealServer();
const browser = await chromium.launch({
  executablePath: plan.executable,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-component-update'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(server.url);
  const form = page.getByRole('form', { name: 'Create an account' });
  await form.getByLabel('Phone number').fill('+14155550134');
  await form.getByLabel('Name (optional)').fill('Ana');
  await form.getByLabel('Choose a password').fill('a long and private passphrase 42');
  await form.getByRole('button', { name: 'Create account' }).click();
  await saveRecoveryKit(page);
  for (const text of MEMORIES) {
    await page.getByLabel('What happened?').fill(text);
    await page.getByRole('button', { name: 'Remember' }).click();
    await page.waitForFunction(() => !(document.querySelector('textarea') as HTMLTextAreaElement | null)?.value);
  }
  await page.getByRole('article').filter({ hasText: 'oat milk' }).waitFor();
  await both(page, 'timeline');

  await page
    .getByRole('link', { name: /hiked to the lake/ })
    .first()
    .click();
  await page.getByRole('heading', { name: 'Related memories' }).waitFor();
  await both(page, 'memory');

  await page.goto(`${server.url}/#/search?q=lake`);
  await page.locator('main ol.memories li, main .memories li').first().waitFor();
  await both(page, 'search');

  await page.goto(`${server.url}/#/settings`);
  await page.waitForTimeout(300);
  const hasSettings = await page.getByRole('heading', { name: 'Settings', level: 1 }).isVisible();
  if (!hasSettings) {
    await page.goto(`${server.url}/#/security`);
    await page.getByRole('heading', { name: 'Security', level: 1 }).waitFor();
  }
  await both(page, hasSettings ? 'settings' : 'settings-security');
} finally {
  await browser.close();
  await server.close();
}
