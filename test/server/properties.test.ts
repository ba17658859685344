import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, MemvaultError, SECURITY_REASONS } from '../../src/core/errors.js';
import { errorPayload, statusOf } from '../../src/server/errors.js';
import { RateLimiter } from '../../src/server/rate-limit.js';
import { csrfTokenFor } from '../../src/server/session.js';
import { FakeClock, fakeApp } from './fakes.js';

const PHONE = '+14155550134';

async function signedUp() {
  const fx = fakeApp({ authRateLimit: { capacity: 1000, perMinute: 1000 } });
  const res = await fx.app.request('/v1/auth/sign-up', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ phone: PHONE, password: 'correct horse battery' }),
  });
  const { token } = (await res.json()) as { token: string };
  const count = () => fx.memory.entries.get(PHONE as never)?.length ?? 0;
  return { ...fx, token, count };
}

describe('error mapping', () => {
  it('maps every code and reason to a 4xx/5xx status', () => {
    for (const code of ERROR_CODES) {
      expect(statusOf(new MemvaultError(code, 'x'))).toBeGreaterThanOrEqual(400);
    }
    for (const reason of SECURITY_REASONS) {
      const status = statusOf(new MemvaultError('SECURITY_ERROR', 'x', { reason }));
      expect([401, 403, 423, 429]).toContain(status);
    }
  });

  it('never puts a detail outside the safe list on the wire', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), fc.string()), (details) => {
        const payload = errorPayload(new MemvaultError('VALIDATION_ERROR', 'bad', { details }));
        const allowed = ['field', 'fields', 'id', 'entryId', 'level', 'line', 'retryAfterSeconds', 'issues'];
        for (const key of Object.keys(payload.error.details ?? {})) expect(allowed).toContain(key);
        expect(JSON.stringify(payload)).not.toContain('stack');
      }),
    );
  });
});

describe('rate limiter', () => {
  it('never lets more through than the burst plus what time has refilled', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 120 }),
        fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 200 }),
        (capacity, perMinute, gaps) => {
          const clock = new FakeClock(0);
          const limiter = new RateLimiter({ capacity, perMinute }, clock);
          let allowed = 0;
          for (const gap of gaps) {
            clock.advance(gap);
            const wait = limiter.take(['k']);
            if (wait === 0) allowed++;
            else expect(wait).toBeGreaterThan(0);
          }
          expect(allowed).toBeLessThanOrEqual(capacity + Math.floor((clock.ms * perMinute) / 60_000) + 1);
        },
      ),
    );
  });

  it('keeps keys apart and forgets the oldest beyond its bound', () => {
    const clock = new FakeClock(0);
    const limiter = new RateLimiter({ capacity: 1, perMinute: 1, maxKeys: 2 }, clock);
    expect(limiter.take(['a'])).toBe(0);
    expect(limiter.take(['a'])).toBeGreaterThan(0);
    expect(limiter.take(['b'])).toBe(0);
    expect(limiter.take(['c'])).toBe(0); // evicts "a"
    expect(limiter.take(['a'])).toBe(0);
    expect(limiter.take(['a', 'b'])).toBeGreaterThan(0);
  });

  it('refuses a nonsensical configuration', () => {
    expect(() => new RateLimiter({ capacity: 0, perMinute: 1 }, new FakeClock())).toThrow(RangeError);
  });
});

describe('CSRF tokens', () => {
  it('differ per session token and per secret', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 16 }), fc.string({ minLength: 16 }), (a, b) => {
        fc.pre(a !== b);
        const secret = new Uint8Array(32).fill(1);
        expect(csrfTokenFor(secret, a)).not.toBe(csrfTokenFor(secret, b));
        expect(csrfTokenFor(secret, a)).not.toBe(csrfTokenFor(new Uint8Array(32).fill(2), a));
        expect(csrfTokenFor(secret, a)).toMatch(/^[A-Za-z0-9_-]{43}$/);
      }),
    );
  });
});

describe('arbitrary input never stores anything unexpected and never answers 500', () => {
  it('any JSON body to POST /v1/memories: 201 only for a valid one, else 400 and nothing stored', async () => {
    const { app, token, count } = await signedUp();
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue(), fc.record({ text: fc.string() })), async (body) => {
        const before = count();
        const res = await app.request('/v1/memories', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify(body),
        });
        const valid =
          typeof body === 'object' &&
          body !== null &&
          !Array.isArray(body) &&
          Object.keys(body).length === 1 &&
          typeof (body as { text?: unknown }).text === 'string' &&
          (body as { text: string }).text.trim().length > 0;
        expect(res.status).toBe(valid ? 201 : 400);
        expect(count()).toBe(valid ? before + 1 : before);
      }),
      { numRuns: 150 },
    );
  });

  it('any string as a memory id: 400 or 404, never a server error', async () => {
    const { app, token } = await signedUp();
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 60 }), async (raw) => {
        const res = await app.request(`/v1/memories/${encodeURIComponent(raw)}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        expect([400, 404]).toContain(res.status);
      }),
      { numRuns: 150 },
    );
  });
});
