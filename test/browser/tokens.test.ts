import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planBrowserSuite } from './chromium.js';
import { type App, axeSerious, nav, openApp, remember, signUp } from './harness.js';

/** Settings → Access tokens in headless Chromium against the real wiring (issue 15). */

const plan = planBrowserSuite(process.env);
if (plan.action === 'fail') throw new Error(plan.message);
if (plan.action === 'skip') console.warn(plan.line);

describe.skipIf(plan.action !== 'run')('Settings → Access tokens, in Chromium', () => {
  let app: App;
  beforeAll(async () => {
    app = await openApp(plan.action === 'run' ? plan.executable : '');
  });
  afterAll(async () => {
    await app?.close();
  });

  it('creates a level-2 token shown once, which then works on the API, and revokes it', async () => {
    const page = app.page;
    await signUp(page, app.server.url);
    await remember(page, ['My therapist appointment moved to Thursday']);
    await nav(page, 'Settings');
    const region = page.getByRole('region', { name: 'Access tokens' });
    await region.waitFor();
    expect(await region.textContent()).toContain('No tokens yet.');
    const form = page.getByRole('form', { name: 'Create an access token' });
    await form.getByLabel('Token name').fill('Claude Desktop');
    await form.getByLabel(/Also Confidential/).check();
    await form.getByRole('button', { name: 'Create token' }).click();
    const secret = page.locator('#new-token');
    await secret.waitFor();
    const token = (await secret.textContent()) ?? '';
    expect(token).toMatch(/^mvp_[A-Za-z0-9_-]{43}$/);
    await region.getByText('Levels 1–2').waitFor();
    expect(await region.locator('.token-list').textContent()).toContain('Claude Desktop');
    const violations = await axeSerious(page);
    expect(violations, JSON.stringify(violations)).toEqual([]);

    const read = () => fetch(`${app.server.url}/v1/memories`, { headers: { authorization: `Bearer ${token}` } });
    const ok = await read();
    expect(ok.status).toBe(200);
    expect(JSON.stringify(await ok.json())).toContain('therapist');

    await region.getByRole('button', { name: 'Revoke Claude Desktop' }).click();
    await expect.poll(async () => (await read()).status, { timeout: 20_000 }).toBe(401);
    await expect
      .poll(async () => (await region.locator('.token-list').textContent()) ?? '', { timeout: 20_000 })
      .not.toContain('Claude Desktop');
  }, 120_000);
});
