import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planBrowserSuite } from './chromium.js';
import { type App, axeSerious, nav, openApp, remember, shotBoth, signUp } from './harness.js';

/**
 * Issue 13 in headless Chromium against the real wiring: editing a memory's text (re-classified on save) with its
 * earlier version listed under Versions; delete → Undo in the toast; delete → the Trash page → Restore.
 */

const plan = planBrowserSuite(process.env);
if (plan.action === 'fail') throw new Error(plan.message);
if (plan.action === 'skip') console.warn(plan.line);

describe.skipIf(plan.action !== 'run')('edit, versions, trash and Undo in Chromium', () => {
  let app: App;
  const page = () => app.page;
  const mainText = async () => (await page().locator('main').textContent()) ?? '';
  const openMemory = async (name: RegExp) => {
    await nav(page(), 'Timeline');
    await page().getByRole('link', { name }).first().click();
    await page().getByRole('button', { name: 'Delete…' }).waitFor();
  };

  beforeAll(async () => {
    app = await openApp(plan.action === 'run' ? plan.executable : '');
    await signUp(page(), app.server.url);
    await remember(page(), ['Yesterday I hiked to the lake with Sara', 'Bought fresh bread at the market today']);
  }, 120_000);

  afterAll(async () => {
    await app?.close();
  });

  it('edits the text and lists the earlier version under Versions', async () => {
    await openMemory(/hiked to the lake/);
    expect(await page().getByRole('region', { name: 'Versions' }).count()).toBe(0);
    await page().getByRole('button', { name: 'Edit text' }).click();
    const form = page().getByRole('form', { name: 'Edit the text' });
    await form.getByLabel('Text').fill('Yesterday I hiked to the lake with Sara and Tom, and we saw herons');
    await form.getByRole('button', { name: 'Save' }).click();
    await page()
      .getByRole('heading', { name: /hiked to the lake with Sara and Tom/, level: 1 })
      .waitFor();
    const versions = page().getByRole('region', { name: 'Versions' });
    await versions.waitFor();
    expect(await versions.locator('li').count()).toBe(1);
    expect(await versions.textContent()).toContain('Yesterday I hiked to the lake with Sara');
    expect(await versions.textContent()).not.toContain('herons');
    expect(await axeSerious(page())).toEqual([]);
    await shotBoth(page(), 'memory-versions');
  });

  it('deletes with an Undo in the toast that brings the memory back', async () => {
    await openMemory(/fresh bread/);
    await page().getByRole('button', { name: 'Delete…' }).click();
    await page().getByRole('button', { name: 'Yes, delete it' }).click();
    await page().getByRole('heading', { name: 'Timeline', level: 1 }).waitFor();
    await expect.poll(mainText).not.toContain('fresh bread');
    const toast = page().locator('#toast');
    expect(await toast.textContent()).toContain('Moved to the trash.');
    await toast.getByRole('button', { name: 'Undo' }).click();
    await page()
      .getByRole('heading', { name: /fresh bread/, level: 1 })
      .waitFor();
    await nav(page(), 'Timeline');
    await expect.poll(mainText).toContain('fresh bread');
  });

  it('keeps a deleted memory in the Trash until it is restored', async () => {
    await openMemory(/fresh bread/);
    await page().getByRole('button', { name: 'Delete…' }).click();
    await page().getByRole('button', { name: 'Yes, delete it' }).click();
    await page().getByRole('heading', { name: 'Timeline', level: 1 }).waitFor();
    await nav(page(), 'Trash');
    await page().getByRole('heading', { name: 'Trash', level: 1 }).waitFor();
    await expect.poll(mainText).toContain('Bought fresh bread at the market today');
    expect(await mainText()).toContain('erased for good after');
    expect(await axeSerious(page())).toEqual([]);
    await shotBoth(page(), 'trash');
    await page().getByRole('button', { name: 'Restore' }).click();
    await expect.poll(mainText).toContain('The trash is empty.');
    await nav(page(), 'Timeline');
    await expect.poll(mainText).toContain('fresh bread');
  });

  it('empties the trash for good after a confirmation', async () => {
    await openMemory(/fresh bread/);
    await page().getByRole('button', { name: 'Delete…' }).click();
    await page().getByRole('button', { name: 'Yes, delete it' }).click();
    await page().getByRole('heading', { name: 'Timeline', level: 1 }).waitFor();
    await nav(page(), 'Trash');
    await page().getByRole('button', { name: 'Empty trash…' }).click();
    await page().getByRole('button', { name: 'Yes, erase them now' }).click();
    await expect.poll(mainText).toContain('The trash is empty.');
    expect(await page().locator('#toast').textContent()).toContain('Erased 1 memory for good.');
  });
});
