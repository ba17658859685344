import { generateSync } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserId } from '../../src/core/entry.js';
import { type ChannelServer, startChannelServer, TWILIO_FROM, tgMessage } from './harness.js';

/**
 * Issue 11's "done when", walked as one person's first day, against the stand-ins (Telegram Bot API, Twilio REST
 * with signed webhooks, a real SMTP server): sign up on the web → link Telegram from the web's deep link and the
 * contact share → memories from Telegram and WhatsApp → the welcome on each channel and the tutorial ticking by
 * real steps → the night's digest received by e-mail → reading it finishes the tutorial.
 */

const PHONE = '+351912345673';
const userId = PHONE as UserId;
const EMAIL = 'ana.journey@example.org';
const CHAT = 778001;
const TELEGRAM_NOTE = 'Hiked up to the Moorish castle in Sintra with Sara';
const WHATSAPP_NOTE = 'Lunch with Marta at the Ribeira market';
let s: ChannelServer;
let token = '';
let sid = 0;

const lastText = (chat = CHAT) => String(s.telegram.sent(chat).at(-1)?.body.text ?? '');
const tg = async (fields: Record<string, unknown>, chat = CHAT) =>
  (await s.tg(tgMessage(s.nextUpdateId(), chat, fields))).status;
const wa = (body: string, from = PHONE) =>
  s.twilioPost('whatsapp', {
    MessageSid: `SM${String(++sid).padStart(32, '0')}`,
    AccountSid: `AC${'0123456789abcdef'.repeat(2)}`,
    From: `whatsapp:${from}`,
    To: `whatsapp:${TWILIO_FROM}`,
    Body: body,
    NumMedia: '0',
  });
const api = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${s.base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
};
type Step = { id: string; doneAt: string | null };
const checklist = async () => {
  const view = (await api('GET', '/v1/onboarding')).body as { steps: Step[]; completed: number; next: string | null };
  return { ...view, done: view.steps.filter((x) => x.doneAt !== null).map((x) => x.id) };
};
/** The person's day in their zone, as the nightly run names it. */
const dayOf = (at: Date) => new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Lisbon' }).format(at);
/** The day the Telegram and WhatsApp memories were written on: the digest below is that day's. */
let day = '';

beforeAll(async () => {
  s = await startChannelServer();
}, 60_000);

afterAll(async () => {
  await s?.close();
});

describe('issue 11, done when: one person’s first day across the web, Telegram, WhatsApp and e-mail', () => {
  it('signs up on the web and finds the welcome and an untouched checklist in the app', async () => {
    const res = await fetch(`${s.base}/v1/auth/sign-up`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        phone: PHONE,
        password: 'correct horse battery staple 42',
        name: 'Ana',
        email: EMAIL,
        timezone: 'Europe/Lisbon',
      }),
    });
    expect(res.status).toBe(201);
    token = ((await res.json()) as { token: string }).token;
    const inbox = await api('GET', '/v1/notifications');
    const items = inbox.body.items as Array<{ purpose: string; subject: string; text: string }>;
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ purpose: 'welcome', subject: 'Welcome to memvault' });
    expect(items[0]!.text).toContain('recovery kit');
    const view = await checklist();
    expect(view.completed).toBe(0);
    expect(view.next).toBe('first_memory');
  });

  it('links Telegram from the web: the deep link’s token, then the person’s own contact', async () => {
    const link = await api('POST', '/v1/channels/telegram/link');
    expect(link.status).toBe(200);
    const url = String(link.body.url);
    const m = /^https:\/\/t\.me\/memvault_test_bot\?start=([A-Za-z0-9_-]{16,64})$/.exec(url);
    expect(m, url).not.toBeNull();
    expect(Date.parse(String(link.body.expiresAt))).toBeGreaterThan(Date.now());
    // Opening the link in Telegram sends "/start <token>".
    expect(await tg({ text: `/start ${m![1]}` })).toBe(200);
    expect(lastText()).toContain('Share my phone number');
    expect(JSON.stringify(s.telegram.sent(CHAT).at(-1)!.body.reply_markup)).toContain('"request_contact":true');
    expect(await tg({ text: 'said before the contact' })).toBe(200);
    expect((await s.memories(userId)).total).toBe(0);
    // Telegram sends the number without "+", and contact.user_id is the sender: the number is theirs.
    expect(await tg({ contact: { phone_number: PHONE.slice(1), first_name: 'Ana', user_id: CHAT } })).toBe(200);
    expect(lastText()).toContain('Welcome to memvault, Ana');
    expect(lastText()).toContain('sealed');
    // The token was used up: another chat opening the same link gets nothing from it.
    const other = 778002;
    expect(await tg({ text: `/start ${m![1]}` }, other)).toBe(200);
    expect(lastText(other)).toContain('expired or was already used');
    const prefs = await api('GET', '/v1/settings/channels');
    expect(prefs.body.links).toEqual([
      expect.objectContaining({ kind: 'telegram', address: String(CHAT), verified: true }),
    ]);
  });

  it('writes memories from Telegram and from WhatsApp (the number confirmed by a one-time code)', async () => {
    // Both on one day in Lisbon: within 20 s of midnight, wait for the new day rather than straddle it.
    while (dayOf(new Date()) !== dayOf(new Date(Date.now() + 20_000))) await new Promise((r) => setTimeout(r, 1000));
    day = dayOf(new Date());
    expect(await tg({ text: TELEGRAM_NOTE })).toBe(200);
    expect(lastText()).toMatch(/^Saved to/);
    const first = await wa(WHATSAPP_NOTE);
    expect(first.text).toContain('reply with the 6-digit code');
    const codeMsg = s.twilio.messages.at(-1)!.body;
    expect(codeMsg.To).toBe(`whatsapp:${PHONE}`);
    const code = /\b(\d{6})\b/.exec(String(codeMsg.Body))![1]!;
    const linked = await wa(code);
    expect(linked.text).toContain('Welcome to memvault, Ana');
    const saved = await wa(WHATSAPP_NOTE);
    expect(saved.text).toMatch(/Saved to/);
    const mem = await s.memories(userId);
    expect(mem.total).toBe(2);
    expect(mem.entries.map((e) => [e.channel, e.content]).sort()).toEqual([
      ['telegram', TELEGRAM_NOTE],
      ['whatsapp', WHATSAPP_NOTE],
    ]);
  });

  it('the tutorial follows what really happened: /help in the chat, the checklist on the web', async () => {
    expect(await tg({ text: '/help' })).toBe(200);
    expect(lastText()).toContain('2 of 5 steps done; next: Search your memories');
    const found = await api('POST', '/v1/search', { query: 'castle Sintra' });
    expect(found.status).toBe(200);
    expect(JSON.stringify(found.body.results)).toContain('Moorish castle');
    // Two-step verification, set up on the web as the Settings page does it.
    const begin = await api('POST', '/v1/auth/totp/begin');
    expect(begin.status).toBe(200);
    const secret = String(begin.body.secret);
    expect(
      (await api('POST', '/v1/auth/totp/confirm', { code: generateSync({ secret, epoch: Date.now() / 1000 }) })).status,
    ).toBe(204);
    const view = await checklist();
    expect(view.done).toEqual(['first_memory', 'first_search', 'link_channel', 'two_factor']);
    expect(view.next).toBe('first_digest_read');
  });

  it('receives the day’s digest by e-mail (and on the messengers) from the nightly run', async () => {
    const mailsBefore = s.smtp.mails.length;
    // What serve's DailyScheduler does for a person once their day is over (src/app/serve.ts).
    await s.mv.insights.deliverDay(userId, day);
    const report = await s.mv.channels.service.deliverDigest(userId, day);
    expect(report?.failed).toEqual([]);
    expect(report?.delivered).toEqual(expect.arrayContaining(['telegram', 'whatsapp', 'email']));
    expect(s.smtp.mails).toHaveLength(mailsBefore + 1);
    const mail = s.smtp.mails.at(-1)!;
    expect(mail.to).toContain(EMAIL);
    expect(mail.subject).toBe(`Your memvault digest for ${day}`);
    // The day's level-1 memories from both messengers are in it, as text and as HTML.
    expect(mail.text).toContain('Sintra');
    expect(mail.text).toContain('Marta');
    expect(mail.html).toContain('<p>');
    expect(mail.html).toContain('Sintra');
    expect(lastText()).toContain('Sintra');
  });

  it('reading the digest in the app completes the tutorial, and each channel welcomed the person once', async () => {
    const inbox = await api('GET', '/v1/notifications');
    const items = inbox.body.items as Array<{ id: string; purpose: string }>;
    const digest = items.find((i) => i.purpose === 'digest');
    expect(digest).toBeDefined();
    expect((await api('POST', '/v1/notifications/read', { id: digest!.id })).body.marked).toBe(1);
    const view = await checklist();
    expect(view.completed).toBe(5);
    expect(view.next).toBeNull();
    await tg({ text: '/help' });
    expect(lastText()).toContain('all steps done');
    expect(items.filter((i) => i.purpose === 'welcome')).toHaveLength(1);
    const telegramWelcomes = s.telegram.sent(CHAT).filter((c) => String(c.body.text).includes('Welcome to memvault'));
    expect(telegramWelcomes).toHaveLength(1);
  });
});

describe('a link started on the web binds to its own person', () => {
  const OTHER = '+351912345674';
  let otherToken = '';

  beforeAll(async () => {
    const res = await fetch(`${s.base}/v1/auth/sign-up`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ phone: OTHER, password: 'another long passphrase 42', name: 'Rui' }),
    });
    expect(res.status).toBe(201);
    otherToken = ((await res.json()) as { token: string }).token;
  }, 60_000);

  const startLink = async () => {
    const res = await fetch(`${s.base}/v1/channels/telegram/link`, {
      method: 'POST',
      headers: { authorization: `Bearer ${otherToken}` },
    });
    expect(res.status).toBe(200);
    return new URL(((await res.json()) as { url: string }).url).searchParams.get('start')!;
  };

  it('a chat whose shared number is another person’s is not linked to the link’s person', async () => {
    const chat = 778003;
    await tg({ text: `/start ${await startLink()}` }, chat);
    // The Telegram account's number is Ana's, but Rui opened the link.
    await tg({ contact: { phone_number: PHONE.slice(1), first_name: 'Ana', user_id: chat } }, chat);
    expect(lastText(chat)).toContain('nothing was linked');
    await tg({ text: 'not for Rui' }, chat);
    expect(lastText(chat)).toContain('share your phone number');
    const prefs = await fetch(`${s.base}/v1/settings/channels`, { headers: { authorization: `Bearer ${otherToken}` } });
    expect(((await prefs.json()) as { links: unknown[] }).links).toEqual([]);
  });

  it('a forged or malformed token links nothing, and an already linked chat keeps its person', async () => {
    const chat = 778004;
    await tg({ text: '/start AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, chat);
    expect(lastText(chat)).toContain('expired or was already used');
    await tg({ text: `/start ${'x'.repeat(65)}` }, chat);
    expect(lastText(chat)).toContain('expired or was already used');
    // Rui's token opened in Ana's linked chat changes nothing.
    await tg({ text: `/start ${await startLink()}` });
    expect(lastText()).toContain('already linked to another memvault account');
    const before = (await s.memories(userId)).total;
    await tg({ text: 'Still Ana’s chat' });
    expect((await s.memories(userId)).total).toBe(before + 1);
  });

  it('unlinking from the web stops the chat from storing, and the route validates the kind', async () => {
    const unlinked = await api('DELETE', '/v1/settings/channels/telegram');
    expect(unlinked.status).toBe(200);
    expect((unlinked.body.links as Array<{ kind: string }>).map((l) => l.kind)).toEqual(['whatsapp']);
    const before = (await s.memories(userId)).total;
    await tg({ text: 'after the unlink' });
    expect(lastText()).toContain('share your phone number');
    expect((await s.memories(userId)).total).toBe(before);
    expect((await api('DELETE', '/v1/settings/channels/telegram')).status).toBe(404);
    expect((await api('DELETE', '/v1/settings/channels/email')).status).toBe(400);
  });
});

describe('channel preferences from the web', () => {
  it('refuses what is not a preference: unknown fields, bad times, level 2 over e-mail', async () => {
    for (const body of [
      { quietHours: { start: '25:00', end: '07:00' } },
      { quietHours: { start: '22:00' } },
      { level2: ['email'] },
      { notify: ['fax'] },
      { notify: 'email' },
      { colour: 'blue' },
    ]) {
      expect((await api('PATCH', '/v1/settings/channels', body)).status, JSON.stringify(body)).toBe(400);
    }
  });

  it('digests go only where chosen, alerts follow their own choice, quiet hours hold digests back', async () => {
    const set = await api('PATCH', '/v1/settings/channels', {
      notify: ['email', 'email'],
      alerts: ['whatsapp'],
      level2: ['whatsapp'],
    });
    expect(set.status).toBe(200);
    expect(set.body.settings).toMatchObject({ notify: ['email'], alerts: ['whatsapp'], level2: ['whatsapp'] });
    expect(set.body.available).toEqual({ telegram: true, whatsapp: true, sms: true, email: true });
    // Only what the patch names changed.
    const again = await api('PATCH', '/v1/settings/channels', { quietHours: null });
    expect(again.body.settings).toMatchObject({ notify: ['email'], alerts: ['whatsapp'], quietHours: null });

    const digest = await s.mv.channels.service.deliverDigest(userId);
    expect(digest?.delivered).toEqual(['email']);
    const mails = s.smtp.mails.length;
    const texts = s.twilio.messages.length;
    expect(await s.mv.channels.alerts(userId, 'a recovery code was used')).toBe(true);
    expect(s.smtp.mails).toHaveLength(mails);
    expect(s.twilio.messages).toHaveLength(texts + 1);
    expect(String(s.twilio.messages.at(-1)!.body.Body)).toContain('Unusual activity on your memvault');

    // Quiet hours around now (in Lisbon): the digest waits, the in-app notification is still made.
    const hhmm = (d: Date) =>
      new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Europe/Lisbon',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      }).format(d);
    const now = Date.now();
    await api('PATCH', '/v1/settings/channels', {
      quietHours: { start: hhmm(new Date(now - 60 * 60_000)), end: hhmm(new Date(now + 60 * 60_000)) },
    });
    const held = await s.mv.channels.service.deliverDigest(userId);
    expect(held?.deferred).toBe(true);
    expect(held?.delivered).toEqual([]);
    expect(s.smtp.mails).toHaveLength(mails);
    const reset = await api('PATCH', '/v1/settings/channels', { notify: null, alerts: null, quietHours: null });
    expect(reset.body.settings).toMatchObject({ notify: null, alerts: null, quietHours: null });
  });
});
