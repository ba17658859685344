import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserId } from '../../src/core/entry.js';
import { type ChannelServer, startChannelServer, tgMessage } from './harness.js';

const PHONE = '+351912345671';
const userId = PHONE as UserId;
const CHAT = 777001;
const SECRET_TEXT = 'My debit card PIN is 8812';
let s: ChannelServer;
let token = '';

const lastText = (chat = CHAT) => String(s.telegram.sent(chat).at(-1)?.body.text ?? '');
const send = async (fields: Record<string, unknown>, kind = 'message') => {
  const res = await s.tg(tgMessage(s.nextUpdateId(), CHAT, fields, kind));
  return res.status;
};

beforeAll(async () => {
  s = await startChannelServer();
  // Sign-up on the web, as a person does.
  const res = await fetch(`${s.base}/v1/auth/sign-up`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      phone: PHONE,
      password: 'correct horse battery staple 42',
      name: 'Ana',
      timezone: 'Europe/Lisbon',
    }),
  });
  expect(res.status).toBe(201);
  token = ((await res.json()) as { token: string }).token;
}, 60_000);

afterAll(async () => {
  await s?.close();
});

const api = async (path: string, init: RequestInit = {}) => {
  const res = await fetch(`${s.base}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('Telegram over a webhook, against a Bot API stand-in', () => {
  it('refuses a missing or forged secret token with 403 and stores nothing', async () => {
    const update = tgMessage(s.nextUpdateId(), CHAT, { text: '/start' });
    expect((await s.tg(update, null)).status).toBe(403);
    expect((await s.tg(update, 'wh-secret_0123456789abcdefABCDEX')).status).toBe(403);
    expect((await s.tg(update, 'short')).status).toBe(403);
    expect(s.telegram.sent(CHAT)).toHaveLength(0);
  });

  it('links the chat by the sender’s own contact, and welcomes the person', async () => {
    expect(await send({ text: '/start' })).toBe(200);
    const ask = s.telegram.sent(CHAT).at(-1)!.body;
    expect(JSON.stringify(ask.reply_markup)).toContain('"request_contact":true');
    // Someone else's contact card does not link anything.
    expect(await send({ contact: { phone_number: '351912345671', first_name: 'Ana', user_id: 999 } })).toBe(200);
    expect(lastText()).toMatch(/your own contact/);
    expect(await send({ text: 'before linking' })).toBe(200);
    expect((await s.memories(userId)).total).toBe(0);
    // Telegram sends the number without "+".
    expect(await send({ contact: { phone_number: '351912345671', first_name: 'Ana', user_id: CHAT } })).toBe(200);
    expect(lastText()).toContain('Welcome to memvault, Ana');
    expect(lastText()).toContain('recovery kit');
    const onboarding = await api('/v1/onboarding');
    const steps = onboarding.body.steps as Array<{ id: string; doneAt: string | null }>;
    expect(steps.find((x) => x.id === 'link_channel')?.doneAt).not.toBeNull();
  });

  it('an unknown number sharing its contact is invited to sign up, nothing is linked', async () => {
    const other = 777002;
    await s.tg(
      tgMessage(s.nextUpdateId(), other, {
        contact: { phone_number: '+351912345699', first_name: 'X', user_id: other },
      }),
    );
    expect(String(s.telegram.sent(other).at(-1)?.body.text)).toContain('Sign up at http://localhost');
    await s.tg(tgMessage(s.nextUpdateId(), other, { text: 'hello' }));
    expect(String(s.telegram.sent(other).at(-1)?.body.text)).toContain('share your phone number');
  });

  it('remembers text and captions; a delivery retried 3 times stores one memory', async () => {
    const update = tgMessage(s.nextUpdateId(), CHAT, { text: 'Hiked up to the castle in Sintra with Sara' });
    const statuses = await Promise.all([s.tg(update), s.tg(update), s.tg(update)].map(async (p) => (await p).status));
    expect(statuses).toEqual([200, 200, 200]);
    expect((await s.tg(update)).status).toBe(200);
    let mem = await s.memories(userId);
    expect(mem.total).toBe(1);
    expect(mem.entries[0]?.channel).toBe('telegram');
    expect(lastText()).toMatch(/^Saved to/);
    await send({
      photo: [{ file_id: 'x', file_unique_id: 'y', width: 1, height: 1 }],
      caption: 'Sunset at Cabo da Roca',
    });
    mem = await s.memories(userId);
    expect(mem.entries.map((e) => e.content)).toContain('Sunset at Cabo da Roca');
  });

  it('a sticker, an empty message, an edit and 100 KB are answered and not stored', async () => {
    const before = (await s.memories(userId)).total;
    await send({
      sticker: {
        file_id: 'a',
        file_unique_id: 'b',
        type: 'regular',
        width: 1,
        height: 1,
        is_animated: false,
        is_video: false,
      },
    });
    expect(lastText()).toContain('I can save text');
    await send({ text: '   ' });
    expect(lastText()).toContain('empty');
    await send({ text: 'Hiked up to the castle twice' }, 'edited_message');
    expect(lastText()).toContain('Edits are not applied');
    expect(await send({ text: 'x'.repeat(100_000) })).toBe(200);
    expect(lastText()).toMatch(/longer|too long|limit/i);
    expect((await s.memories(userId)).total).toBe(before);
  });

  it('/search shows level-1 matches; /undo forgets the last message; /help tells the progress', async () => {
    await send({ text: '/search Sintra castle' });
    expect(lastText()).toContain('Sintra');
    const onboarding = await api('/v1/onboarding');
    const steps = onboarding.body.steps as Array<{ id: string; doneAt: string | null }>;
    expect(steps.find((x) => x.id === 'first_search')?.doneAt).not.toBeNull();
    expect(steps.find((x) => x.id === 'first_memory')?.doneAt).not.toBeNull();
    await send({ text: 'Bought a typo-ridden coffee' });
    const before = (await s.memories(userId)).total;
    await send({ text: '/undo' });
    expect(lastText()).toContain('forgotten');
    expect((await s.memories(userId)).total).toBe(before - 1);
    await send({ text: '/undo' });
    expect(lastText()).toContain('Nothing to undo');
    await send({ text: '/help' });
    expect(lastText()).toMatch(/3 of 5 steps done; next: Set up two-step verification/);
  });

  it('a SECRET message is sealed, and its text never reaches any outbound body', async () => {
    await send({ text: SECRET_TEXT });
    expect(lastText()).toMatch(/^Saved to .* · sealed at level [34]$/);
    await send({ text: '/search debit card PIN' });
    await send({ text: '/today' });
    expect(lastText()).not.toContain('8812');
    await s.mv.channels.service.deliverDigest(userId);
    await s.mv.channels.alerts(userId, 'a recovery code was used');
    for (const body of s.allOutbound()) {
      expect(body).not.toContain('8812');
      expect(body).not.toContain('debit card PIN');
    }
    expect(s.telegram.calls.length).toBeGreaterThan(10);
  });

  it('/stop silences the chat until /start', async () => {
    const before = (await s.memories(userId)).total;
    await send({ text: '/stop' });
    expect(lastText()).toContain('Send START to resume');
    const sentBefore = s.telegram.sent(CHAT).length;
    await send({ text: 'this is not saved' });
    expect(s.telegram.sent(CHAT)).toHaveLength(sentBefore);
    const report = await s.mv.channels.service.notify(userId, 'welcome', { who: '' });
    expect(report.delivered).not.toContain('telegram');
    await send({ text: '/start' });
    expect(lastText()).toContain('Welcome back');
    expect((await s.memories(userId)).total).toBe(before);
  });
  it('50 messages a second from one chat: some are refused with 429 (Telegram retries), every accepted one is stored', async () => {
    const before = (await s.memories(userId)).total;
    const statuses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        s.tg(tgMessage(s.nextUpdateId(), CHAT, { text: `Burst note number ${i}` })).then((r) => r.status),
      ),
    );
    const accepted = statuses.filter((x) => x === 200).length;
    expect(statuses.filter((x) => x === 429).length).toBeGreaterThan(0);
    expect(accepted + statuses.filter((x) => x === 429).length).toBe(50);
    expect((await s.memories(userId)).total).toBe(before + accepted);
  }, 60_000);
});
