import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as yauzl from 'yauzl';
import { planBrowserSuite } from './chromium.js';
import type { UserId } from '../../src/core/entry.js';
import { type App, axeSerious, nav, openApp, PASSWORD, PHONE, remember } from './harness.js';

/**
 * "Download my data", the recovery kit (printable page, "I have saved it", "Forgot your password?") and "Delete
 * my account" (issue 12), in headless Chromium against the real wiring.
 */

const plan = planBrowserSuite(process.env);
if (plan.action === 'fail') throw new Error(plan.message);
if (plan.action === 'skip') console.warn(plan.line);

const NEW_PASSWORD = 'a completely new passphrase 77';

async function zipNames(path: string): Promise<string[]> {
  const zip = await yauzl.fromBufferPromise(readFileSync(path), { lazyEntries: true });
  const names: string[] = [];
  for await (const entry of zip.eachEntry()) names.push(entry.fileName);
  zip.close();
  return names.sort();
}

describe.skipIf(plan.action !== 'run')('your data in the web app, in Chromium', () => {
  let app: App;
  const page = () => app.page;
  let code = '';
  let signUpCode = '';

  beforeAll(async () => {
    app = await openApp(plan.action === 'run' ? plan.executable : '');
  });
  afterAll(async () => {
    await app?.close();
  });

  it('sign-up makes the recovery kit and shows it once, right after the account is made', async () => {
    await page().goto(app.server.url);
    const form = page().getByRole('form', { name: 'Create an account' });
    await form.getByText(/Ultra-secret memories open only with your passkey/).waitFor();
    await form.getByText(/Right after the account is made you get a recovery code, shown once/).waitFor();
    await form.getByLabel('Phone number').fill(PHONE);
    await form.getByLabel('Choose a password').fill(PASSWORD);
    await form.getByRole('button', { name: 'Create account' }).click();
    // Not the timeline first: the printable kit page, within the sign-up.
    await page().getByRole('heading', { name: 'Recovery kit', level: 1 }).waitFor();
    await page().getByText('Your account is ready. Before you start, save your recovery code').waitFor();
    signUpCode = (await page().getByTestId('recovery-code').textContent()) ?? '';
    expect(signUpCode).toMatch(/^([0-9A-HJKMNP-TV-Z]{4}-){12}[0-9A-HJKMNP-TV-Z]{4}$/);
    await page().getByText('Ultra-secret memories open only with your passkey — this code never opens them.').waitFor();
    expect(await page().getByRole('button', { name: 'Print' }).isVisible()).toBe(true);
    // The code is in page memory only: not in the address, not in storage.
    expect(page().url()).not.toContain(signUpCode);
    expect(await page().evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }))).not.toContain(
      signUpCode,
    );
    const violations = await axeSerious(page());
    expect(violations, JSON.stringify(violations)).toEqual([]);
    const go = page().getByRole('button', { name: 'Continue' });
    expect(await go.isDisabled()).toBe(true);
    await page().getByLabel('I have saved it').check();
    await go.click();
    await page().getByRole('heading', { name: 'Timeline', level: 1 }).waitFor();
    // The server holds the kit (never the code), made within the sign-up.
    expect(await app.server.mv.recovery.status(PHONE as UserId)).toMatchObject({ exists: true, stale: false });
    await remember(page(), ['Went kayaking with Odette yesterday']);
  });

  it('Download my data gives a zip of the unlocked levels', async () => {
    await nav(page(), 'Settings');
    const section = page().locator('#settings-your-data');
    await section.getByRole('heading', { name: 'Your data' }).waitFor();
    const [download] = await Promise.all([
      page().waitForEvent('download'),
      section.getByRole('link', { name: 'Download as Markdown' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^memvault-export-14155550134-\d{4}-\d{2}-\d{2}\.zip$/);
    const path = await download.path();
    expect(await zipNames(path)).toEqual(
      ['CHRONOLOGICAL.md', 'CONFIDENTIAL.md', 'GENERAL.md', 'SECRET.md', 'ULTRASECRET.md', 'export.json'].sort(),
    );
    const text = readFileSync(path);
    expect(text.length).toBeGreaterThan(100);
  });

  it('a new kit from Settings replaces the sign-up one: a printable page shown once, Continue after "I have saved it"', async () => {
    const section = page().locator('#settings-your-data');
    await section.getByText(/You have a recovery kit, made/).waitFor();
    const form = page().getByRole('form', { name: 'Make a recovery kit' });
    await form.getByLabel('Your password').fill(PASSWORD);
    await form.getByRole('button', { name: 'Make a recovery kit' }).click();
    await page().getByRole('heading', { name: 'Recovery kit', level: 1 }).waitFor();
    code = (await page().getByTestId('recovery-code').textContent()) ?? '';
    expect(code).toMatch(/^([0-9A-HJKMNP-TV-Z]{4}-){12}[0-9A-HJKMNP-TV-Z]{4}$/);
    expect(code).not.toBe(signUpCode);
    const go = page().getByRole('button', { name: 'Continue' });
    expect(await go.isDisabled()).toBe(true);
    await page().getByLabel('I have saved it').check();
    await go.click();
    await page().getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    await page()
      .locator('#settings-your-data')
      .getByText(/You have a recovery kit, made/)
      .waitFor();
    // Shown once: coming back to the page does not show the code again.
    await page().goto(`${app.server.url}/#/recovery-kit`);
    await page()
      .getByText(/shown only once/)
      .waitFor();
    expect(await page().getByTestId('recovery-code').count()).toBe(0);
  });

  it('"Forgot your password?" sets a new one with the code; the old one stops working', async () => {
    await page().getByRole('button', { name: 'Sign out' }).click();
    await page().getByRole('heading', { name: 'Sign in' }).waitFor();
    await page().getByRole('link', { name: 'Forgot your password?' }).click();
    const form = page().getByRole('form', { name: 'Recover with the code' });
    await form.getByLabel('Phone number').fill(PHONE);
    // The sign-up kit was replaced: its code no longer works.
    await form.getByLabel('Recovery code').fill(signUpCode);
    await form.getByLabel('New password').fill(NEW_PASSWORD);
    await form.getByRole('button', { name: 'Set the new password' }).click();
    await form.getByRole('alert').waitFor();
    await form.getByLabel('Recovery code').fill(code.toLowerCase());
    await form.getByLabel('New password').fill(NEW_PASSWORD);
    await form.getByRole('button', { name: 'Set the new password' }).click();
    await page().getByRole('heading', { name: 'Sign in' }).waitFor();
    const signIn = page().getByRole('form', { name: 'Sign in' });
    await signIn.getByLabel('Phone number').fill(PHONE);
    await signIn.getByLabel('Password').fill(PASSWORD);
    await signIn.getByRole('button', { name: 'Sign in' }).click();
    await signIn.getByRole('alert').waitFor();
    await signIn.getByLabel('Password').fill(NEW_PASSWORD);
    await signIn.getByRole('button', { name: 'Sign in' }).click();
    await page().getByRole('heading', { name: 'Timeline', level: 1 }).waitFor();
  });

  it('Delete my account asks for the password and then erases everything', async () => {
    await nav(page(), 'Settings');
    const form = page().getByRole('form', { name: 'Delete my account' });
    await form.getByLabel('Your password').fill('not my password at all');
    await form.getByLabel('I understand that everything is erased for good').check();
    await form.getByRole('button', { name: 'Delete my account' }).click();
    await form.getByRole('alert').waitFor();
    await form.getByLabel('Your password').fill(NEW_PASSWORD);
    await form.getByRole('button', { name: 'Delete my account' }).click();
    await page().getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await app.server.mv.vault.listUsers()).toEqual([]);
    const signIn = page().getByRole('form', { name: 'Sign in' });
    await signIn.getByLabel('Phone number').fill(PHONE);
    await signIn.getByLabel('Password').fill(NEW_PASSWORD);
    await signIn.getByRole('button', { name: 'Sign in' }).click();
    await signIn.getByRole('alert').waitFor();
  });
});
