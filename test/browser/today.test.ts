import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserId } from '../../src/core/entry.js';
import { localDayRange, localParts } from '../../src/core/local-day.js';
import { localTimeToUtc } from '../../src/core/time-zone.js';
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
  /** How many years before today the "on this day" memory is (4 on a 29 February, which has no date a year ago). */
  let back = 1;
  const page = () => app.page;
  const mainText = async () => (await page().locator('main').textContent()) ?? '';

  beforeAll(async () => {
    app = await openApp(plan.action === 'run' ? plan.executable : '');
    await signUp(page(), app.server.url);
    userId = normalizeUserId(PHONE) as UserId;
    const mv = app.server.mv;
    const tz = (await mv.vault.getProfile(userId)).timezone;
    // The memories, their processing and the Today page must fall on one local day ("today" is read again by the
    // page): this set-up and the first test take far less than 4 minutes, so closer to midnight wait for it.
    const midnight = localDayRange(localParts(new Date(), tz).day, tz).end.getTime();
    if (midnight - Date.now() < 4 * 60_000) await new Promise((r) => setTimeout(r, midnight - Date.now() + 1_000));
    const day = localParts(new Date(), tz).day;
    await remember(page(), [
      'Brunch with Nadia at Blue Bottle this morning, we laughed so much',
      'Walk with Nadia at Belem, a lovely evening',
      'Dentist tomorrow at 3pm',
    ]);
    // A memory from this date a year ago, filed by the person (the server's own session holds level 1). Not 365
    // days ago: after a 29 February that is the day after.
    const [y, m, d] = day.split('-').map(Number) as [number, number, number];
    back = m === 2 && d === 29 ? 4 : 1;
    const principal = { userId, opener: await mv.auth.channelOpener(userId), meta: { channel: 'api' as const } };
    await mv.memory.remember(principal, 'Hiked up to the castle in Sintra with Nadia, beautiful views', {
      channel: 'api',
      at: new Date(localTimeToUtc(tz, y - back, m, d, 12)),
      category: 'CHRONOLOGICAL',
    });
    // Today's memories processed as the night would (patterns, connections, the mood chart).
    await mv.insights.processDay(userId, day);
  }, 360_000);

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
    expect(await onThisDay.textContent()).toContain(
      `${back === 1 ? 'A year ago' : '4 years ago'}: Hiked up to the castle in Sintra with Nadia`,
    );
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
