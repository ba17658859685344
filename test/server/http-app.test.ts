import { describe, expect, it } from 'vitest';
import { FAKE_TOTP, fakeApp, GOOD_PASSKEY } from './fakes.js';

type App = ReturnType<typeof fakeApp>['app'];
const PHONE = '+14155550134';
const PASSWORD = 'correct horse battery';

function post(path: string, body: unknown, headers: Record<string, string> = {}): [string, RequestInit] {
  return [
    path,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    },
  ];
}

async function signUp(app: App, phone = PHONE): Promise<string> {
  const res = await app.request(...post('/v1/auth/sign-up', { phone, password: PASSWORD }));
  expect(res.status).toBe(201);
  const body = (await res.json()) as { token: string };
  return body.token;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function errorOf(res: Response) {
  return ((await res.json()) as { error: { code: string; message: string; reason?: string } }).error;
}

describe('system routes', () => {
  it('answers health and readiness', async () => {
    const { app } = fakeApp();
    const health = await app.request('/v1/health');
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    expect((await app.request('/v1/ready')).status).toBe(200);
  });

  it('reports not ready when the probe fails', async () => {
    const { createHttpApp } = await import('../../src/server/http-app.js');
    const fx = fakeApp();
    const app = createHttpApp({
      memory: fx.memory,
      auth: fx.auth,
      audit: fx.audit,
      logger: (await import('pino')).default({ level: 'silent' }),
      config: { cookieSecure: false, maxBodyBytes: 1024, webauthnOrigin: 'http://localhost', web: false },
      ready: async () => {
        throw new Error('disk gone');
      },
    });
    const res = await app.request('/v1/ready');
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      status: 'not_ready',
      worker: { index: 0, pid: process.pid },
      checks: { vault: 'failed' },
    });
  });

  it('publishes an OpenAPI document listing every route', async () => {
    const { app } = fakeApp();
    const res = await app.request('/v1/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>>; components: unknown };
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    expect(routes.sort()).toEqual(
      [
        'get /v1/health',
        'get /v1/ready',
        'post /v1/auth/sign-up',
        'post /v1/auth/sign-in',
        'get /v1/me',
        'patch /v1/me',
        'post /v1/auth/password',
        'post /v1/auth/unlock',
        'post /v1/auth/lock',
        'post /v1/auth/sign-out',
        'post /v1/auth/sign-out-everywhere',
        'post /v1/auth/totp/begin',
        'post /v1/auth/totp/confirm',
        'post /v1/auth/passkeys/registration-options',
        'post /v1/auth/passkeys',
        'post /v1/auth/passkeys/authentication-options',
        'post /v1/memories',
        'get /v1/memories',
        'get /v1/memories/{id}',
        'patch /v1/memories/{id}',
        'delete /v1/memories/{id}',
        'get /v1/memories/{id}/versions',
        'post /v1/memories/{id}/restore',
        'get /v1/trash',
        'delete /v1/trash',
        'get /v1/memories/{id}/related',
        'post /v1/search',
        'get /v1/audit',
      ].sort(),
    );
    expect(JSON.stringify(doc.components)).toContain('"bearer"');
    // Every pattern is a plain ECMA regex (no flags smuggled into the string) and request objects are closed.
    const patterns = [...JSON.stringify(doc).matchAll(/"pattern":"((?:[^"\\]|\\.)*)"/g)].map(
      (m) => JSON.parse(`"${m[1]}"`) as string,
    );
    expect(patterns.length).toBeGreaterThan(3);
    for (const pattern of patterns) {
      expect(pattern.endsWith('$'), pattern).toBe(true);
      expect(() => new RegExp(pattern)).not.toThrow();
    }
    const schemas = (doc.components as { schemas: Record<string, { additionalProperties?: boolean }> }).schemas;
    for (const name of ['SignUp', 'SignIn', 'Unlock', 'Remember', 'Search', 'Correct']) {
      expect(schemas[name]?.additionalProperties, name).toBe(false);
    }
  });

  it('answers unknown routes with the error body', async () => {
    const { app } = fakeApp();
    const res = await app.request('/v1/nope');
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe('NOT_FOUND');
  });
});

describe('sign-up and sign-in', () => {
  it('signs up and returns a bearer token once', async () => {
    const { app } = fakeApp();
    const res = await app.request(...post('/v1/auth/sign-up', { phone: '+1 (415) 555-0134', password: PASSWORD }));
    expect(res.status).toBe(201);
    const body = (await res.json()) as { token: string; user: { userId: string }; session: { unlocked: number[] } };
    expect(body.token).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    expect(body.user.userId).toBe(PHONE);
    expect(body.session.unlocked).toEqual([1, 2]);
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it('refuses a second account for the same phone (409)', async () => {
    const { app } = fakeApp();
    await signUp(app);
    const res = await app.request(...post('/v1/auth/sign-up', { phone: PHONE, password: PASSWORD }));
    expect(res.status).toBe(409);
    expect((await errorOf(res)).code).toBe('CONFLICT');
  });

  it('rejects a phone that is not a phone number with 422 and stores nothing', async () => {
    const { app, memory } = fakeApp();
    const res = await app.request(...post('/v1/auth/sign-up', { phone: '../../etc/passwd', password: PASSWORD }));
    expect(res.status).toBe(422);
    expect(await errorOf(res)).toMatchObject({ code: 'VALIDATION_ERROR' });
    expect(memory.profiles.size).toBe(0);
  });

  it('signs in with the password, and refuses a wrong one without saying which part was wrong', async () => {
    const { app } = fakeApp();
    await signUp(app);
    const ok = await app.request(...post('/v1/auth/sign-in', { phone: PHONE, password: PASSWORD }));
    expect(ok.status).toBe(200);
    const bad = await app.request(...post('/v1/auth/sign-in', { phone: PHONE, password: 'nope' }));
    expect(bad.status).toBe(401);
    const err = await errorOf(bad);
    expect(err).toMatchObject({ code: 'SECURITY_ERROR', reason: 'authentication_failed' });
    expect(JSON.stringify(err)).not.toContain('nope');
  });

  it('maps a lockout to 423', async () => {
    const { app } = fakeApp({ authRateLimit: { capacity: 100, perMinute: 100 } });
    await signUp(app);
    for (let i = 0; i < 5; i++) await app.request(...post('/v1/auth/sign-in', { phone: PHONE, password: 'wrong' }));
    const res = await app.request(...post('/v1/auth/sign-in', { phone: PHONE, password: PASSWORD }));
    expect(res.status).toBe(423);
    // Issue 16 #15: the wait travels as one detail name, and as the Retry-After header.
    expect(res.headers.get('retry-after')).toBe('30');
    expect(await errorOf(res)).toMatchObject({ reason: 'locked_out', details: { retryAfterSeconds: 30 } });
  });

  it('sends a Permissions-Policy that turns off powerful features the app never uses', async () => {
    const { app } = fakeApp();
    const res = await app.request('/v1/health');
    const policy = res.headers.get('permissions-policy') ?? '';
    for (const feature of ['camera=()', 'microphone=()', 'geolocation=()', 'payment=()', 'usb=()']) {
      expect(policy).toContain(feature);
    }
    // The web app's passkeys need WebAuthn on its own origin.
    expect(policy).toContain('publickey-credentials-get=(self)');
  });

  it('rate-limits a burst of 1,000 sign-in attempts with 429 and Retry-After', async () => {
    const { app, auth } = fakeApp();
    await signUp(app);
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 1000; i++) {
      const res = await app.request(...post('/v1/auth/sign-in', { phone: PHONE, password: `guess-${i}` }));
      statuses.push(res.status);
      if (res.status === 429) retryAfter ??= res.headers.get('retry-after');
    }
    const limited = statuses.filter((s) => s === 429).length;
    // Sign-up spent one token of the IP's bucket of 10.
    expect(limited).toBe(991);
    // The service saw sign-up's sign-in and 9 attempts; the other 991 never reached it.
    expect(auth.signIns).toBe(10);
    expect(Number(retryAfter)).toBeGreaterThan(0);
  });

  it('rate-limits unlock attempts per session', async () => {
    const { app } = fakeApp({ authRateLimit: { capacity: 3, perMinute: 1 } });
    const token = await signUp(app);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await app.request(
        ...post('/v1/auth/unlock', { level: 3, password: `guess-${i}`, totp: '000000' }, bearer(token)),
      );
      statuses.push(res.status);
    }
    // Sign-up took one token of the IP's bucket; two wrong guesses pass, then 429.
    expect(statuses).toEqual([401, 401, 429, 429, 429, 429]);
  });

  it('refills the bucket over time', async () => {
    const { app, clock } = fakeApp({ authRateLimit: { capacity: 2, perMinute: 6 } });
    await signUp(app);
    const attempt = () => app.request(...post('/v1/auth/sign-in', { phone: PHONE, password: PASSWORD }));
    expect((await attempt()).status).toBe(200);
    expect((await attempt()).status).toBe(429);
    clock.advance(10_000);
    expect((await attempt()).status).toBe(200);
  });
});

describe('bad input: nothing is stored on a rejection', () => {
  async function setup() {
    const fx = fakeApp({ maxBodyBytes: 2048 });
    const token = await signUp(fx.app);
    const count = () => fx.memory.entries.get(PHONE as never)?.length ?? 0;
    return { ...fx, token, count };
  }

  it('malformed JSON → 400', async () => {
    const { app, token, count } = await setup();
    const res = await app.request(...post('/v1/memories', '{"text": "hi",', bearer(token)));
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe('VALIDATION_ERROR');
    expect(count()).toBe(0);
  });

  it('a wrong content type → 415', async () => {
    const { app, token, count } = await setup();
    const res = await app.request('/v1/memories', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', ...bearer(token) },
      body: JSON.stringify({ text: 'hello' }),
    });
    expect(res.status).toBe(415);
    expect((await errorOf(res)).code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const formRes = await app.request('/v1/memories', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...bearer(token) },
      body: 'text=hello',
    });
    expect(formRes.status).toBe(415);
    expect(count()).toBe(0);
  });

  it('a body with no content type → 415', async () => {
    const { app, token, count } = await setup();
    const res = await app.request('/v1/memories', {
      method: 'POST',
      headers: bearer(token),
      body: new TextEncoder().encode(JSON.stringify({ text: 'hello' })),
    });
    expect(res.status).toBe(415);
    expect(count()).toBe(0);
  });

  it('an oversized body → 413, by declared length and by streamed length', async () => {
    const { app, token, count } = await setup();
    const big = JSON.stringify({ text: 'x'.repeat(5000) });
    const declared = await app.request(
      ...post('/v1/memories', big, { ...bearer(token), 'content-length': String(big.length) }),
    );
    expect(declared.status).toBe(413);
    expect((await errorOf(declared)).code).toBe('PAYLOAD_TOO_LARGE');
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const streamed = await app.request('/v1/memories', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(token) },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(count()).toBe(0);
  });

  it('unknown fields → 400 naming the field', async () => {
    const { app, token, count } = await setup();
    const res = await app.request(...post('/v1/memories', { text: 'hello', admin: true }, bearer(token)));
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toBe('Invalid body. Unrecognized key: "admin".');
    const typed = await app.request(...post('/v1/memories', { text: 5 }, bearer(token)));
    expect((await errorOf(typed)).message).toBe('Invalid body. text: Invalid input: expected string, received number.');
    const signUpRes = await app.request(
      ...post('/v1/auth/sign-up', { phone: '+14155550135', password: PASSWORD, maxLevel: 4 }),
    );
    expect(signUpRes.status).toBe(400);
    expect(count()).toBe(0);
  });

  it('wrong types → 400', async () => {
    const { app, token, count } = await setup();
    for (const body of [
      { text: 42 },
      { text: ['a'] },
      { text: 'ok', category: 'TOPSECRET' },
      { text: 'ok', at: 'soon' },
      [],
      null,
    ]) {
      const res = await app.request(...post('/v1/memories', body, bearer(token)));
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    const empty = await app.request(...post('/v1/memories', { text: '   ' }, bearer(token)));
    expect(empty.status).toBe(400);
    expect(count()).toBe(0);
  });

  it('traversal and junk in ids → 400 before anything runs', async () => {
    const { app, token } = await setup();
    for (const id of [
      '..%2F..%2Fetc%2Fpasswd',
      '..%5C..%5Cwin.ini',
      'abc',
      '01JDQ8Z6M0000000000000000I',
      "01JDQ8Z6M0'0000000000000000",
    ]) {
      const res = await app.request(`/v1/memories/${id}`, { headers: bearer(token) });
      expect(res.status, id).toBe(400);
      expect((await errorOf(res)).code).toBe('VALIDATION_ERROR');
    }
    const del = await app.request('/v1/memories/..%2F..%2FUSER', { method: 'DELETE', headers: bearer(token) });
    expect(del.status).toBe(400);
    // A literal ../ is resolved by the URL parser and lands outside /v1/memories: no route.
    for (const path of ['/v1/memories/../../etc/passwd', '/v1/memories/%2e%2e/%2e%2e/etc']) {
      expect((await app.request(path, { headers: bearer(token) })).status, path).toBe(404);
    }
  });

  it('bad query parameters → 400', async () => {
    const { app, token } = await setup();
    for (const q of ['limit=0', 'limit=abc', 'categories=FOO', 'levels=5', 'order=sideways', 'evil=1']) {
      const res = await app.request(`/v1/memories?${q}`, { headers: bearer(token) });
      expect(res.status, q).toBe(400);
    }
  });
});

describe('tokens', () => {
  it('a missing token → 401', async () => {
    const { app } = fakeApp();
    const res = await app.request('/v1/memories');
    expect(res.status).toBe(401);
    expect((await errorOf(res)).reason).toBe('authentication_failed');
  });

  it('a forged token → 401, and a malformed header → 401', async () => {
    const { app, memory } = fakeApp();
    await signUp(app);
    const forged = await app.request(...post('/v1/memories', { text: 'hi' }, bearer('A'.repeat(32))));
    expect(forged.status).toBe(401);
    for (const header of ['Basic abc', 'Bearer', 'Bearer a b', `Bearer ${'x'.repeat(600)}`, 'Bearer <script>']) {
      const res = await app.request('/v1/memories', { headers: { authorization: header } });
      expect(res.status, header).toBe(401);
    }
    expect(memory.entries.get(PHONE as never)).toEqual([]);
  });

  it('an expired token → 401 session_expired', async () => {
    const { app, clock } = fakeApp();
    const token = await signUp(app);
    clock.advance(25 * 3600_000);
    const res = await app.request('/v1/memories', { headers: bearer(token) });
    expect(res.status).toBe(401);
    expect((await errorOf(res)).reason).toBe('session_expired');
  });

  it('sign-out ends the session', async () => {
    const { app } = fakeApp();
    const token = await signUp(app);
    const out = await app.request('/v1/auth/sign-out', { method: 'POST', headers: bearer(token) });
    expect(out.status).toBe(204);
    expect((await app.request('/v1/me', { headers: bearer(token) })).status).toBe(401);
  });
});

describe('memories and levels', () => {
  it('stores, lists with locked counts, opens a level with its factors and locks it again', async () => {
    const { app } = fakeApp();
    const token = await signUp(app);
    const texts = ['Yesterday I went on a hike', 'My doctor said rest', 'My bank password is hunter2'];
    const ids: string[] = [];
    for (const text of texts) {
      const res = await app.request(...post('/v1/memories', { text }, bearer(token)));
      expect(res.status).toBe(201);
      const body = (await res.json()) as { memory: { id: string; level: number }; reply: string };
      ids.push(body.memory.id);
    }
    const list = async () =>
      (await (await app.request('/v1/memories', { headers: bearer(token) })).json()) as {
        memories: { content: string }[];
        locked: number;
      };
    const before = await list();
    expect(before.memories.map((m) => m.content)).toEqual([texts[1], texts[0]]);
    expect(before.locked).toBe(1);
    expect(JSON.stringify(before)).not.toContain('hunter2');

    const locked = await app.request(`/v1/memories/${ids[2]}`, { headers: bearer(token) });
    expect(locked.status).toBe(403);
    const lockedBody = await errorOf(locked);
    expect(lockedBody.reason).toBe('insufficient_permissions');
    expect(JSON.stringify(lockedBody)).not.toContain('hunter2');

    const noTotp = await app.request(...post('/v1/auth/unlock', { level: 3, password: PASSWORD }, bearer(token)));
    expect(noTotp.status).toBe(403);
    const unlock = await app.request(
      ...post('/v1/auth/unlock', { level: 3, password: PASSWORD, totp: FAKE_TOTP }, bearer(token)),
    );
    expect(unlock.status).toBe(200);
    expect(((await unlock.json()) as { session: { unlocked: number[] } }).session.unlocked).toEqual([1, 2, 3]);
    expect((await list()).locked).toBe(0);
    expect((await app.request(`/v1/memories/${ids[2]}`, { headers: bearer(token) })).status).toBe(200);

    const lock = await app.request(...post('/v1/auth/lock', {}, bearer(token)));
    expect(((await lock.json()) as { session: { unlocked: number[] } }).session.unlocked).toEqual([1]);
    expect((await list()).locked).toBe(2);
  });

  it('unlocks level 4 with a passkey and refuses a bad one', async () => {
    const { app } = fakeApp();
    const token = await signUp(app);
    const bad = await app.request(
      ...post(
        '/v1/auth/unlock',
        { level: 4, password: PASSWORD, passkey: { id: 'evil', type: 'public-key' } },
        bearer(token),
      ),
    );
    expect(bad.status).toBe(401);
    expect((await errorOf(bad)).reason).toBe('biometric_failed');
    const ok = await app.request(
      ...post('/v1/auth/unlock', { level: 4, password: PASSWORD, passkey: GOOD_PASSKEY }, bearer(token)),
    );
    expect(ok.status).toBe(200);
  });

  it('filters, corrects, lists related and deletes', async () => {
    const { app } = fakeApp();
    const token = await signUp(app);
    const created = await app.request(...post('/v1/memories', { text: 'Today a hike with Sara' }, bearer(token)));
    const { memory } = (await created.json()) as { memory: { id: string; category: string } };
    expect(memory.category).toBe('CHRONOLOGICAL');
    await app.request(...post('/v1/memories', { text: 'Tea is nice' }, bearer(token)));

    const filtered = await app.request('/v1/memories?categories=chronological&tags=hiking', { headers: bearer(token) });
    expect(((await filtered.json()) as { memories: unknown[] }).memories).toHaveLength(1);

    const patched = await app.request(`/v1/memories/${memory.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', ...bearer(token) },
      body: JSON.stringify({ category: 'CONFIDENTIAL' }),
    });
    expect(patched.status).toBe(200);
    expect(((await patched.json()) as { memory: { level: number } }).memory.level).toBe(2);

    const related = await app.request(`/v1/memories/${memory.id}/related`, { headers: bearer(token) });
    expect(await related.json()).toEqual({ memories: [] });

    const del = await app.request(`/v1/memories/${memory.id}`, { method: 'DELETE', headers: bearer(token) });
    expect(del.status).toBe(204);
    const gone = await app.request(`/v1/memories/${memory.id}`, { headers: bearer(token) });
    expect(gone.status).toBe(404);
  });

  it('searches only unlocked levels and returns the audit log', async () => {
    const { app } = fakeApp();
    const token = await signUp(app);
    await app.request(...post('/v1/memories', { text: 'My pin is 1234 for the bank' }, bearer(token)));
    await app.request(...post('/v1/memories', { text: 'The bank opens at nine' }, bearer(token)));
    const res = await app.request(...post('/v1/search', { query: 'bank' }, bearer(token)));
    expect(res.status).toBe(200);
    const { results } = (await res.json()) as { results: { memory: { content: string } }[] };
    expect(results.map((r) => r.memory.content)).toEqual(['The bank opens at nine']);

    const audit = await app.request('/v1/audit?limit=10', { headers: bearer(token) });
    const { records } = (await audit.json()) as { records: { action: string; mac?: string }[] };
    expect(records[0]?.action).toBe('sign-in');
    expect(records[0]).not.toHaveProperty('mac');
  });
});

describe('web sessions: cookies and CSRF', () => {
  async function cookieSession(app: App) {
    await signUp(app);
    const res = await app.request(...post('/v1/auth/sign-in', { phone: PHONE, password: PASSWORD, session: 'cookie' }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { csrfToken: string; token?: string };
    const cookies = res.headers.getSetCookie();
    const session = cookies.find((c) => c.startsWith('mv_session='));
    const csrf = cookies.find((c) => c.startsWith('mv_csrf='));
    const jar = [session, csrf].map((c) => c?.split(';')[0]).join('; ');
    return { body, session, csrf, jar };
  }

  it('sets an HttpOnly SameSite=Strict session cookie and a readable CSRF cookie, and no token in the body', async () => {
    const { app } = fakeApp();
    const { body, session, csrf } = await cookieSession(app);
    expect(body.token).toBeUndefined();
    expect(session).toMatch(/HttpOnly/);
    expect(session).toMatch(/SameSite=Strict/);
    expect(session).not.toMatch(/Secure/);
    expect(csrf).not.toMatch(/HttpOnly/);
    expect(csrf).toContain(body.csrfToken);
  });

  it('signing in again from the same browser ends the old session', async () => {
    const { app, auth } = fakeApp();
    const { jar } = await cookieSession(app);
    const oldToken = /mv_session=([^;]+)/.exec(jar)?.[1] ?? '';
    expect(auth.sessions.has(oldToken)).toBe(true);
    const again = await app.request(
      ...post('/v1/auth/sign-in', { phone: PHONE, password: PASSWORD, session: 'cookie' }, { cookie: jar }),
    );
    expect(again.status).toBe(200);
    expect(auth.sessions.has(oldToken)).toBe(false);
  });

  it('marks cookies Secure when configured', async () => {
    const { app } = fakeApp({ cookieSecure: true });
    const { session, csrf } = await cookieSession(app);
    expect(session).toMatch(/Secure/);
    expect(csrf).toMatch(/Secure/);
  });

  it('refuses a cookie write without its CSRF token, and stores nothing', async () => {
    const { app, memory } = fakeApp();
    const { jar, body } = await cookieSession(app);
    const without = await app.request(...post('/v1/memories', { text: 'hello' }, { cookie: jar }));
    expect(without.status).toBe(403);
    expect((await errorOf(without)).reason).toBe('csrf_failed');
    const wrong = await app.request(
      ...post('/v1/memories', { text: 'hello' }, { cookie: jar, 'x-csrf-token': 'A'.repeat(43) }),
    );
    expect(wrong.status).toBe(403);
    expect(memory.entries.get(PHONE as never)).toEqual([]);

    const ok = await app.request(
      ...post('/v1/memories', { text: 'hello' }, { cookie: jar, 'x-csrf-token': body.csrfToken }),
    );
    expect(ok.status).toBe(201);
    expect(((await ok.json()) as { memory: { channel: string } }).memory.channel).toBe('web');
    // Reads need no CSRF token.
    expect((await app.request('/v1/memories', { headers: { cookie: jar } })).status).toBe(200);
  });

  it('refuses a CSRF token minted for another session', async () => {
    const { app } = fakeApp();
    const first = await cookieSession(app);
    const second = await app.request(
      ...post('/v1/auth/sign-in', { phone: PHONE, password: PASSWORD, session: 'cookie' }),
    );
    const secondJar = second.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const mixed = secondJar.replace(/mv_csrf=[^;]+/, `mv_csrf=${first.body.csrfToken}`);
    const res = await app.request(
      ...post('/v1/memories', { text: 'x' }, { cookie: mixed, 'x-csrf-token': first.body.csrfToken }),
    );
    expect(res.status).toBe(403);
  });

  it('refuses a write from a foreign Origin', async () => {
    const { app } = fakeApp();
    const { jar, body } = await cookieSession(app);
    const res = await app.request(
      ...post(
        '/v1/memories',
        { text: 'x' },
        { cookie: jar, 'x-csrf-token': body.csrfToken, origin: 'https://evil.example' },
      ),
    );
    expect(res.status).toBe(403);
    const ours = await app.request(
      ...post(
        '/v1/memories',
        { text: 'x' },
        { cookie: jar, 'x-csrf-token': body.csrfToken, origin: 'http://localhost:8787' },
      ),
    );
    expect(ours.status).toBe(201);
  });

  it('sign-out clears both cookies', async () => {
    const { app } = fakeApp();
    const { jar, body } = await cookieSession(app);
    const res = await app.request('/v1/auth/sign-out', {
      method: 'POST',
      headers: { cookie: jar, 'x-csrf-token': body.csrfToken },
    });
    expect(res.status).toBe(204);
    const cleared = res.headers.getSetCookie();
    expect(cleared.some((c) => c.startsWith('mv_session=;') && /Max-Age=0/.test(c))).toBe(true);
    expect(cleared.some((c) => c.startsWith('mv_csrf=;'))).toBe(true);
  });
});

describe('web app', () => {
  it('serves the page with a strict content security policy', async () => {
    const { app } = fakeApp();
    const res = await app.request('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
  });

  it('states the password policy’s own minimum in the page, for the hint and the field to use', async () => {
    const { PASSWORD_MIN_LENGTH } = await import('../../src/security/passwords.js');
    const { app } = fakeApp();
    const html = await (await app.request('/')).text();
    expect(html).toContain(`<meta name="memvault-password-min-length" content="${PASSWORD_MIN_LENGTH}" />`);
  });

  it('never serves a file outside its table', async () => {
    const { app } = fakeApp();
    for (const path of ['/assets/..%2F..%2Fpackage.json', '/assets/%2e%2e/%2e%2e/package.json', '/assets/nope.js']) {
      expect((await app.request(path)).status, path).toBe(404);
    }
  });
});

describe('storage failures on the wire', () => {
  it('never show absolute server paths or lock owners’ pids', async () => {
    const { storageError } = await import('../../src/core/errors.js');
    const { app, memory } = fakeApp();
    const token = await signUp(app);
    memory.list = async () => {
      throw storageError(
        'Timed out after 30000 ms waiting for the lock on /srv/memvault/data/users/+14155550134 (held by process 4242 on host-a). If no memvault process is running, delete /srv/memvault/data/users/+14155550134/.lock.',
        undefined,
        { file: '/srv/memvault/data/users/+14155550134/.lock' },
      );
    };
    const res = await app.request('/v1/memories', { headers: bearer(token) });
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(text).not.toContain('/srv/memvault');
    expect(text).not.toContain('4242');
    expect(JSON.parse(text).error).toMatchObject({ code: 'STORAGE_ERROR', message: expect.stringContaining('lock') });
  });
});
