import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeUserId } from '../../src/core/user-id.js';
import { type RealServer, startRealServer } from './real.js';

/** The Settings page's API over the real wiring: PATCH /v1/me (name, time zone, locale) and POST /v1/auth/password. */

const PHONE = '+14155550188';
const PASSWORD = 'a long and private passphrase 42';
const NEW_PASSWORD = 'another quiet passphrase 77';

describe('settings API (real wiring)', () => {
  let server: RealServer;

  const call = async (method: string, path: string, body?: unknown, token?: string) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    // biome-ignore lint/suspicious/noExplicitAny: a JSON answer, checked by the assertions
    const answer: Record<string, any> = text ? JSON.parse(text) : {};
    return { status: res.status, body: answer };
  };
  const signIn = async (password: string) => (await call('POST', '/v1/auth/sign-in', { phone: PHONE, password })).body;

  beforeAll(async () => {
    server = await startRealServer();
    const up = await call('POST', '/v1/auth/sign-up', { phone: PHONE, password: PASSWORD, name: 'Ana' });
    expect(up.status).toBe(201);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('changes the name, time zone and locale, keeps what is not sent, and stores them in the profile file', async () => {
    const { token } = await signIn(PASSWORD);
    const changed = await call(
      'PATCH',
      '/v1/me',
      { name: 'Ana Lima', timezone: 'Europe/Lisbon', locale: 'pt-PT' },
      token,
    );
    expect(changed.status).toBe(200);
    expect(changed.body.user).toMatchObject({ name: 'Ana Lima', timezone: 'Europe/Lisbon', locale: 'pt-PT' });
    const partial = await call('PATCH', '/v1/me', { name: 'Ana' }, token);
    expect(partial.body.user).toMatchObject({ name: 'Ana', timezone: 'Europe/Lisbon', locale: 'pt-PT' });
    expect((await call('GET', '/v1/me', undefined, token)).body.user.locale).toBe('pt-PT');
    // getProfile reads the USER file again: the change is on disk, not only in this answer.
    const stored = await server.mv.vault.getProfile(normalizeUserId(PHONE));
    expect(stored).toMatchObject({ name: 'Ana', timezone: 'Europe/Lisbon', preferences: { locale: 'pt-PT' } });
    // An empty locale follows the browser again.
    expect((await call('PATCH', '/v1/me', { locale: '' }, token)).body.user.locale).toBeNull();
  });

  it('refuses a bad time zone, locale or name with the field named, and needs a session', async () => {
    const { token } = await signIn(PASSWORD);
    // Schema refusals are 400, the domain's (an unknown zone, a two-line name, a weak password) 422.
    const zone = await call('PATCH', '/v1/me', { timezone: 'Mars/Olympus' }, token);
    expect(zone.status).toBe(422);
    expect(zone.body.error).toMatchObject({ code: 'VALIDATION_ERROR', details: { field: 'timezone' } });
    const locale = await call('PATCH', '/v1/me', { locale: 'not a locale' }, token);
    expect(locale.status).toBe(400);
    expect(JSON.stringify(locale.body.error.details)).toContain('locale');
    const name = await call('PATCH', '/v1/me', { name: 'two\nlines' }, token);
    expect(name.status).toBe(422);
    expect(name.body.error.details).toMatchObject({ field: 'name' });
    expect((await call('PATCH', '/v1/me', { name: 'x', extra: 1 }, token)).status).toBe(400);
    expect((await call('PATCH', '/v1/me', { name: 'x' })).status).toBe(401);
  });

  it('changes the password only with the current one, and then every session ends', async () => {
    const { token } = await signIn(PASSWORD);
    const other = (await signIn(PASSWORD)).token;
    const wrong = await call('POST', '/v1/auth/password', { current: 'not it', password: NEW_PASSWORD }, token);
    expect(wrong.status).toBe(401);
    const weak = await call('POST', '/v1/auth/password', { current: PASSWORD, password: 'short' }, token);
    expect(weak.status).toBe(422);
    expect(weak.body.error.details).toMatchObject({ field: 'password' });
    const ok = await call('POST', '/v1/auth/password', { current: PASSWORD, password: NEW_PASSWORD }, token);
    expect(ok.status).toBe(204);
    expect((await call('GET', '/v1/me', undefined, token)).status).toBe(401);
    expect((await call('GET', '/v1/me', undefined, other)).status).toBe(401);
    expect((await call('POST', '/v1/auth/sign-in', { phone: PHONE, password: PASSWORD })).status).toBe(401);
    expect((await signIn(NEW_PASSWORD)).token).toEqual(expect.any(String));
  });
});

describe('password change is rate-limited (real wiring)', () => {
  it('refuses guesses at the current password with 429 once the bucket is empty, the right one too', async () => {
    // Four tokens a minute: sign-up and sign-in take two of the address's bucket, two guesses pass, then 429.
    const server = await startRealServer({ authRateLimit: { capacity: 4, perMinute: 1 } });
    try {
      const post = async (path: string, body: unknown, token?: string) =>
        fetch(`${server.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify(body),
        });
      expect((await post('/v1/auth/sign-up', { phone: PHONE, password: PASSWORD, name: 'Ana' })).status).toBe(201);
      const { token } = (await (await post('/v1/auth/sign-in', { phone: PHONE, password: PASSWORD })).json()) as {
        token: string;
      };
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (const current of ['guess one', 'guess two', 'guess three', PASSWORD]) {
        const res = await post('/v1/auth/password', { current, password: NEW_PASSWORD }, token);
        statuses.push(res.status);
        if (res.status === 429) retryAfter ??= res.headers.get('retry-after');
      }
      expect(statuses).toEqual([401, 401, 429, 429]);
      expect(Number(retryAfter)).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });
});
