import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generate } from 'otplib';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeUserId } from '../../src/core/user-id.js';
import { checkPasswordPolicy, PASSWORD_MIN_LENGTH } from '../../src/security/passwords.js';
import { type RealServer, startRealServer } from '../server/real.js';
import { planBrowserSuite } from './chromium.js';
import { saveRecoveryKit } from './harness.js';

/**
 * The web app end to end in headless Chromium (Debian's package) against the real wiring: sign-up, capture and
 * classification, the timeline, search, unlocking SECRET with password + TOTP, and ULTRASECRET with a passkey
 * from Chromium's virtual authenticator (CDP WebAuthn domain). Screenshots go to test-artifacts/.
 */

const plan = planBrowserSuite(process.env);
if (plan.action === 'fail') throw new Error(plan.message);
if (plan.action === 'skip') console.warn(plan.line);
const CHROMIUM = plan.action === 'run' ? plan.executable : '';
const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts/browser');
const PHONE = '+14155550134';
const PASSWORD = 'a long and private passphrase 42';

const MEMORIES = {
  hike: 'Yesterday I hiked to the lake with Sara and we saw two herons',
  doctor: 'My doctor says my blood pressure is too high and I should cut down on salt',
  secret: 'My online banking password is Tr0ub4dor&3Horse',
  seed: 'My wallet seed phrase is abandon ability able about above absent absorb abstract absurd abuse access accident',
};

describe.skipIf(plan.action === 'skip')('web app in Chromium', () => {
  let server: RealServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let totpSecret = '';
  let lastTotpStep = 0;

  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  const mainText = () => page.locator('main').textContent();
  /** Follows a link of the main nav (pages link to each other too, e.g. Security to Settings). */
  const nav = (name: string) =>
    page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();
  /** The page at the two sizes the issue names, desktop 1280×800 and phone 390×844; the viewport is restored. */
  const shotBoth = async (name: string) => {
    const before = page.viewportSize();
    for (const [width, height] of [
      [1280, 800],
      [390, 844],
    ] as const) {
      await page.setViewportSize({ width, height });
      await page.screenshot({ path: join(ARTIFACTS, `${name}-${width}.png`), fullPage: true });
    }
    if (before) await page.setViewportSize(before);
  };

  /** A TOTP code for a step after the last one used: the server refuses a code twice (replay). */
  async function nextTotp(): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const step = Math.max(Math.floor(now / 30), lastTotpStep + 1);
    lastTotpStep = step;
    return generate({ secret: totpSecret, epoch: step * 30 });
  }

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    server = await startRealServer();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
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
    context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        hasPrf: true,
        automaticPresenceSimulation: true,
      },
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('signs up and lands on the timeline', async () => {
    await page.goto(server.url);
    await page.waitForURL(/#\/signin/);
    await shot('01-sign-in');
    // Signed out, there is nothing to sign out of: the link must not show (a display rule once beat `hidden`).
    expect(await page.getByRole('button', { name: 'Sign out' }).isVisible()).toBe(false);
    const form = page.getByRole('form', { name: 'Create an account' });
    await form.getByLabel('Phone number').fill(PHONE);
    await form.getByLabel('Name (optional)').fill('Ana');

    // One password rule: the hint, the field and the server's policy say the same thing about the same password.
    const choose = form.getByLabel('Choose a password');
    expect(await form.locator('.hint').allTextContents()).toContain(
      `At least ${PASSWORD_MIN_LENGTH} characters; it also encrypts your private levels.`,
    );
    expect(await choose.getAttribute('minlength')).toBe(String(PASSWORD_MIN_LENGTH));
    const fieldAccepts = async (password: string) => {
      await choose.fill(password);
      return choose.evaluate((input: HTMLInputElement) => input.checkValidity());
    };
    const serverAccepts = (password: string) => {
      try {
        checkPasswordPolicy(password);
        return true;
      } catch {
        return false;
      }
    };
    for (const length of [PASSWORD_MIN_LENGTH - 1, PASSWORD_MIN_LENGTH, 11, 12]) {
      const candidate = 'quiet ferns'.padEnd(length, 'x').slice(0, length);
      expect(await fieldAccepts(candidate), `${length} characters`).toBe(serverAccepts(candidate));
    }
    // A password the policy refuses is explained next to the field, which is marked invalid.
    await form.getByLabel('Phone number').fill(PHONE);
    await choose.fill('Password2024!');
    await form.getByRole('button', { name: 'Create account' }).click();
    await expect.poll(() => choose.getAttribute('aria-invalid')).toBe('true');
    const why = page.locator(`#${await choose.getAttribute('id')}-error`);
    expect(await why.textContent()).toMatch(/^This password is among the most common passwords/);
    expect(await choose.getAttribute('aria-describedby')).toContain(await why.getAttribute('id'));
    await form.getByLabel('Choose a password').fill(PASSWORD);
    await form.getByRole('button', { name: 'Create account' }).click();
    // The recovery kit made within the sign-up is shown first (test/browser/account.test.ts covers it).
    await saveRecoveryKit(page);
    await expect.poll(() => page.locator('#unlocked-levels').textContent()).toContain('L1 L2');
    // The session lives in an HttpOnly cookie the page's script cannot read.
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === 'mv_session')?.httpOnly).toBe(true);
    expect(await page.evaluate(() => document.cookie)).not.toContain('mv_session');
  });

  it('says in a sentence next to the field that a blank memory has nothing to remember', async () => {
    const text = page.getByLabel('What happened?');
    await text.fill('   \n  ');
    await page.getByRole('button', { name: 'Remember' }).click();
    await expect.poll(() => text.getAttribute('aria-invalid')).toBe('true');
    const capture = page.getByRole('form', { name: 'Capture a memory' });
    const alert = capture.getByRole('alert');
    expect(await alert.textContent()).toBe('Write something to remember.');
    expect(await text.getAttribute('aria-describedby')).toContain(await alert.getAttribute('id'));
    expect(await mainText()).not.toMatch(/Invalid body|text:/);
    await shotBoth('02a-blank-memory');
    // Typing again clears the mark.
    await text.fill('x');
    expect(await text.getAttribute('aria-invalid')).toBeNull();
    await text.fill('');
  });

  it('adds memories and shows them classified by day; locked levels are counted, never shown', async () => {
    for (const text of Object.values(MEMORIES)) {
      await page.getByLabel('What happened?').fill(text);
      await page.getByRole('button', { name: 'Remember' }).click();
      await expect.poll(() => page.getByLabel('What happened?').inputValue()).toBe('');
    }
    const hike = page.getByRole('article').filter({ hasText: 'hiked to the lake' });
    await hike.waitFor();
    await expect.poll(() => hike.textContent()).toMatch(/Chronological/);
    expect(await hike.textContent()).toContain('L1');
    const doctor = page.getByRole('article').filter({ hasText: 'blood pressure' });
    expect(await doctor.textContent()).toContain('L2');

    // Every badge explains itself, and one legend sets the five categories against the four levels.
    const badges = hike.locator('.badge');
    expect(await badges.nth(0).getAttribute('title')).toMatch(/^Chronological: what it is about .+ Kept at Level 1/);
    expect(await badges.nth(1).getAttribute('title')).toMatch(/^Level 1 · Standard: how strongly it is sealed/);
    await page.getByText('What the badges mean').click();
    const legend = page.getByRole('table', { name: 'Categories and the level each is kept at' });
    await legend.waitFor();
    expect(await legend.getByRole('row').count()).toBe(6);
    expect(await legend.textContent()).toMatch(/Secret.*L3 · Secret.*authenticator code/);
    await shotBoth('02b-legend');
    await page.getByText('What the badges mean').click();

    const text = await mainText();
    expect(text).toContain('2 memories are in a locked level');
    expect(text).not.toContain('Tr0ub4dor');
    expect(text).not.toContain('abandon ability');
    expect(await page.content()).not.toContain('Tr0ub4dor');
    await shot('02-timeline-locked');
  });

  it('searches with filters', async () => {
    await nav('Search');
    await page.getByLabel('Search your memories').fill('lake herons');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    const results = page.getByRole('region', { name: 'Results' });
    await results.getByText('hiked to the lake').waitFor();
    expect(await results.textContent()).toContain('Locked levels (L3, L4) were not searched');

    await page.getByLabel('Search your memories').fill('password');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await expect.poll(() => results.textContent()).toContain('were not searched');
    expect(await results.textContent()).not.toContain('Tr0ub4dor');

    await page.getByLabel('Search your memories').fill('salt');
    await page.getByRole('button', { name: 'Confidential', exact: true }).click();
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await results.getByText('blood pressure').waitFor();
    await shot('03-search');
  });

  it('sets up TOTP in Settings and unlocks SECRET with password + code in the one unlock form', async () => {
    await nav('Security');
    // Confidential is open since sign-up: the one form asks only for what the locked levels need.
    const unlock = page.getByRole('form', { name: 'Unlock' });
    await unlock.waitFor();
    expect(await unlock.getByLabel('Password').count()).toBe(1);
    expect(await page.locator('main input[type=password]').count()).toBe(1);
    // Before any authenticator is set up, the refusal says where to set one up, on a page that exists.
    await unlock.getByLabel('Password').fill(PASSWORD);
    await unlock.getByLabel('Authenticator code (optional)').fill('123456');
    await unlock.getByRole('button', { name: 'Unlock' }).click();
    const hint = unlock.getByRole('alert');
    await hint.waitFor();
    expect(await hint.textContent()).toContain('Settings → Two-step verification');
    await nav('Settings');
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    const qr = page.getByRole('img', { name: 'QR code to scan with your authenticator app' });
    await qr.waitFor();
    expect(await qr.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
    totpSecret = (await page.locator('#totp-secret').textContent()) ?? '';
    expect(totpSecret).toMatch(/^[A-Z2-7]{16,}$/);
    await shot('04-totp-setup');
    await page.getByLabel('Code from the app').fill(await nextTotp());
    await page.getByRole('button', { name: 'Confirm' }).click();
    // The toast comes first, then the page is drawn again: wait for the new page.
    await page.locator('p.ok', { hasText: 'Authenticator app set up.' }).waitFor();

    await nav('Security');
    const form = page.getByRole('form', { name: 'Unlock' });
    await form.getByLabel('Password').fill('not my password');
    await form.getByLabel('Authenticator code (optional)').fill('000000');
    await form.getByRole('button', { name: 'Unlock' }).click();
    await form.getByRole('alert').waitFor();

    await form.getByLabel('Password').fill(PASSWORD);
    await form.getByLabel('Authenticator code (optional)').fill(await nextTotp());
    await form.getByRole('button', { name: 'Unlock' }).click();
    await expect.poll(() => page.locator('#unlocked-levels').textContent()).toContain('L3');
    // Open levels get no form: only Ultra-secret is left, and no passkey yet, so the form says where to add one.
    await expect.poll(() => page.getByLabel('Authenticator code (optional)').count()).toBe(0);
    expect(await mainText()).toContain('Register a passkey in Settings to open Ultra-secret.');

    await nav('Timeline');
    await page.getByText('Tr0ub4dor').waitFor();
    const secret = page.getByRole('article').filter({ hasText: 'Tr0ub4dor' });
    expect(await secret.textContent()).toContain('L3');
    expect(await mainText()).toContain('1 memory is in a locked level');
    expect(await mainText()).not.toContain('abandon ability');
    await shot('05-secret-unlocked');
  });

  it('registers a passkey in Settings with the virtual authenticator and opens ULTRASECRET with it', async () => {
    await nav('Settings');
    const register = page.getByRole('region', { name: 'Passkeys' });
    await register.getByLabel('Password').fill(PASSWORD);
    await register.getByRole('button', { name: 'Register a passkey' }).click();
    await page.getByText('1 passkey registered.').waitFor();

    await nav('Security');
    const form = page.getByRole('form', { name: 'Unlock' });
    await form.getByLabel('Password').fill(PASSWORD);
    await form.getByLabel('Also open Ultra-secret with my passkey').check();
    await form.getByRole('button', { name: 'Unlock' }).click();
    await expect.poll(() => page.locator('#unlocked-levels').textContent()).toContain('L4');
    await page.getByText('Every level is open.').waitFor();
    await shot('06-passkey-unlocked');

    await nav('Timeline');
    await page.getByText('abandon ability').waitFor();
    expect(await page.getByRole('article').filter({ hasText: 'abandon ability' }).textContent()).toContain('L4');
    expect(await mainText()).not.toContain('locked level');
    await shot('07-all-unlocked');
  });

  it('opens a memory, changes its category and deletes it', async () => {
    await page.getByRole('link', { name: /hiked to the lake/ }).click();
    // The page's title is the memory's own first words, not its category.
    await page.getByRole('heading', { name: /^Yesterday I hiked to the lake/, level: 1 }).waitFor();
    await page.getByLabel('Category', { exact: true }).selectOption('GENERAL');
    await page.getByRole('button', { name: 'Change category' }).click();
    await page.locator('.memory-page .badge.cat', { hasText: 'General' }).waitFor();
    // "Why this category" now says the person moved it, and when, not the classifier's old reasoning first.
    const why = page.locator('dt:has-text("Why this category") + dd');
    expect(await why.textContent()).toMatch(/^You moved it from Chronological to General on .+\./);
    expect(await why.locator('time').getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT.+Z$/);
    expect(await why.textContent()).not.toMatch(/confidence/);
    await page.getByRole('heading', { name: 'Related memories' }).waitFor();
    await shot('08-memory');
    await shotBoth('08-memory-corrected');
    expect(await page.getByRole('link', { name: '← Back to the timeline' }).getAttribute('href')).toBe('#/');
    // Delete stands apart from the category form.
    const formBottom = await page
      .getByRole('form', { name: 'Change the category' })
      .evaluate((f) => f.getBoundingClientRect().bottom);
    const deleteTop = await page
      .getByRole('button', { name: 'Delete…' })
      .evaluate((b) => b.getBoundingClientRect().top);
    expect(deleteTop - formBottom).toBeGreaterThanOrEqual(16);
    await page.getByRole('button', { name: 'Delete…' }).click();
    await page.getByRole('button', { name: 'Yes, delete it' }).click();
    await page.getByRole('heading', { name: 'Timeline', level: 1 }).waitFor();
    await expect.poll(mainText).not.toContain('hiked to the lake');
  });

  it('locks again, shows a locked memory as locked, and lists the audit log', async () => {
    await nav('Timeline');
    const secretLink = page.getByRole('link', { name: /Tr0ub4dor/ });
    const href = await secretLink.getAttribute('href');
    // Opened while unlocked: a read of a sealed level, which the audit log must show.
    await secretLink.click();
    await page.getByRole('heading', { name: MEMORIES.secret, level: 1 }).waitFor();
    await nav('Security');
    await page.getByRole('button', { name: 'Lock all levels above 1' }).click();
    await expect.poll(() => page.locator('#unlocked-levels').textContent()).toBe('Unlocked: L1');
    await page.goto(`${server.url}/${href}`);
    await page.getByRole('heading', { name: 'Locked memory' }).waitFor();
    expect(await page.content()).not.toContain('Tr0ub4dor');
    await shot('09-locked-memory');

    await nav('Audit log');
    const table = page.getByRole('table');
    await table.waitFor();
    const text = await table.textContent();
    expect(text).toMatch(/sign/i);
    expect(text).toMatch(/unlock/i);
    expect(text).not.toContain(PASSWORD);
    // Every access the caption promises is there, in words a person reads: no snake_case, no bare risk number.
    expect(text).toContain('Unlocked Level 3 · Secret');
    expect(text).toContain('Opened a memory in Level 3 · Secret');
    expect(text).toContain('Searched your memories');
    expect(text).toContain('Moved a memory to another category');
    expect(text).toContain('Moved a memory from Level 1 · Standard to the trash');
    expect(text).toContain('Tried to unlock Level 3 · SecretFailed: wrong password, code or passkey');
    expect(text).not.toMatch(/\b[a-z]+_[a-z_]+\b/);
    expect(text).not.toMatch(/\b0\.\d\d\b/);
    // Searches are recorded without their words.
    expect(text).not.toContain('lake herons');
    expect(text).not.toContain('salt');
    await shot('10-audit');
    await shotBoth('10-audit');
    // At phone width no column is clipped: neither the page nor the table's box scrolls sideways.
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const wrap = page.locator('.table-wrap').first();
    expect(await wrap.evaluate((el) => el.scrollWidth - el.clientWidth)).toBeLessThanOrEqual(0);
    await page.setViewportSize({ width: 1200, height: 900 });
  });

  it('is usable from the keyboard: skip link, labelled controls, visible focus', async () => {
    // A fresh load: the first Tab stop is the skip link, and it moves focus to <main>.
    page = await context.newPage();
    await page.goto(`${server.url}/#/`);
    await page.getByRole('heading', { name: 'Timeline', level: 1 }).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('main');
    await page.keyboard.press('Tab');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement as Element).outlineStyle);
    expect(outline).not.toBe('none');
    const unlabelled = await page.evaluate(
      () =>
        Array.from(document.querySelectorAll('input, textarea, select')).filter(
          (el) => !(el as HTMLInputElement).labels?.length && !el.getAttribute('aria-label'),
        ).length,
    );
    expect(unlabelled).toBe(0);
    await page.setViewportSize({ width: 390, height: 844 });
    // At phone width the four nav links stay on one row (they once wrapped "Audit log" to a second one).
    const tops = await page
      .locator('#nav a')
      .evaluateAll((links) => links.map((a) => Math.round(a.getBoundingClientRect().top)));
    expect(new Set(tops).size).toBe(1);
    await shot('11-mobile');
  });
  it('returns to sign-in when the session ends, and signs out', async () => {
    const cookies = await context.cookies();
    await context.clearCookies();
    await nav('Audit log');
    await page.waitForURL(/#\/signin/);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();

    await context.addCookies(cookies);
    await page.goto(`${server.url}/#/`);
    await page.reload();
    await page.getByRole('heading', { name: 'Timeline', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/#\/signin/);
    expect((await context.cookies()).some((c) => c.name === 'mv_session')).toBe(false);
    await page.goto(`${server.url}/#/audit`);
    await page.waitForURL(/#\/signin/);
  });

  it('signs out everywhere from Settings: this browser and every other session end', async () => {
    const form = page.getByRole('form', { name: 'Sign in' });
    await form.getByLabel('Phone number').fill(PHONE);
    await form.getByLabel('Password').fill(PASSWORD);
    await form.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Timeline', level: 1 }).waitFor();
    // Another device: an API session opened elsewhere.
    const elsewhere = await server.mv.auth.signIn(normalizeUserId(PHONE), PASSWORD, {
      ip: '198.51.100.7',
      channel: 'api',
    });
    await nav('Settings');
    await page.getByRole('button', { name: 'Sign out everywhere' }).click();
    await page.waitForURL(/#\/signin/);
    await expect(server.mv.auth.resolve(elsewhere.token, {})).rejects.toMatchObject({
      reason: 'authentication_failed',
    });
    await page.goto(`${server.url}/#/audit`);
    await page.waitForURL(/#\/signin/);
  });
});
