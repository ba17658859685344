import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isMemvaultError } from '../../src/core/errors.js';
import type { Clock } from '../../src/ports/clock.js';
import type { NewSessionRecord, SessionStorePort } from '../../src/ports/session-store.js';

/** A clock the contract moves by hand. */
export class ManualClock implements Clock {
  constructor(public at = Date.parse('2026-11-30T08:00:00.000Z')) {}
  now(): Date {
    return new Date(this.at);
  }
  advance(ms: number): void {
    this.at += ms;
  }
}

/** What an adapter's test hands the contract: a fresh, empty store and a second handle on the same data. */
export interface SessionStoreFixture {
  readonly store: SessionStorePort;
  /**
   * Opens another handle on the same stored data (another connection, as a second process would), with the
   * same clock. The contract closes it.
   */
  second(): Promise<SessionStorePort>;
  /** Removes what the fixture created (called after the stores are closed). */
  cleanup?(): Promise<void>;
}

const hashOf = (label: string) => createHash('sha256').update(label).digest();

const record = (over: Partial<NewSessionRecord> = {}): NewSessionRecord => ({
  tokenHash: hashOf(randomBytes(16).toString('hex')),
  id: randomBytes(12).toString('base64url'),
  userId: '+14155550134',
  createdAt: Date.parse('2026-11-30T08:00:00.000Z'),
  expiresAt: Date.parse('2026-12-14T08:00:00.000Z'),
  seen: { '1': Date.parse('2026-11-30T08:00:00.000Z') },
  sealed: randomBytes(300),
  ...over,
});

/**
 * The behaviour every `SessionStorePort` adapter must show (src/ports/session-store.ts). The SQLite adapter
 * runs it in test/security/sqlite-session-store.test.ts; the PostgreSQL adapter runs the same function.
 */
export function describeSessionStoreContract(
  name: string,
  makeStore: (clock: ManualClock) => Promise<SessionStoreFixture>,
): void {
  describe(`SessionStore contract: ${name}`, () => {
    let clock: ManualClock;
    let fx: SessionStoreFixture;
    let store: SessionStorePort;
    const extra: SessionStorePort[] = [];

    beforeEach(async () => {
      clock = new ManualClock();
      fx = await makeStore(clock);
      store = fx.store;
    });

    afterEach(async () => {
      for (const other of extra.splice(0)) await other.close();
      await store.close();
      await fx.cleanup?.();
    });

    const second = async () => {
      const other = await fx.second();
      extra.push(other);
      return other;
    };

    describe('sessions', () => {
      it('returns a created record byte for byte, at version 1', async () => {
        const rec = record();
        await store.create(rec);
        const got = await store.get(rec.tokenHash);
        expect(got).toBeDefined();
        expect(got?.id).toBe(rec.id);
        expect(got?.userId).toBe(rec.userId);
        expect(got?.createdAt).toBe(rec.createdAt);
        expect(got?.expiresAt).toBe(rec.expiresAt);
        expect(got?.seen).toEqual(rec.seen);
        expect(Buffer.compare(got?.sealed ?? Buffer.alloc(0), rec.sealed)).toBe(0);
        expect(Buffer.compare(got?.tokenHash ?? Buffer.alloc(0), rec.tokenHash)).toBe(0);
        expect(got?.version).toBe(1);
      });

      it('answers undefined for an unknown hash', async () => {
        expect(await store.get(hashOf('nobody'))).toBeUndefined();
      });

      it('refuses a second record with the same token hash or the same id (CONFLICT)', async () => {
        const rec = record();
        await store.create(rec);
        await expect(store.create(record({ tokenHash: rec.tokenHash }))).rejects.toSatisfy((e: unknown) =>
          isMemvaultError(e, 'CONFLICT'),
        );
        await expect(store.create(record({ id: rec.id }))).rejects.toSatisfy((e: unknown) =>
          isMemvaultError(e, 'CONFLICT'),
        );
        expect((await store.get(rec.tokenHash))?.sealed.equals(rec.sealed)).toBe(true);
      });

      it('keeps an empty sealed state and an empty seen map', async () => {
        const rec = record({ sealed: Buffer.alloc(0), seen: {} });
        await store.create(rec);
        const got = await store.get(rec.tokenHash);
        expect(got?.sealed.length).toBe(0);
        expect(got?.seen).toEqual({});
      });

      it('touch merges seen times by maximum and leaves the version alone', async () => {
        const t0 = clock.at;
        const rec = record({ seen: { '1': t0, '2': t0 } });
        await store.create(rec);
        expect(await store.touch(rec.tokenHash, { '1': t0 + 5000, '2': t0 - 5000, '4': t0 + 1 })).toBe(true);
        const got = await store.get(rec.tokenHash);
        expect(got?.seen).toEqual({ '1': t0 + 5000, '2': t0, '4': t0 + 1 });
        expect(got?.version).toBe(1);
      });

      it('touch of a missing record answers false and creates nothing', async () => {
        const hash = hashOf('gone');
        expect(await store.touch(hash, { '1': clock.at })).toBe(false);
        expect(await store.get(hash)).toBeUndefined();
      });

      it('parallel touches from two handles all land', async () => {
        const rec = record({ seen: {} });
        await store.create(rec);
        const other = await second();
        const t0 = clock.at;
        await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            (i % 2 ? store : other).touch(rec.tokenHash, { [`k${i}`]: t0 + i, '1': t0 + i }),
          ),
        );
        const got = await store.get(rec.tokenHash);
        expect(Object.keys(got?.seen ?? {}).length).toBe(21);
        expect(got?.seen['1']).toBe(t0 + 19);
      });

      it('replace swaps the sealed state when the version matches and bumps the version', async () => {
        const rec = record();
        await store.create(rec);
        const sealed = randomBytes(64);
        expect(await store.replace(rec.tokenHash, 1, { sealed })).toBe(2);
        const got = await store.get(rec.tokenHash);
        expect(got?.sealed.equals(sealed)).toBe(true);
        expect(got?.version).toBe(2);
        expect(got?.expiresAt).toBe(rec.expiresAt);
        expect(got?.seen).toEqual(rec.seen);
      });

      it('replace can also set expiresAt and replace seen (not merge)', async () => {
        const rec = record({ seen: { '1': 5, '3': 7 } });
        await store.create(rec);
        expect(
          await store.replace(rec.tokenHash, 1, { sealed: Buffer.from('x'), expiresAt: 42, seen: { '1': 9 } }),
        ).toBe(2);
        const got = await store.get(rec.tokenHash);
        expect(got?.expiresAt).toBe(42);
        expect(got?.seen).toEqual({ '1': 9 });
      });

      it('replace with a stale version or on a missing record changes nothing', async () => {
        const rec = record();
        await store.create(rec);
        expect(await store.replace(rec.tokenHash, 1, { sealed: Buffer.from('a') })).toBe(2);
        expect(await store.replace(rec.tokenHash, 1, { sealed: Buffer.from('b') })).toBeUndefined();
        expect((await store.get(rec.tokenHash))?.sealed.toString()).toBe('a');
        expect(await store.replace(hashOf('missing'), 1, { sealed: Buffer.from('c') })).toBeUndefined();
        expect(await store.get(hashOf('missing'))).toBeUndefined();
      });

      it('of two handles replacing the same version at once exactly one wins', async () => {
        const rec = record();
        await store.create(rec);
        const other = await second();
        const results = await Promise.all([
          store.replace(rec.tokenHash, 1, { sealed: Buffer.from('mine') }),
          other.replace(rec.tokenHash, 1, { sealed: Buffer.from('theirs') }),
        ]);
        expect(results.filter((r) => r === 2)).toHaveLength(1);
        expect(results.filter((r) => r === undefined)).toHaveLength(1);
        const winner = results[0] === 2 ? 'mine' : 'theirs';
        expect((await other.get(rec.tokenHash))?.sealed.toString()).toBe(winner);
      });

      it('a record one handle writes is visible to another at once', async () => {
        const other = await second();
        const rec = record();
        await store.create(rec);
        expect((await other.get(rec.tokenHash))?.id).toBe(rec.id);
        expect(await other.delete(rec.tokenHash)).toBe(true);
        expect(await store.get(rec.tokenHash)).toBeUndefined();
      });

      it('delete answers whether the record existed', async () => {
        const rec = record();
        await store.create(rec);
        expect(await store.delete(rec.tokenHash)).toBe(true);
        expect(await store.delete(rec.tokenHash)).toBe(false);
        expect(await store.get(rec.tokenHash)).toBeUndefined();
        expect(await store.touch(rec.tokenHash, { '1': clock.at })).toBe(false);
      });

      it('lists and deletes by person without touching anyone else', async () => {
        const alice = [record(), record(), record()];
        const bob = record({ userId: '+447700900123' });
        for (const r of [...alice, bob]) await store.create(r);
        const listed = await store.listByUser('+14155550134');
        expect(listed.map((r) => r.id).sort()).toEqual(alice.map((r) => r.id).sort());
        expect(listed.every((r) => r.sealed.length === 300 && r.version === 1)).toBe(true);
        expect(await store.listByUser('+15550000000')).toEqual([]);
        expect(await store.count()).toBe(4);
        expect(await store.deleteByUser('+14155550134')).toBe(3);
        expect(await store.deleteByUser('+14155550134')).toBe(0);
        for (const r of alice) expect(await store.get(r.tokenHash)).toBeUndefined();
        expect((await store.get(bob.tokenHash))?.id).toBe(bob.id);
        expect(await store.count()).toBe(1);
      });

      it('purge removes exactly the records that end before the cutoff', async () => {
        const early = record({ expiresAt: 1000 });
        const edge = record({ expiresAt: 2000 });
        const late = record({ expiresAt: 3000 });
        for (const r of [early, edge, late]) await store.create(r);
        expect(await store.purge(2000)).toBe(1);
        expect(await store.get(early.tokenHash)).toBeUndefined();
        expect(await store.get(edge.tokenHash)).toBeDefined();
        expect(await store.get(late.tokenHash)).toBeDefined();
        expect(await store.purge(10_000)).toBe(2);
        expect(await store.count()).toBe(0);
      });

      it('a hash differing in one bit is a different session', async () => {
        const rec = record();
        await store.create(rec);
        const flipped = Buffer.from(rec.tokenHash);
        flipped[31] = (flipped[31] ?? 0) ^ 1;
        expect(await store.get(flipped)).toBeUndefined();
      });
    });

    describe('counters', () => {
      it('incrementWindow counts within a window and starts again after it', async () => {
        const start = clock.at;
        expect(await store.incrementWindow('ip:1', 60_000)).toEqual({ count: 1, resetAt: start + 60_000 });
        clock.advance(30_000);
        expect(await store.incrementWindow('ip:1', 60_000)).toEqual({ count: 2, resetAt: start + 60_000 });
        expect(await store.incrementWindow('ip:2', 60_000)).toEqual({ count: 1, resetAt: start + 90_000 });
        clock.advance(30_001);
        expect(await store.incrementWindow('ip:1', 60_000)).toEqual({ count: 1, resetAt: clock.at + 60_000 });
      });

      it('parallel increments from two handles are all counted, each seeing a distinct count', async () => {
        const other = await second();
        const counts = await Promise.all(
          Array.from({ length: 40 }, (_, i) => (i % 2 ? store : other).incrementWindow('burst', 60_000)),
        );
        expect(counts.map((c) => c.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      });

      it('update stores what fn returns, passes the current value, and deletes on undefined', async () => {
        expect(await store.read('lock:a')).toBeUndefined();
        const seen: unknown[] = [];
        expect(
          await store.update('lock:a', 60_000, (cur) => {
            seen.push(cur);
            return { failures: 1, note: 'x', open: false, none: null };
          }),
        ).toEqual({ failures: 1, note: 'x', open: false, none: null });
        expect(seen.at(-1)).toBeUndefined();
        expect(await store.read('lock:a')).toEqual({ failures: 1, note: 'x', open: false, none: null });
        expect(await store.update('lock:a', 60_000, (cur) => ({ failures: Number(cur?.failures) + 1 }))).toEqual({
          failures: 2,
        });
        expect(await store.update('lock:a', 60_000, () => undefined)).toBeUndefined();
        expect(await store.read('lock:a')).toBeUndefined();
      });

      it('a counter is forgotten ttlMs after its last write', async () => {
        await store.update('t', 10_000, () => ({ n: 1 }));
        clock.advance(9_999);
        expect(await store.read('t')).toEqual({ n: 1 });
        await store.update('t', 10_000, (cur) => ({ n: Number(cur?.n) + 1 }));
        clock.advance(9_999);
        expect(await store.read('t')).toEqual({ n: 2 });
        clock.advance(2);
        expect(await store.read('t')).toBeUndefined();
        expect(await store.update('t', 10_000, (cur) => ({ n: cur === undefined ? 0 : -1 }))).toEqual({ n: 0 });
      });

      it('parallel updates from two handles never lose one', async () => {
        const other = await second();
        await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            (i % 2 ? store : other).update('shared', 60_000, (cur) => ({ n: Number(cur?.n ?? 0) + 1 })),
          ),
        );
        expect(await store.read('shared')).toEqual({ n: 40 });
      });

      it('counters and sessions do not see each other', async () => {
        await store.update('x', 60_000, () => ({ n: 1 }));
        await store.incrementWindow('y', 60_000);
        expect(await store.count()).toBe(0);
        expect(await store.read('x')).toEqual({ n: 1 });
      });
    });

    it('ping answers on an open store', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}
