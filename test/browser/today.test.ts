import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserId } from '../../src/core/entry.js';
import { localParts } from '../../src/core/local-day.js';
import { normalizeUserId } from '../../src/core/user-id.js';
import { planBrowserSuite } from './chromium.js';
import { type App, axeSerious, nav, openApp, PHONE, remember, shotBoth, signUp } from './harness.js';

/**
 * The Today page (issue 10) in headless Chromium against the real wiring: the digest, coming up, on this day,
 * the mood chart, people and places; related memories with their reasons on the memory page; and Settings →
 * What an LLM may see.
 */

const plan = planBrowserSuite(process.env);
if (plan.action === 'fail') throw new Error(plan.message);
if (plan.action === 'skip') console.warn(plan.line);

describe.skipIf(plan.action !== 'run')('the Today page in Chromium', () => {
  let app: App;
  let userId: UserId;
  const page = () => app.page;
  const mainText = async () => (await page().locator('main').textContent()) ?? '';

  beforeAll(async () => {
    app = await openApp(plan.action === 'run' ? plan.executable : '');
    await signUp(page(), app.server.url);
    await remember(page(), [
      'Brunch with Nadia at Blue Bottle this morning, we laughed so much',
      'Walk with Nadia at Belem, a lovely evening',
      'Dentist tomorrow at 3pm',
    ]);
    userId = normalizeUserId(PHONE) as UserId;
    const mv = app.server.mv;
    // A memory from a year ago today, filed by the person (the server's own session holds level 1).
    const yearAgo = new Date(Date.now() - 365 * 86_400_000);
    const principal = { userId, opener: await mv.auth.channelOpener(userId), meta: { channel: 'api' as const } };
    await mv.memory.remember(principal, 'Hiked up to the castle in Sintra with Nadia, beautiful views', {
      channel: 'api',
      at: yearAgo,
      category: 'CHRONOLOGICAL',
    });
    const tz = (await mv.vault.getProfile(userId)).timezone;
    // Today's memories processed as the night would (patterns, connections, the mood chart).
    await mv.insights.processDay(userId, localParts(new Date(), tz).day);
  }, 120_000);

  afterAll(async () => {
    await app?.close();
  });

  it('shows the digest, what is coming up, on this day, the mood chart, people and places', async () => {
    await nav(page(), 'Today');
    await page().getByRole('heading', { name: 'Today', level: 1 }).waitFor();
    await page().getByRole('region', { name: 'Your day' }).waitFor();
    const text = await mainText();
    expect(text).toMatch(/Your \w+ \d+ \w+: 3 memories/);
    expect(text).toContain('Nadia');
    expect(text).toContain('Written by memvault from your memories.');
    const coming = page().getByRole('region', { name: 'Coming up' });
    expect(await coming.textContent()).toContain('Dentist tomorrow at 3pm');
    const onThisDay = page().getByRole('region', { name: 'On this day' });
    expect(await onThisDay.textContent()).toContain('A year ago: Hiked up to the castle in Sintra with Nadia');
    const chart = page().getByRole('img', { name: /Mood per week/ });
    await chart.waitFor();
    expect(await chart.locator('rect').count()).toBeGreaterThan(0);
    expect(await page().getByRole('region', { name: 'People' }).textContent()).toContain('Nadia · 2');
    expect(await page().getByRole('region', { name: 'Places' }).textContent()).toContain('Blue Bottle');
    // The memory links open it.
    await onThisDay.getByRole('link').first().click();
    await page()
      .getByRole('heading', { name: /Hiked up to the castle/ })
      .waitFor();
    const violations = await axeSerious(page());
    expect(violations).toEqual([]);
    await nav(page(), 'Today');
    await page().getByRole('region', { name: 'Your day' }).waitFor();
    expect(await axeSerious(page())).toEqual([]);
    await shotBoth(page(), 'today');
  });

  it('shows related memories with their reason, and the importance, on the memory page', async () => {
    await nav(page(), 'Timeline');
    await page()
      .getByRole('link', { name: /Walk with Nadia at Belem/ })
      .click();
    const related = page().getByRole('region', { name: 'Related memories' });
    await related
      .getByText(/Related: both mention Nadia/)
      .first()
      .waitFor();
    expect(await related.textContent()).toContain('Brunch with Nadia at Blue Bottle');
    expect(await mainText()).toMatch(/Importance\d+% — emotional intensity/);
    // The importance line is not repeated as the classifier's reasoning.
    expect(await page().locator('dd', { hasText: 'confidence' }).textContent()).not.toContain('Importance');
  });

  it('Settings: chooses what an LLM may see', async () => {
    await nav(page(), 'Settings');
    const section = page().getByRole('region', { name: 'What an LLM may see' });
    await section.waitFor();
    expect(await section.getByLabel(/Everyday memories/).isChecked()).toBe(true);
    await section.getByLabel(/^ ?Nothing/).check();
    await section.getByRole('button', { name: 'Save' }).click();
    await page().getByText('Saved: what an LLM may see.').waitFor();
    const saved = await app.server.mv.insights.settings({
      userId,
      opener: await app.server.mv.auth.channelOpener(userId),
      meta: {},
    });
    expect(saved.llmLevel).toBe(0);
    await page().reload();
    await page()
      .getByRole('region', { name: 'What an LLM may see' })
      .getByLabel(/Nothing/)
      .waitFor();
    expect(
      await page()
        .getByRole('region', { name: 'What an LLM may see' })
        .getByLabel(/Nothing/)
        .isChecked(),
    ).toBe(true);
    expect(await axeSerious(page())).toEqual([]);
  });
});
