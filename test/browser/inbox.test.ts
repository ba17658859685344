import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserId } from '../../src/core/entry.js';
import { planBrowserSuite } from './chromium.js';
import { type App, axeSerious, nav, openApp, PHONE, remember, signUp } from './harness.js';

/** The Inbox page (issue 11): the getting-started checklist and in-app notifications, live over SSE. */

const plan = planBrowserSuite(process.env);
if (plan.action === 'fail') throw new Error(plan.message);
if (plan.action === 'skip') console.warn(plan.line);

describe.skipIf(plan.action !== 'run')('web app Inbox, in Chromium', () => {
  let app: App;
  const page = () => app.page;

  beforeAll(async () => {
    app = await openApp(plan.action === 'run' ? plan.executable : '');
  });
  afterAll(async () => {
    await app?.close();
  });

  it('shows the welcome and the checklist ticked by real steps, and a new alert arrives live', async () => {
    await signUp(page(), app.server.url);
    await remember(page(), ['Yesterday I hiked to the lake with Sara']);
    await nav(page(), 'Inbox');
    await page().getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
    await page().getByRole('heading', { name: 'Welcome to memvault' }).waitFor();
    expect(await page().locator('li[data-step="first_memory"]').getAttribute('class')).toBe('done');
    expect(await page().locator('li[data-step="two_factor"]').getAttribute('class')).toBe('todo');
    expect(await axeSerious(page())).toEqual([]);
    await app.server.mv.channels.alerts(PHONE as UserId, 'a recovery code was used');
    await page().getByRole('heading', { name: 'memvault security alert' }).waitFor();
    await page()
      .getByRole('link', { name: /Inbox, 2 unread/ })
      .waitFor();
    await page().getByRole('button', { name: 'Mark all read' }).click();
    await page().getByRole('link', { name: 'Inbox', exact: true }).waitFor();
    await page().getByRole('button', { name: 'Skip for now' }).click();
    await page().getByRole('button', { name: 'Show the getting-started steps' }).waitFor();
  }, 120_000);
});
