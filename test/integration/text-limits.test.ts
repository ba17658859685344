/**
 * One limit on a message's length and one rule for broken Unicode, the same through every edge (issue 18 #7):
 * the memory service's MEMVAULT_MAX_CONTENT_BYTES (UTF-8 bytes), and unpaired surrogates refused with a
 * VALIDATION_ERROR — while entries stored before that rule still read back as written.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.js';
import { createMemvault, type Memvault } from '../../src/app/container.js';
import { normalizeUserId } from '../../src/core/user-id.js';
import { createHttpApp } from '../../src/server/http-app.js';

const ORIGIN = 'http://localhost:8787';
const PHONE = '+14155550134';
const PASSWORD = 'Ultramarine-Walrus-1987!';
const LIMIT = 65_536;

let dataDir: string;
let mv: Memvault;
let app: ReturnType<typeof createHttpApp>;
let token: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'memvault-limits-'));
  // Level 1 kept as plain Markdown: the configuration in which unpaired surrogates used to be stored.
  const config = loadConfig({
    MEMVAULT_DATA_DIR: dataDir,
    MEMVAULT_LOG_LEVEL: 'silent',
    MEMVAULT_PUBLIC_URL: ORIGIN,
    MEMVAULT_LEVEL1: 'plain',
  });
  mv = await createMemvault(config);
  app = createHttpApp({
    memory: mv.memory,
    auth: mv.auth,
    audit: mv.audit,
    logger: mv.logger,
    config: { cookieSecure: false, maxBodyBytes: config.maxContentBytes * 2 + 16_384, webauthnOrigin: ORIGIN },
  });
  const res = await post('/v1/auth/sign-up', { phone: PHONE, password: PASSWORD });
  expect(res.status).toBe(201);
  token = ((await res.json()) as { token: string }).token;
});
afterAll(async () => {
  await mv.close();
  await rm(dataDir, { recursive: true, force: true });
});

function post(path: string, body: unknown, bearer?: string): Promise<Response> {
  return Promise.resolve(
    app.request(`${ORIGIN}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        origin: ORIGIN,
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
      },
      body: JSON.stringify(body),
    }),
  );
}

const principal = async () => ({
  userId: normalizeUserId(PHONE),
  opener: await mv.auth.channelOpener(normalizeUserId(PHONE)),
  meta: { channel: 'cli' },
});

describe('the one length limit', () => {
  it('accepts a message of 30,000 characters (under 64 KB) through HTTP and the service alike', async () => {
    const text = `Went kayaking. ${'a'.repeat(30_000)}`;
    expect((await post('/v1/memories', { text }, token)).status).toBe(201);
    const stored = await mv.memory.remember(await principal(), text, { channel: 'cli' });
    expect(stored.entry.content).toBe(text);
  });

  it('refuses one byte over the limit with the same VALIDATION_ERROR through HTTP and the service', async () => {
    const text = 'é'.repeat(LIMIT / 2) + 'x'; // 65,537 UTF-8 bytes in 32,769 characters
    const res = await post('/v1/memories', { text }, token);
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('VALIDATION_ERROR');
    await expect(mv.memory.remember(await principal(), text, { channel: 'cli' })).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
      message: body.error.message,
    });
    expect(body.error.message).toContain('64 KB');
  });
});

describe('unpaired surrogates', () => {
  it('are refused at the edge with a VALIDATION_ERROR, also where level 1 is stored unsealed', async () => {
    const text = 'Note to self \ud800 about the garden';
    // JSON.stringify escapes the lone surrogate as \ud800, which JSON.parse on the server turns back into it.
    const res = await post('/v1/memories', { text, category: 'GENERAL' }, token);
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ error: { code: 'VALIDATION_ERROR', details: { field: 'text' } } });
    await expect(
      mv.memory.remember(await principal(), text, { channel: 'cli', category: 'GENERAL' }),
    ).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    // A well-formed astral character (a surrogate pair) is ordinary text.
    expect((await post('/v1/memories', { text: 'Garden 🌱 planted', category: 'GENERAL' }, token)).status).toBe(201);
  });

  it('in an entry stored before the rule still read back as written', async () => {
    const userId = normalizeUserId(PHONE);
    const old = 'Written by an older version \udc00 kept as is';
    const entry = await mv.vault.append(userId, {
      date: new Date().toISOString(),
      eventDate: null,
      category: 'GENERAL',
      tags: [],
      content: old,
      analysis: 'stored before the rule',
      confidence: 1,
      emotionalContext: 'neutral',
      channel: 'cli',
      externalId: null,
    });
    expect((await mv.memory.get(await principal(), entry.id)).content).toBe(old);
  });
});
