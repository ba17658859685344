import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planBrowserSuite } from './chromium.js';
import { type App, axeSerious, nav, openApp, PASSWORD, remember, shotBoth, signUp } from './harness.js';

/**
 * The web app's second pass (issue 13) in headless Chromium against the real wiring: Settings, the one unlock
 * form, sealed cards, event dates, tag filters, search as you type, progress feedback, offline capture, and an
 * axe-core check of every page.
 */

const plan = planBrowserSuite(process.env);
if (plan.action === 'fail') throw new Error(plan.message);
if (plan.action === 'skip') console.warn(plan.line);

const MEMORIES = [
  'Yesterday I hiked to the lake with Sara and we saw two herons',
  'Dentist appointment next Tuesday at 10am',
  'My doctor says my blood pressure is too high and I should cut down on salt',
  'I prefer oat milk in my coffee',
  'The door code for the office is 4471',
];

describe.skipIf(plan.action !== 'run')('web app, second pass, in Chromium', () => {
  let app: App;
  const page = () => app.page;
  const mainText = async () => (await page().locator('main').textContent()) ?? '';
  /** When the memories were written: their day heading is the day of that moment, which may be before now. */
  const written = { from: 0, to: 0 };
  const expectAccessible = async (name: string) => {
    const violations = await axeSerious(page());
    expect(violations, `${name}: ${JSON.stringify(violations, null, 1)}`).toEqual([]);
  };

  beforeAll(async () => {
    app = await openApp(plan.action === 'run' ? plan.executable : '');
  });
  afterAll(async () => {
    await app?.close();
  });

  it('the sign-in page and the timeline have no serious accessibility problem', async () => {
    await page().goto(app.server.url);
    await page().getByRole('heading', { name: 'Sign in' }).waitFor();
    await expectAccessible('sign-in');
    // The check can fail: an unlabelled field is a critical violation it reports.
    await page().evaluate(() => document.querySelector('main')?.append(document.createElement('input')));
    expect((await axeSerious(page())).map((v) => v.id)).toContain('label');
    await page().evaluate(() => document.querySelector('main > input')?.remove());
    await signUp(page(), app.server.url);
    written.from = Date.now();
    await remember(page(), MEMORIES);
    written.to = Date.now();
    await expectAccessible('timeline');
  });

  it('Settings: changes name, time zone and language; dates follow them', async () => {
    await nav(page(), 'Settings');
    await page().getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    for (const title of ['Profile', 'Password', 'Two-step verification', 'Passkeys', 'Sessions']) {
      await page().getByRole('region', { name: title }).waitFor();
    }
    await expectAccessible('settings');
    const profile = page().getByRole('form', { name: 'Profile' });
    await profile.getByLabel('Time zone').fill('Mars/Olympus');
    await profile.getByRole('button', { name: 'Save profile' }).click();
    // The server's refusal sits next to the field, which is marked invalid.
    await page().locator('[name=timezone][aria-invalid=true]').waitFor();
    expect(await mainText()).toContain('Unknown time zone');
    await profile.getByLabel('Name').fill('Ana Lima');
    await profile.getByLabel('Time zone').fill('Asia/Tokyo');
    await profile.getByLabel('Language and region for dates').selectOption('de-DE');
    await profile.getByRole('button', { name: 'Save profile' }).click();
    await expect.poll(() => profile.getByLabel('Name', { exact: true }).inputValue()).toBe('Ana Lima');
    expect(await profile.getByLabel('Time zone').inputValue()).toBe('Asia/Tokyo');
    await shotBoth(page(), 'p2-settings');
    await nav(page(), 'Timeline');
    // A German day heading ("Montag, 30. November 2026"), in Tokyo's calendar.
    const heading = (await page().locator('.day h2').first().textContent()) ?? '';
    const tokyo = (at: number) =>
      new Date(at).toLocaleDateString('de-DE', {
        timeZone: 'Asia/Tokyo',
        weekday: 'long',
        year: 'numeric',
        month: 'long',
        day: 'numeric',
      });
    // The day the memories were written, not "today": midnight in Tokyo may have passed since.
    expect([tokyo(written.from), tokyo(written.to)]).toContain(heading);
    await nav(page(), 'Settings');
    await page().getByLabel('Language and region for dates').selectOption('');
    // Saving draws the page again: wait for the old form to go, not for a toast an earlier save may have left.
    const before = await page().getByRole('form', { name: 'Profile' }).elementHandle();
    await page().getByRole('button', { name: 'Save profile' }).click();
    await before?.waitForElementState('hidden');
    expect(await page().getByLabel('Language and region for dates').inputValue()).toBe('');
  });

  it('Settings: changes the password, which signs out, and the new one signs in', async () => {
    const form = page().getByRole('form', { name: 'Change the password' });
    await form.getByLabel('Current password').fill('not my password');
    await form.getByLabel('New password').fill('another quiet passphrase 77');
    await form.getByRole('button', { name: 'Change password' }).click();
    await form.getByRole('alert').first().waitFor();
    // A wrong current password is an answer, not the end of the session.
    expect(page().url()).toContain('#/settings');
    await form.getByLabel('Current password').fill(PASSWORD);
    await form.getByRole('button', { name: 'Change password' }).click();
    await page().waitForURL(/#\/signin/);
    const signIn = page().getByRole('form', { name: 'Sign in' });
    await signIn.getByLabel('Phone number').fill('+14155550134');
    await signIn.getByLabel('Password').fill('another quiet passphrase 77');
    await signIn.getByRole('button', { name: 'Sign in' }).click();
    await page().getByRole('heading', { name: 'Timeline', level: 1 }).waitFor();
  });

  it('shows locked memories in their place as sealed cards, never their content', async () => {
    await nav(page(), 'Timeline');
    const sealed = page().locator('li.memory.sealed');
    await sealed.first().waitFor();
    // The door code is SECRET (Level 3), locked: a card with its time, category and a lock, and no words of it.
    const card = sealed.filter({ hasText: 'Secret' });
    expect(await card.count()).toBe(1);
    expect(await card.locator('time').getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await card.locator('img.lock-icon').count()).toBeGreaterThan(0);
    expect(await card.textContent()).toContain('Sealed.');
    expect(await page().content()).not.toContain('4471');
    expect(await card.getByRole('link', { name: 'Unlock Secret' }).getAttribute('href')).toBe('#/security');
    await shotBoth(page(), 'p2-timeline-sealed');
  });

  it('shows event dates on cards and upcoming events in their own section', async () => {
    const coming = page().getByRole('region', { name: 'Coming up' });
    await coming.waitFor();
    const dentist = coming.getByRole('article').filter({ hasText: 'Dentist appointment' });
    expect(await dentist.locator('time.event-date').textContent()).toMatch(/^Happens /);
    expect(Date.parse((await dentist.locator('time.event-date').getAttribute('datetime')) ?? '')).toBeGreaterThan(
      Date.now(),
    );
    // It is not repeated under the day it was written.
    expect(await page().locator('.day').getByText('Dentist appointment').count()).toBe(0);
    const hike = page().locator('.day').getByRole('article').filter({ hasText: 'hiked to the lake' });
    expect(await hike.locator('time.event-date').textContent()).toMatch(/^Happened /);
  });

  it('makes tags filters, shown as a chip that removes itself', async () => {
    const hike = page().getByRole('article').filter({ hasText: 'hiked to the lake' });
    const tag = hike.getByRole('link', { name: /^#/ }).first();
    const name = ((await tag.textContent()) ?? '').slice(1);
    expect(name).not.toMatch(/^(place|street|minute)$/);
    await tag.click();
    await page().waitForURL(new RegExp(`#/\\?tag=${encodeURIComponent(name)}$`));
    const chip = page().getByRole('list', { name: 'Active filters' }).getByRole('listitem');
    await expect.poll(() => chip.textContent()).toContain(`Tag: #${name}`);
    await expect.poll(() => page().getByRole('article').count()).toBeGreaterThan(0);
    for (const text of await page().locator('main article').allTextContents()) expect(text).toContain(`#${name}`);
    expect(await mainText()).not.toContain('oat milk');
    await expectAccessible('timeline filtered');
    await chip.getByRole('button', { name: `Remove filter Tag: #${name}` }).click();
    await page().waitForURL(/#\/$/);
    await page().getByText('oat milk').waitFor();
  });

  it('searches as you type, highlights matches, keeps recent searches and filters by chips', async () => {
    await nav(page(), 'Search');
    const box = page().getByLabel('Search your memories');
    await box.pressSequentially('herons', { delay: 30 });
    const results = page().getByRole('region', { name: 'Results' });
    // No button pressed: the results follow the typing.
    await results.getByText('hiked to the lake').waitFor();
    expect(await results.locator('mark').first().textContent()).toMatch(/heron/i);
    expect(page().url()).toContain('#/search?q=herons');
    const recent = page().getByRole('list', { name: 'Recent searches' });
    await recent.getByRole('button', { name: 'herons' }).waitFor();
    await expectAccessible('search');
    await shotBoth(page(), 'p2-search');

    await box.fill('salt');
    await results.getByText('blood pressure').waitFor();
    const general = page().getByRole('button', { name: 'General', exact: true });
    await general.click();
    expect(await general.getAttribute('aria-pressed')).toBe('true');
    await page().getByRole('list', { name: 'Active filters' }).getByText('Category: General').waitFor();
    await expect.poll(() => results.textContent()).toContain('0 results');
    await page().getByRole('button', { name: 'Remove filter Category: General' }).click();
    await results.getByText('blood pressure').waitFor();
    expect(await general.getAttribute('aria-pressed')).toBe('false');

    // Recent searches survive a reload, run with one click, and can be cleared.
    await page().goto(`${app.server.url}/#/search`);
    await recent.getByRole('button', { name: 'herons' }).click();
    await results.getByText('hiked to the lake').waitFor();
    await page().getByRole('button', { name: 'Clear recent searches' }).click();
    expect(await recent.count()).toBe(0);
  });

  it('titles a memory page by its words and confirms a move to a less protected level', async () => {
    await nav(page(), 'Timeline');
    await page()
      .getByRole('link', { name: /blood pressure/ })
      .first()
      .click();
    await page()
      .getByRole('heading', { name: /^My doctor says my blood pressure is too high/, level: 1 })
      .waitFor();
    expect(await page().getByRole('link', { name: '← Back to the timeline' }).count()).toBe(1);
    await expectAccessible('memory');
    await page().getByLabel('Category', { exact: true }).selectOption('GENERAL');
    await page().getByRole('button', { name: 'Change category' }).click();
    const confirm = page().getByRole('group', { name: 'Confirm the move' });
    await confirm.waitFor();
    expect(await confirm.textContent()).toContain(
      'This moves it from Level 2 · Confidential to Level 1 · Standard. It will be readable whenever you are signed in, not only with your password.',
    );
    await expectAccessible('memory confirm');
    await shotBoth(page(), 'p2-memory-confirm');
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    expect(await confirm.isVisible()).toBe(false);
    expect(await page().getByLabel('Category', { exact: true }).inputValue()).toBe('CONFIDENTIAL');
    // Nothing moved.
    await page().reload();
    await page().locator('.memory-page .badge.cat', { hasText: 'Confidential' }).waitFor();

    await page().getByLabel('Category', { exact: true }).selectOption('GENERAL');
    await page().getByRole('button', { name: 'Change category' }).click();
    await page().getByRole('button', { name: 'Yes, move it to General' }).click();
    await page().locator('.memory-page .badge.cat', { hasText: 'General' }).waitFor();
    // The toast offers Undo, which puts it back.
    await page().locator('#toast').getByRole('button', { name: 'Undo' }).click();
    await page().locator('.memory-page .badge.cat', { hasText: 'Confidential' }).waitFor();
    await page().locator('#toast', { hasText: 'Moved back to Confidential.' }).waitFor();
    // A move up needs no confirmation.
    await page().getByLabel('Category', { exact: true }).selectOption('GENERAL');
    await page().getByRole('button', { name: 'Change category' }).click();
    await page().getByRole('button', { name: 'Yes, move it to General' }).click();
    await page().locator('.memory-page .badge.cat', { hasText: 'General' }).waitFor();
    await page().getByLabel('Category', { exact: true }).selectOption('CONFIDENTIAL');
    await page().getByRole('button', { name: 'Change category' }).click();
    await page().locator('.memory-page .badge.cat', { hasText: 'Confidential' }).waitFor();
    expect(await page().getByRole('group', { name: 'Confirm the move' }).isVisible()).toBe(false);
  });

  it('shows a spinner on a busy button, a skeleton while a page loads, and keeps a hovered toast', async () => {
    // Requests a service worker handles never reach page.route: this test holds requests in a context without one.
    const context = await app.browser.newContext({ serviceWorkers: 'block', viewport: { width: 1280, height: 800 } });
    const p = await context.newPage();
    const page = () => p;
    await p.goto(app.server.url);
    const signIn = p.getByRole('form', { name: 'Sign in' });
    await signIn.getByLabel('Phone number').fill('+14155550134');
    await signIn.getByLabel('Password').fill('another quiet passphrase 77');
    await signIn.getByRole('button', { name: 'Sign in' }).click();
    await page().getByLabel('What happened?').waitFor();
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    await page().route('**/v1/memories', async (route) => {
      if (route.request().method() === 'POST') await held;
      await route.continue();
    });
    await page().getByLabel('What happened?').fill('I bought fresh basil at the market');
    const remember = page().getByRole('button', { name: 'Remember' });
    await remember.click();
    await expect.poll(() => remember.getAttribute('aria-busy')).toBe('true');
    expect(await remember.evaluate((b) => getComputedStyle(b, '::after').animationName)).toBe('spin');
    expect(await remember.isDisabled()).toBe(true);
    release();
    await expect.poll(() => remember.getAttribute('aria-busy')).toBeNull();
    await page().unroute('**/v1/memories');

    // The toast the capture raised stays while the pointer rests on it, then goes.
    const toast = page().locator('#toast');
    await expect.poll(() => toast.getAttribute('class')).toContain('show');
    await toast.hover();
    await page().waitForTimeout(5600);
    expect(await toast.getAttribute('class')).toContain('show');
    await page().mouse.move(5, 5);
    await expect.poll(() => toast.getAttribute('class'), { timeout: 8000 }).not.toContain('show');

    // A slow page shows its shape first.
    let releaseList = () => {};
    const listHeld = new Promise<void>((resolve) => {
      releaseList = resolve;
    });
    await page().route('**/v1/audit*', async (route) => {
      await listHeld;
      await route.continue();
    });
    await nav(page(), 'Audit log');
    await page().locator('main .skeleton').waitFor();
    expect(await page().locator('main').getAttribute('aria-busy')).toBe('true');
    releaseList();
    await page().getByRole('table').waitFor();
    expect(await page().locator('main .skeleton').count()).toBe(0);
    await page().unroute('**/v1/audit*');
    await context.close();
  });

  it('every page passes axe-core without serious or critical violations, at both sizes', async () => {
    for (const name of ['Timeline', 'Search', 'Security', 'Settings', 'Audit log']) {
      await nav(page(), name);
      await page()
        .getByRole('heading', { name: name === 'Timeline' ? 'Timeline' : name, level: 1 })
        .waitFor();
      await expectAccessible(name);
      await page().setViewportSize({ width: 390, height: 844 });
      await expectAccessible(`${name} at 390 px`);
      expect(await page().evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await page().setViewportSize({ width: 1280, height: 800 });
    }
    // At 390 px the nav stays one row, however many pages register links.
    await page().setViewportSize({ width: 390, height: 844 });
    const tops = await page()
      .locator('#nav a')
      .evaluateAll((links) => links.map((a) => Math.round(a.getBoundingClientRect().top)));
    expect(new Set(tops).size).toBe(1);
    // The current page's link is scrolled into sight even when the row is wider than the screen.
    const current = page().locator('#nav a[aria-current=page]');
    await nav(page(), 'Settings');
    await expect.poll(() => current.textContent()).toBe('Settings');
    const box = await current.evaluate((a) => {
      const r = a.getBoundingClientRect();
      return { left: r.left, right: r.right };
    });
    expect(box.left).toBeGreaterThanOrEqual(0);
    expect(box.right).toBeLessThanOrEqual(390);
    await page().setViewportSize({ width: 1280, height: 800 });
  });

  it('is installable, and captures made offline are queued by the service worker and sent when back online', async () => {
    // A fresh document: going from "#/settings" to "#/" is a same-document navigation, and once (CI, 2026-11-30)
    // the page kept showing Settings for 90 s after it.
    await page().goto('about:blank');
    await page().goto(`${app.server.url}/#/`);
    // Signed out here (run alone there is no account yet; after the password test the session may be gone): sign
    // up a person of its own, so it never depends on what the earlier tests left behind.
    // (Ask about the sign-in heading, not the timeline's: the timeline redraws its heading as it loads.)
    const timeline = page().getByRole('heading', { name: 'Timeline', level: 1 });
    const signIn = page().getByRole('heading', { name: 'Sign in' });
    // Under a full suite on 2 cores the timeline's first load can take long (the server runs in this test's own
    // process); wait for it, and if it never comes, say what the page shows instead of only timing out.
    const shown = await timeline
      .or(signIn)
      .first()
      .waitFor({ timeout: 90_000 })
      .then(
        () => true,
        () => false,
      );
    if (!shown) {
      await shotBoth(page(), 'p2-offline-not-loaded');
      const body = ((await page().locator('body').textContent()) ?? '').slice(0, 400);
      throw new Error(`Neither the timeline nor the sign-in page appeared at ${page().url()}; the page shows: ${body}`);
    }
    if (await signIn.isVisible()) await signUp(page(), app.server.url, '+14155550177');
    await timeline.waitFor();
    const manifestHref = await page().locator('link[rel=manifest]').getAttribute('href');
    const manifest = await (await fetch(`${app.server.url}${manifestHref}`)).json();
    expect(manifest).toMatchObject({ name: 'memvault', display: 'standalone', start_url: '/#/' });
    for (const icon of manifest.icons as { src: string; type: string }[]) {
      const res = await fetch(`${app.server.url}${icon.src}`);
      expect(res.status, icon.src).toBe(200);
      expect(res.headers.get('content-type')).toBe(icon.type);
    }
    expect(manifest.icons.map((i: { sizes: string }) => i.sizes)).toEqual(
      expect.arrayContaining(['192x192', '512x512']),
    );
    // The worker controls the page (it claims it on activation).
    await page().waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 20_000 });

    await app.context.setOffline(true);
    const text = 'Offline note: the plumber comes on Thursday morning';
    await page().getByLabel('What happened?').fill(text);
    await page().getByRole('button', { name: 'Remember' }).click();
    await page().locator('#toast', { hasText: 'You are offline: saved on this device' }).waitFor();
    expect(await page().getByLabel('What happened?').inputValue()).toBe('');
    // Nothing reached the server while offline.
    expect(await page().evaluate(() => navigator.onLine)).toBe(false);
    await shotBoth(page(), 'p2-offline-queued');

    await app.context.setOffline(false);
    await page().locator('#toast', { hasText: 'Back online: 1 memory written offline was saved.' }).waitFor();
    await page().getByRole('article').filter({ hasText: 'the plumber comes on Thursday' }).first().waitFor();
    // Sent once: a second flush finds nothing left.
    const res = await page().evaluate(() => fetch('/v1/memories?limit=200').then((r) => r.json()));
    expect(res.memories.filter((m: { content: string }) => m.content === text)).toHaveLength(1);
  }, 180_000);
});
