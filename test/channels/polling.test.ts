import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserId } from '../../src/core/entry.js';
import { type ChannelServer, startChannelServer, tgMessage } from './harness.js';

/** Long-polling mode: no webhook secret set, so the server asks the Bot API stand-in for updates itself. */
const PHONE = '+351912345674';
const CHAT = 888001;
let s: ChannelServer;

beforeAll(async () => {
  s = await startChannelServer({ MEMVAULT_TELEGRAM_WEBHOOK_SECRET: undefined });
  await s.mv.memory.signUp({ phone: PHONE, timezone: 'Europe/Lisbon' });
  await s.mv.channels.start();
}, 60_000);

afterAll(async () => {
  await s?.close();
});

// expect.poll's deadline (vitest.config.ts) is sized for 2 busy cores; a fixed 10 s was not.
const waitFor = (check: () => boolean) => expect.poll(check).toBe(true);

describe('Telegram long polling', () => {
  it('links by contact and remembers, and the webhook route is off', async () => {
    expect((await s.tg(tgMessage(1, CHAT, { text: 'x' }))).status).toBe(404);
    s.telegram.queue(tgMessage(1, CHAT, { contact: { phone_number: PHONE.slice(1), first_name: 'B', user_id: CHAT } }));
    await waitFor(() => s.telegram.sent(CHAT).length === 1);
    expect(String(s.telegram.sent(CHAT)[0]?.body.text)).toContain('Welcome to memvault');
    s.telegram.queue(tgMessage(2, CHAT, { text: 'Planted tulips in the garden' }));
    await waitFor(() => s.telegram.sent(CHAT).length === 2);
    expect((await s.memories(PHONE as UserId)).total).toBe(1);
    expect(s.telegram.calls.some((c) => c.method === 'deleteWebhook')).toBe(true);
  }, 60_000);
});
