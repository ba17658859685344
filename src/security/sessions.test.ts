import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SecurityLevel } from '../core/category.js';
import type { UserId } from '../core/entry.js';
import { MemvaultError } from '../core/errors.js';
import type { Clock } from '../ports/clock.js';
import type { EntryOpener } from '../ports/sealer.js';
import { type OpenerFactory, SessionStore } from './sessions.js';

const ALICE = '+14155550134' as UserId;
const BOB = '+442079460958' as UserId;
const MIN = 60_000;

/** An opener that "opens" by echoing which key it holds, so tests can see keys without real crypto. */
const fakeOpener: OpenerFactory = (_userId, keys) => {
  const held = new Map([...keys].map(([level, key]) => [level, Uint8Array.from(key)]));
  const opener: EntryOpener & { dispose(): void } = {
    canOpen: (level) => held.has(level),
    open: (ctx, payload) => `${payload}:${held.get(ctx.level)?.[0]}`,
    dispose: () => held.clear(),
  };
  return opener;
};

function setup(onLock: Array<[UserId, SecurityLevel[]]> = []) {
  let at = Date.parse('2026-11-26T12:00:00Z');
  const clock: Clock = { now: () => new Date(at) };
  const expired: string[] = [];
  const store = new SessionStore({
    clock,
    createOpener: fakeOpener,
    onLock: (userId, levels) => onLock.push([userId, levels]),
    onExpire: ({ id }) => expired.push(id),
  });
  const keys = () =>
    new Map<SecurityLevel, Uint8Array>([
      [1, new Uint8Array(32).fill(1)],
      [2, new Uint8Array(32).fill(2)],
    ]);
  return { store, keys, expired, advance: (ms: number) => (at += ms) };
}

const reasonOf = (fn: () => unknown) => {
  try {
    fn();
    return 'ok';
  } catch (error) {
    return (error as MemvaultError).reason;
  }
};
const ctx = (level: SecurityLevel) => ({ userId: ALICE, level, category: 'GENERAL' as const, entryId: 'e' });

describe('sessions', () => {
  it('hands out 256-bit base64url tokens once and keeps only their hash', () => {
    const { store, keys } = setup();
    const a = store.create(ALICE, keys());
    const b = store.create(ALICE, keys());
    expect(a.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.token).not.toBe(b.token);
    expect(a.session.id).not.toBe(b.session.id);
    expect(a.session.id).not.toContain(a.token.slice(0, 8));
    expect(a.session.tokenHash.toString('hex')).not.toContain(Buffer.from(a.token).toString('hex'));
    expect(store.resolve(a.token)).toBe(a.session);
  });

  it('locks each level after its idle limit and zeroes its key', () => {
    const locks: Array<[UserId, SecurityLevel[]]> = [];
    const { store, advance } = setup(locks);
    const key2 = new Uint8Array(32).fill(2);
    const key3 = new Uint8Array(32).fill(3);
    const { token, session } = store.create(
      ALICE,
      new Map<SecurityLevel, Uint8Array>([
        [1, new Uint8Array(32).fill(1)],
        [2, key2],
      ]),
    );
    store.unlock(session, 3, key3);
    advance(15 * MIN + 1);
    store.resolve(token);
    expect(session.unlocked).toEqual([1, 2]);
    expect(key3.every((b) => b === 0)).toBe(true);
    expect(reasonOf(() => session.opener.open(ctx(3), 'p'))).toBe('session_expired');
    advance(15 * MIN);
    store.resolve(token);
    expect(session.unlocked).toEqual([1]);
    expect(key2.every((b) => b === 0)).toBe(true);
    expect(locks).toEqual([
      [ALICE, [3]],
      [ALICE, [2]],
    ]);
  });

  it('using a level keeps it open; its absolute limit still ends it', () => {
    const { store, keys, advance } = setup();
    const { token, session } = store.create(ALICE, keys());
    for (let i = 0; i < 24; i++) {
      advance(29 * MIN);
      store.resolve(token);
      expect(session.opener.open(ctx(2), 'p')).toBe('p:2');
    }
    advance(29 * MIN); // 25 × 29 min > 12 h
    store.resolve(token);
    expect(session.opener.canOpen(2)).toBe(false);
  });

  it('an idle session expires as session_expired; a signed-out one is unknown', () => {
    const { store, keys, advance, expired } = setup();
    const a = store.create(ALICE, keys());
    const b = store.create(ALICE, keys());
    store.end(b.session);
    expect(reasonOf(() => store.resolve(b.token))).toBe('authentication_failed');
    advance(24 * 60 * MIN + 1);
    expect(reasonOf(() => store.resolve(a.token))).toBe('session_expired');
    expect(reasonOf(() => store.resolve(a.token))).toBe('session_expired');
    expect(expired).toEqual([a.session.id]);
    expect(store.size).toBe(0);
  });

  it('an opener kept past the session’s end opens nothing', () => {
    const { store, keys, advance, expired } = setup();
    const { session } = store.create(ALICE, keys());
    expect(session.opener.open(ctx(1), 'p')).toBe('p:1');
    advance(24 * 60 * MIN + 1);
    expect(session.opener.canOpen(1)).toBe(false);
    expect(expired).toEqual([session.id]);
    expect(store.size).toBe(0);
  });

  it('the sweeper expires idle keys without any request', () => {
    const { store, keys, advance } = setup();
    const key = new Uint8Array(32).fill(9);
    const { session } = store.create(ALICE, keys());
    store.unlock(session, 4, key);
    advance(5 * MIN + 1);
    store.sweep();
    expect(key.every((b) => b === 0)).toBe(true);
    expect(session.unlocked).toEqual([1, 2]);
  });

  it('lock drops the chosen levels, never level 1; the index forgets only what no session still holds', () => {
    const locks: Array<[UserId, SecurityLevel[]]> = [];
    const { store, keys } = setup(locks);
    const a = store.create(ALICE, keys());
    const b = store.create(ALICE, keys());
    store.lock(a.session);
    expect(a.session.unlocked).toEqual([1]);
    expect(locks).toEqual([]); // b still holds level 2
    expect(reasonOf(() => a.session.opener.open(ctx(2), 'p'))).toBe('insufficient_permissions');
    expect(() => store.lock(a.session, [1])).toThrow(MemvaultError);
    store.end(b.session);
    expect(locks).toEqual([[ALICE, [2]]]); // a still holds level 1
    store.end(a.session);
    expect(locks).toEqual([
      [ALICE, [2]],
      [ALICE, [1]],
    ]);
  });

  it('endAll signs a user out everywhere and leaves others alone', () => {
    const { store, keys } = setup();
    const a = store.create(ALICE, keys());
    const b = store.create(BOB, keys());
    store.endAll(ALICE);
    expect(reasonOf(() => store.resolve(a.token))).toBe('authentication_failed');
    expect(store.resolve(b.token)).toBe(b.session);
  });

  it('keeps at most maxPerUser sessions, ending the least recently used', () => {
    let at = 0;
    const store = new SessionStore({
      clock: {
        now: () => {
          at += 1000;
          return new Date(at);
        },
      },
      createOpener: fakeOpener,
      limits: { maxPerUser: 3 },
    });
    const made = Array.from({ length: 4 }, () => store.create(ALICE, new Map([[1, new Uint8Array(32)]])));
    expect(reasonOf(() => store.resolve(made[0]!.token))).toBe('authentication_failed');
    expect(store.size).toBe(3);
  });

  it('challenges are single-use, purpose-bound and expire', () => {
    const { store, keys, advance } = setup();
    const { session } = store.create(ALICE, keys());
    const c = store.issueChallenge(session, 'authenticate');
    expect(c).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(store.takeChallenge(session, 'register')).toBeUndefined();
    store.issueChallenge(session, 'authenticate');
    const d = store.takeChallenge(session, 'authenticate');
    expect(d).toBeDefined();
    expect(store.takeChallenge(session, 'authenticate')).toBeUndefined();
    store.issueChallenge(session, 'authenticate');
    advance(5 * MIN + 1);
    expect(store.takeChallenge(session, 'authenticate')).toBeUndefined();
  });

  it('close zeroes every key', () => {
    const { store } = setup();
    const k1 = new Uint8Array(32).fill(1);
    store.create(ALICE, new Map([[1, k1]]));
    store.close();
    expect(k1.every((b) => b === 0)).toBe(true);
    expect(store.size).toBe(0);
  });

  it('never lets a level outlive its limits, and zeroes every key it drops (model check)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 2 * 60 * MIN }) }),
      fc.record({ kind: fc.constant('open' as const), level: fc.constantFrom<SecurityLevel>(1, 2, 3, 4) }),
      fc.record({ kind: fc.constant('unlock' as const), level: fc.constantFrom<SecurityLevel>(2, 3, 4) }),
      fc.record({ kind: fc.constant('lock' as const), level: fc.constantFrom<SecurityLevel>(2, 3, 4) }),
      fc.record({ kind: fc.constant('resolve' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        let at = 0;
        const store = new SessionStore({ clock: { now: () => new Date(at) }, createOpener: fakeOpener });
        const given: Uint8Array[] = [];
        const key = (fill: number) => {
          const k = new Uint8Array(32).fill(fill);
          given.push(k);
          return k;
        };
        const { token, session } = store.create(ALICE, new Map([[1, key(1)]]));
        let alive = true;
        for (const o of ops) {
          if (!alive) break;
          if (o.kind === 'advance') at += o.ms;
          else if (o.kind === 'open') session.opener.canOpen(o.level);
          else if (o.kind === 'unlock') store.unlock(session, o.level, key(o.level));
          else if (o.kind === 'lock') store.lock(session, [o.level]);
          else alive = reasonOf(() => store.resolve(token)) === 'ok';
          for (const level of [1, 2, 3, 4] as const) session.opener.canOpen(level);
          if (store.size === 0) alive = false;
          const due = store.expiries(session);
          for (const level of session.unlocked) expect(due[level]!).toBeGreaterThanOrEqual(at);
        }
        store.close();
        expect(given.every((k) => k.every((b) => b === 0))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses to put a key into a session that has ended, and zeroes that key', () => {
    const { store, keys } = setup();
    const { session } = store.create(ALICE, keys(), 3);
    expect(session.epoch).toBe(3);
    expect(store.isLive(session)).toBe(true);
    store.end(session);
    expect(store.isLive(session)).toBe(false);
    const late = new Uint8Array(32).fill(9);
    expect(reasonOf(() => store.unlock(session, 3, late))).toBe('authentication_failed');
    expect(late.every((b) => b === 0)).toBe(true);
    expect(session.levels.size).toBe(0);
  });
});
