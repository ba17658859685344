import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserId } from '../../src/core/entry.js';
import { type ChannelServer, startChannelServer, tgMessage } from '../channels/harness.js';
import { freshDatabase, planPgSuite, TEST_DATABASE_URL } from './pg-test-db.js';

const plan = await planPgSuite();
if (plan.action === 'fail') throw new Error(plan.message);
if (plan.action === 'skip') console.warn(plan.line);

const PHONE = '+351912345671';
const userId = PHONE as UserId;
const CHAT = 778001;
// One counter for both servers: an update id seen by either is a retry to both.
let id = 5000;
const next = () => ++id;

/**
 * Two memvault servers, each with a data dir of its own (two hosts), over one PostgreSQL: a Telegram link started
 * on one and finished on the other is used by both, and a provider message delivered to both stores one memory.
 */
describe.skipIf(plan.action === 'skip')('channels across two servers over one PostgreSQL', () => {
  let fx: Awaited<ReturnType<typeof freshDatabase>>;
  let a: ChannelServer;
  let b: ChannelServer;
  let token = '';

  beforeAll(async () => {
    fx = await freshDatabase();
    const env = {
      MEMVAULT_MASTER_KEY: randomBytes(32).toString('base64'),
      MEMVAULT_DATABASE_URL: TEST_DATABASE_URL,
      MEMVAULT_DATABASE_SCHEMA: fx.schema,
    };
    a = await startChannelServer(env);
    b = await startChannelServer(env);
    const res = await fetch(`${a.base}/v1/auth/sign-up`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ phone: PHONE, password: 'correct horse battery staple 42', name: 'Ana' }),
    });
    expect(res.status).toBe(201);
    token = ((await res.json()) as { token: string }).token;
  }, 120_000);

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await fx?.drop();
  });

  const lastText = (s: ChannelServer) => String(s.telegram.sent(CHAT).at(-1)?.body.text ?? '');

  it('a link started on server A (web) and B (chat) and finished on A is used by B', async () => {
    const link = await fetch(`${a.base}/v1/channels/telegram/link`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(link.status).toBe(200);
    const url = String(((await link.json()) as { url: string }).url);
    const start = /\?start=([A-Za-z0-9_-]{16,64})$/.exec(url)![1]!;
    // The token issued by A is taken by B; B's pending link is finished by the contact A receives.
    expect((await b.tg(tgMessage(next(), CHAT, { text: `/start ${start}` }))).status).toBe(200);
    expect(lastText(b)).toContain('Share my phone number');
    // Used up across servers: the same token on A links nothing.
    expect((await a.tg(tgMessage(next(), CHAT + 1, { text: `/start ${start}` }))).status).toBe(200);
    expect(String(a.telegram.sent(CHAT + 1).at(-1)?.body.text)).toContain('expired or was already used');
    const contact = { contact: { phone_number: PHONE.slice(1), first_name: 'Ana', user_id: CHAT } };
    expect((await a.tg(tgMessage(next(), CHAT, contact))).status).toBe(200);
    expect(lastText(a)).toContain('Welcome to memvault, Ana');
    // B knows the chat now: a message to B is stored for Ana.
    expect((await b.tg(tgMessage(next(), CHAT, { text: 'bought new hiking boots in Porto' }))).status).toBe(200);
    const stored = await a.memories(userId);
    expect(stored.total).toBe(1);
    // The preferences are shared too: the link shows in B's API.
    const prefs = await fetch(`${b.base}/v1/settings/channels`, { headers: { authorization: `Bearer ${token}` } });
    expect(JSON.stringify(await prefs.json())).toContain(String(CHAT));
  });

  it('a provider retry delivered to both servers at once, and later again, stores one memory', async () => {
    const before = (await a.memories(userId)).total;
    const update = tgMessage(900_001, CHAT, { text: 'the plumber comes on tuesday at nine' });
    const answers = await Promise.all([a.tg(update), b.tg(update), a.tg(update), b.tg(update)]);
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect((await b.tg(update)).status).toBe(200);
    expect((await a.memories(userId)).total).toBe(before + 1);
    // A different message is not mistaken for the retry.
    expect((await b.tg(tgMessage(900_002, CHAT, { text: 'and the electrician on friday' }))).status).toBe(200);
    expect((await a.memories(userId)).total).toBe(before + 2);
  });
});
