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

  it('the sign-in page has no serious accessibility problem', async () => {
    await page().goto(app.server.url);
    await page().getByRole('heading', { name: 'Sign in' }).waitFor();
    await expectAccessible('sign-in');
    await signUp(page(), app.server.url);
    await remember(page(), MEMORIES);
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
    await expect.poll(() => page().getByLabel('Name').inputValue()).toBe('Ana Lima');
    expect(await page().getByLabel('Time zone').inputValue()).toBe('Asia/Tokyo');
    await shotBoth(page(), 'p2-settings');
    await nav(page(), 'Timeline');
    // A German day heading ("Montag, 30. November 2026"), in Tokyo's calendar.
    const heading = (await page().locator('.day h2').first().textContent()) ?? '';
    const tokyo = new Date().toLocaleDateString('de-DE', {
      timeZone: 'Asia/Tokyo',
      weekday: 'long',
      year: 'numeric',
      month: 'long',
      day: 'numeric',
    });
    expect(heading).toBe(tokyo);
    await nav(page(), 'Settings');
    await page().getByLabel('Language and region for dates').selectOption('');
    await page().getByRole('button', { name: 'Save profile' }).click();
    await page().getByText('Profile saved.').waitFor();
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
});
