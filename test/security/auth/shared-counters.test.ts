import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isMemvaultError } from '../../../src/core/errors.js';
import type { Clock } from '../../../src/ports/clock.js';
import { SharedLockout } from '../../../src/security/shared-lockout.js';
import { SqliteSessionStore } from '../../../src/security/sqlite-session-store.js';
import { SharedRateLimiter } from '../../../src/server/rate-limit.js';

let dir: string;
let at: number;
const clock: Clock = { now: () => new Date(at) };
const stores: SqliteSessionStore[] = [];
/** A handle on the shared file, as one worker process has it. */
const worker = () => {
  const store = new SqliteSessionStore({ path: join(dir, 'sessions.db'), clock });
  stores.push(store);
  return store;
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mv-counters-'));
  at = Date.parse('2026-11-30T08:00:00Z');
});
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('lockout across workers', () => {
  it('failures counted by two workers add up to one lock that both enforce, and a success clears it', async () => {
    const a = new SharedLockout({ store: worker(), clock, policy: { threshold: 5 } });
    const b = new SharedLockout({ store: worker(), clock, policy: { threshold: 5 } });
    for (let i = 0; i < 4; i++) expect(await (i % 2 ? a : b).reserve('+14155550134', '198.51.100.7')).toBe(0);
    expect(await a.reserve('+14155550134', '198.51.100.8')).toBe(30); // same /24: the fifth failure locks
    for (const side of [a, b]) {
      const error = await side.assertOpen('+14155550134', '198.51.100.9').catch((e: unknown) => e);
      expect(isMemvaultError(error, 'SECURITY_ERROR') && error.reason).toBe('locked_out');
    }
    await expect(b.assertOpen('+14155550134', '203.0.113.1')).resolves.toBeUndefined(); // other networks: below 10
    await expect(b.assertOpen('+447700900123', '198.51.100.7')).resolves.toBeUndefined();
    at += 30_001;
    await b.succeed('+14155550134', '198.51.100.7');
    expect(await a.retryAfter('+14155550134', '198.51.100.7')).toBe(0);
  });

  it('parallel reservations from two workers never let more than the threshold through', async () => {
    const sides = [worker(), worker()].map((store) => new SharedLockout({ store, clock, policy: { threshold: 5 } }));
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => sides[i % 2]!.reserve('+14155550134', '198.51.100.7')),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
  });
});

describe('rate limits across workers', () => {
  it('two workers draw from one bucket per key; it refills with time', async () => {
    const a = new SharedRateLimiter({ capacity: 3, perMinute: 3 }, clock, worker());
    const b = new SharedRateLimiter({ capacity: 3, perMinute: 3 }, clock, worker());
    expect(await a.take(['ip:1'])).toBe(0);
    expect(await b.take(['ip:1'])).toBe(0);
    expect(await a.take(['ip:1'])).toBe(0);
    expect(await b.take(['ip:1'])).toBe(20);
    expect(await b.take(['ip:2'])).toBe(0);
    at += 20_000;
    expect(await b.take(['ip:1'])).toBe(0);
  });

  it('takes all keys or none: a refusal by one key gives the others their token back', async () => {
    const a = new SharedRateLimiter({ capacity: 1, perMinute: 1 }, clock, worker());
    expect(await a.take(['phone:x'])).toBe(0);
    expect(await a.take(['ip:1', 'phone:x'])).toBeGreaterThan(0);
    expect(await a.take(['ip:1'])).toBe(0); // ip:1 still had its token
    await a.reset('phone:x');
    expect(await a.take(['phone:x'])).toBe(0);
  });
});
