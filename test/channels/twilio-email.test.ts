import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserId } from '../../src/core/entry.js';
import { type ChannelServer, startChannelServer, TWILIO_FROM } from './harness.js';

const PHONE = '+351912345672';
const userId = PHONE as UserId;
let s: ChannelServer;
let token = '';
let sid = 0;

const wa = (body: string, from = PHONE, extra: Record<string, string> = {}) =>
  s.twilioPost('whatsapp', {
    MessageSid: `SM${String(++sid).padStart(32, '0')}`,
    AccountSid: 'AC0123456789abcdef0123456789abcdef',
    From: `whatsapp:${from}`,
    To: `whatsapp:${TWILIO_FROM}`,
    Body: body,
    NumMedia: '0',
    ...extra,
  });
const sms = (body: string, from = PHONE) =>
  s.twilioPost('sms', { MessageSid: `SM${String(++sid).padStart(32, '0')}`, From: from, To: TWILIO_FROM, Body: body });
const api = async (path: string, init: RequestInit = {}) => {
  const res = await fetch(`${s.base}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

beforeAll(async () => {
  s = await startChannelServer();
  const res = await fetch(`${s.base}/v1/auth/sign-up`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      phone: PHONE,
      password: 'correct horse battery staple 42',
      name: 'Rui',
      email: 'rui@example.org',
      timezone: 'Europe/Lisbon',
    }),
  });
  expect(res.status).toBe(201);
  token = ((await res.json()) as { token: string }).token;
}, 60_000);

afterAll(async () => {
  await s?.close();
});

describe('WhatsApp and SMS through Twilio, against a REST stand-in and signed webhooks', () => {
  it('a missing or forged X-Twilio-Signature is refused with 403 and nothing is handled', async () => {
    const params = { MessageSid: 'SM1', From: `whatsapp:${PHONE}`, Body: 'hello' };
    expect((await s.twilioPost('whatsapp', params, null)).status).toBe(403);
    expect((await s.twilioPost('whatsapp', params, 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=')).status).toBe(403);
    // Signed for another URL (the address we listen on, not the public one) is refused too.
    const { twilioSignature } = await import('./stand-ins.js');
    const wrongUrl = twilioSignature(
      'twilio-auth-token-0123456789abcdef',
      `${s.base}/v1/channels/twilio/whatsapp`,
      params,
    );
    expect((await s.twilioPost('whatsapp', params, wrongUrl)).status).toBe(403);
    expect(s.twilio.messages).toHaveLength(0);
    expect((await s.memories(userId)).total).toBe(0);
  });

  it('an unknown number gets an invitation, not storage', async () => {
    const r = await wa('remember this', '+351912345699');
    expect(r.status).toBe(200);
    expect(r.text).toContain('<Message>');
    expect(r.text).toContain('not registered');
    expect(s.twilio.messages).toHaveLength(0);
  });

  it('links a number only after the one-time code sent to it, then remembers', async () => {
    const first = await wa('Lunch with Marta at the market');
    expect(first.text).toContain('reply with the 6-digit code');
    expect((await s.memories(userId)).total).toBe(0);
    const codeMsg = s.twilio.messages.at(-1)!.body;
    expect(codeMsg.To).toBe(`whatsapp:${PHONE}`);
    expect(codeMsg.From).toBe(`whatsapp:${TWILIO_FROM}`);
    const code = /\b(\d{6})\b/.exec(String(codeMsg.Body))![1]!;
    const wrong = code === '000000' ? '000001' : '000000';
    expect((await wa(wrong)).text).toContain('not right');
    const linked = await wa(code);
    expect(linked.text).toContain('Welcome to memvault, Rui');
    // Single use: the same code again is just a message now (stored, since the number is linked).
    const stored = await wa('Lunch with Marta at the market');
    expect(stored.text).toMatch(/Saved to/);
    expect((await s.memories(userId)).total).toBe(1);
  });

  it('a retried webhook (same MessageSid) stores one memory', async () => {
    const params = {
      MessageSid: 'SMretry000000000000000000000000000',
      From: `whatsapp:${PHONE}`,
      Body: 'Swam at Carcavelos beach',
    };
    const before = (await s.memories(userId)).total;
    const replies = await Promise.all([1, 2, 3].map(() => s.twilioPost('whatsapp', params)));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
    expect((await s.memories(userId)).total).toBe(before + 1);
  });

  it('SMS honours STOP, START and HELP', async () => {
    const first = await sms('hello');
    const code = /\b(\d{6})\b/.exec(String(s.twilio.messages.at(-1)!.body.Body))![1]!;
    expect(first.text).toContain('code');
    expect((await sms(code)).text).toMatch(/Welcome|linked/);
    expect((await sms('HELP')).text).toContain('/search');
    expect((await sms('STOP')).text).toContain('Send START to resume');
    const before = (await s.memories(userId)).total;
    const silent = await sms('Went to the dentist');
    expect(silent.text).not.toContain('<Message>');
    expect((await s.memories(userId)).total).toBe(before);
    expect((await sms('START')).text).toContain('Welcome back');
  });

  it('a picture without a caption is not stored', async () => {
    const r = await wa('', PHONE, { NumMedia: '1', MediaUrl0: 'https://example.org/x.jpg' });
    expect(r.text).toContain('I can save text');
  });
});

describe('e-mail through a real SMTP server, in-app notifications and onboarding', () => {
  it('delivers the digest by e-mail (text and HTML from one template) and to the linked channels', async () => {
    const before = s.smtp.mails.length;
    const report = await s.mv.channels.service.deliverDigest(userId);
    expect(report?.delivered).toEqual(expect.arrayContaining(['whatsapp', 'sms', 'email']));
    expect(report?.failed).toEqual([]);
    const mail = s.smtp.mails.at(-1)!;
    expect(s.smtp.mails.length).toBe(before + 1);
    expect(mail.to).toContain('rui@example.org');
    expect(mail.subject).toMatch(/^Your memvault digest for \d{4}-\d{2}-\d{2}$/);
    expect(mail.text.length).toBeGreaterThan(10);
    expect(mail.html).toContain('<p>');
  });

  it('lists notifications with the unread count, streams new ones live, and reading the digest counts', async () => {
    const list = await api('/v1/notifications');
    const items = list.body.items as Array<{ id: string; purpose: string }>;
    expect(items.map((i) => i.purpose)).toEqual(expect.arrayContaining(['digest', 'welcome']));
    expect(list.body.unread).toBe(items.length);

    const controller = new AbortController();
    const stream = await fetch(`${s.base}/v1/notifications/stream`, {
      headers: { authorization: `Bearer ${token}` },
      signal: controller.signal,
    });
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    const reader = stream.body!.getReader();
    let seen = '';
    const readUntil = async (needle: string) => {
      while (!seen.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += new TextDecoder().decode(value);
      }
    };
    await readUntil('event: ready');
    await s.mv.channels.alerts(userId, 'a recovery code was used');
    await readUntil('security alert');
    expect(seen).toContain('event: notification');
    controller.abort();

    const digest = items.find((i) => i.purpose === 'digest')!;
    expect(
      (await api('/v1/notifications/read', { method: 'POST', body: JSON.stringify({ id: digest.id }) })).body.marked,
    ).toBe(1);
    const onboarding = await api('/v1/onboarding');
    const steps = onboarding.body.steps as Array<{ id: string; doneAt: string | null }>;
    expect(steps.find((x) => x.id === 'first_digest_read')?.doneAt).not.toBeNull();
    expect(steps.find((x) => x.id === 'link_channel')?.doneAt).not.toBeNull();
    expect((await api('/v1/notifications/read', { method: 'POST', body: JSON.stringify({ id: 'nope' }) })).status).toBe(
      400,
    );
  });

  it('security alerts reach every channel, and are rate limited', async () => {
    const mails = s.smtp.mails.length;
    // One alert was spent by the stream test above: two more pass, then the limit holds.
    expect(await s.mv.channels.alerts(userId, 'an unusual sign in (failure)')).toBe(true);
    expect(await s.mv.channels.alerts(userId, 'an unusual sign in (failure)')).toBe(true);
    expect(await s.mv.channels.alerts(userId, 'an unusual sign in (failure)')).toBe(false);
    expect(s.smtp.mails.length).toBe(mails + 2);
    expect(s.smtp.mails.at(-1)!.subject).toBe('memvault security alert');
  });

  it('the checklist can be skipped and resumed without losing progress', async () => {
    const skipped = await api('/v1/onboarding', { method: 'POST', body: JSON.stringify({ skipped: true }) });
    expect(skipped.body.skipped).toBe(true);
    const resumed = await api('/v1/onboarding', { method: 'POST', body: JSON.stringify({ skipped: false }) });
    expect(resumed.body.skipped).toBe(false);
    expect(resumed.body.completed).toBe(skipped.body.completed);
    expect((await api('/v1/onboarding', { method: 'POST', body: JSON.stringify({ skipped: 'yes' }) })).status).toBe(
      400,
    );
  });

  it('documents the webhook routes in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${s.base}/v1/openapi.json`)).json()) as { paths: Record<string, unknown> };
    for (const path of [
      '/v1/channels/telegram/webhook',
      '/v1/channels/twilio/sms',
      '/v1/channels/twilio/whatsapp',
      '/v1/notifications',
      '/v1/notifications/stream',
      '/v1/onboarding',
    ]) {
      expect(doc.paths).toHaveProperty([path]);
    }
  });

  it('channels status says what is configured and reachable', async () => {
    const status = await s.mv.channels.status();
    expect(status.telegram).toMatchObject({ configured: true, reachable: true });
    expect(status.whatsapp).toMatchObject({ configured: true, reachable: true });
    expect(status.email).toMatchObject({ configured: true, reachable: true });
    expect(JSON.stringify(status)).not.toContain('twilio-auth-token');
  });
});
