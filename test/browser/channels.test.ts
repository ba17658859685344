import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserId } from '../../src/core/entry.js';
import { BOT_TOKEN, WEBHOOK_SECRET } from '../channels/harness.js';
import { startSmtpStandIn, startTelegramStandIn } from '../channels/stand-ins.js';
import { freePort } from '../server/real.js';
import { planBrowserSuite } from './chromium.js';
import { type App, axeSerious, nav, openApp, PHONE, shotBoth, signUp } from './harness.js';

/**
 * Settings → Channels (issue 11): link Telegram from the web through the t.me deep link, choose where digests and
 * alerts go, which chats may show level 2 and the quiet hours, and unlink — against a Telegram Bot API stand-in
 * and a real SMTP server on loopback.
 */

const plan = planBrowserSuite(process.env);
if (plan.action === 'fail') throw new Error(plan.message);
if (plan.action === 'skip') console.warn(plan.line);

const userId = PHONE as UserId;
const CHAT = 779001;

describe.skipIf(plan.action !== 'run')('web app Settings → Channels, in Chromium', () => {
  let app: App;
  let telegram: Awaited<ReturnType<typeof startTelegramStandIn>>;
  let smtp: Awaited<ReturnType<typeof startSmtpStandIn>>;
  const page = () => app.page;
  const section = () => page().getByRole('region', { name: 'Channels' });
  const group = (name: string) => section().getByRole('group', { name });
  let updateId = 5000;
  const telegramSays = async (fields: Record<string, unknown>) => {
    const res = await fetch(`${app.server.url.replace('localhost', '127.0.0.1')}/v1/channels/telegram/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': WEBHOOK_SECRET },
      body: JSON.stringify({
        update_id: ++updateId,
        message: {
          message_id: updateId,
          date: Math.floor(Date.now() / 1000),
          chat: { id: CHAT, type: 'private', first_name: 'Ana' },
          from: { id: CHAT, is_bot: false, first_name: 'Ana' },
          ...fields,
        },
      }),
    });
    expect(res.status).toBe(200);
  };

  beforeAll(async () => {
    [telegram, smtp] = await Promise.all([startTelegramStandIn(BOT_TOKEN), startSmtpStandIn()]);
    app = await openApp(plan.action === 'run' ? plan.executable : '', {
      env: {
        MEMVAULT_TELEGRAM_BOT_TOKEN: BOT_TOKEN,
        MEMVAULT_TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
        MEMVAULT_SMTP_URL: smtp.url,
        MEMVAULT_MAIL_FROM: 'memvault <memvault@example.org>',
        // Inbound mail configured (the page shows the address; the SMTP listener only starts with `serve`).
        MEMVAULT_INBOUND_SMTP_PORT: String(await freePort()),
        MEMVAULT_INBOUND_MAIL_DOMAIN: 'in.example.org',
      },
      channelEndpoints: { telegramApiRoot: telegram.url },
    });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await Promise.all([telegram?.close(), smtp?.close()]);
  });

  it('links Telegram from the deep link the page gives, after the contact share', async () => {
    await signUp(page(), app.server.url);
    await nav(page(), 'Settings');
    await section().getByText('No messenger is linked yet.').waitFor();
    expect(await axeSerious(page())).toEqual([]);
    await section().getByRole('button', { name: 'Link Telegram', exact: true }).click();
    const open = section().getByRole('link', { name: 'Open Telegram to link it' });
    await open.waitFor();
    const href = (await open.getAttribute('href')) ?? '';
    expect(href).toMatch(/^https:\/\/t\.me\/memvault_test_bot\?start=[A-Za-z0-9_-]{32}$/);
    expect(await open.getAttribute('rel')).toBe('noopener');
    // What Telegram sends when the person opens the link, taps Start, then shares their number.
    await telegramSays({ text: `/start ${new URL(href).searchParams.get('start')}` });
    await telegramSays({ contact: { phone_number: PHONE.slice(1), first_name: 'Ana', user_id: CHAT } });
    expect(String(telegram.sent(CHAT).at(-1)?.body.text)).toContain('Welcome to memvault, Ana');
    await section().getByRole('button', { name: 'I have shared my number' }).click();
    await section().getByText('Telegram · linked').waitFor();
    expect(await section().getByRole('button', { name: 'Link Telegram', exact: true }).count()).toBe(0);
  }, 120_000);

  it('saves where digests and alerts go, level 2 in chats and quiet hours', async () => {
    await group('Digests and notices go to').getByLabel('Telegram').uncheck();
    await group('Chats that may show Confidential (level 2)').getByLabel('Telegram').check();
    await section().getByLabel('Hold digests and notices').check();
    await section().getByLabel('from').fill('21:30');
    await section().getByLabel('to', { exact: true }).fill('06:45');
    await section().getByRole('button', { name: 'Save channel preferences' }).click();
    await page().getByText('Channel preferences saved.').waitFor();
    const saved = await app.server.mv.channels.service.settings(userId);
    expect(saved).toMatchObject({
      notify: ['email'],
      alerts: null,
      level2: ['telegram'],
      quietHours: { start: '21:30', end: '06:45' },
    });
    await page().reload();
    await section().getByText('Telegram · linked').waitFor();
    expect(await group('Digests and notices go to').getByLabel('Telegram').isChecked()).toBe(false);
    expect(await group('Digests and notices go to').getByLabel('E-mail').isChecked()).toBe(true);
    expect(await group('Security alerts go to').getByLabel('Telegram').isChecked()).toBe(true);
    expect(await section().getByLabel('from').inputValue()).toBe('21:30');
    expect(await axeSerious(page())).toEqual([]);
    await section().scrollIntoViewIfNeeded();
    await shotBoth(page(), 'settings-channels');
  }, 120_000);

  it('shows the secret address for writing by e-mail, and replaces it', async () => {
    const code = section().locator('#mail-address');
    const before = (await code.textContent()) ?? '';
    expect(before).toMatch(/^[a-z2-7]{20}@in\.example\.org$/);
    await section().getByRole('button', { name: 'New address' }).click();
    await page().getByText('New address made; the old one no longer works.').waitFor();
    await page().waitForFunction((old) => document.getElementById('mail-address')?.textContent !== old, before);
    expect(await code.textContent()).toMatch(/^[a-z2-7]{20}@in\.example\.org$/);
  }, 120_000);

  it('unlinks Telegram: the chat is no longer the person’s', async () => {
    await section().getByRole('button', { name: 'Unlink Telegram' }).click();
    await page().getByText('Telegram unlinked.').waitFor();
    await section().getByRole('button', { name: 'Link Telegram', exact: true }).waitFor();
    expect((await app.server.mv.channels.service.preferences(userId)).links).toEqual([]);
    await telegramSays({ text: 'not stored any more' });
    expect(String(telegram.sent(CHAT).at(-1)?.body.text)).toContain('share your phone number');
  }, 120_000);
});
