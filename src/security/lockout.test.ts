import { describe, expect, it } from 'vitest';
import { MemvaultError } from '../core/errors.js';
import type { Clock } from '../ports/clock.js';
import { Lockout, networkOf } from './lockout.js';

function clock(start = Date.parse('2026-11-26T12:00:00Z')) {
  let at = start;
  const c: Clock & { advance(ms: number): void } = { now: () => new Date(at), advance: (ms) => (at += ms) };
  return c;
}

describe('lockout', () => {
  it('locks after 5 failures from one network, 30 s doubling up to 1 h', () => {
    const c = clock();
    const lock = new Lockout({ clock: c });
    for (let i = 0; i < 4; i++) expect(lock.fail('u', '10.0.0.1')).toBe(0);
    expect(lock.fail('u', '10.0.0.1')).toBe(30);
    const waits: number[] = [];
    for (let i = 0; i < 9; i++) {
      c.advance(lock.retryAfter('u', '10.0.0.1') * 1000);
      waits.push(lock.fail('u', '10.0.0.1'));
    }
    expect(waits).toEqual([60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
  });

  it('fails fast with locked_out and retryAfter while locked', () => {
    const lock = new Lockout({ clock: clock() });
    for (let i = 0; i < 5; i++) lock.fail('u', '10.0.0.1');
    try {
      lock.assertOpen('u', '10.0.0.9'); // same /24
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(MemvaultError);
      expect((error as MemvaultError).reason).toBe('locked_out');
      expect((error as MemvaultError).details).toEqual({ retryAfterSeconds: 30 });
    }
    expect(() => lock.assertOpen('u', '172.16.0.1')).not.toThrow(); // another network is not locked yet
    expect(() => lock.assertOpen('other', '10.0.0.1')).not.toThrow();
  });

  it('locks the user everywhere after the user-wide threshold (distributed guessing)', () => {
    const lock = new Lockout({ clock: clock() });
    for (let i = 0; i < 10; i++) lock.fail('u', `10.0.${i}.1`);
    expect(lock.retryAfter('u', '192.0.2.1')).toBe(30);
  });

  it('a success resets both counters', () => {
    const lock = new Lockout({ clock: clock() });
    for (let i = 0; i < 4; i++) lock.fail('u', '10.0.0.1');
    lock.succeed('u', '10.0.0.1');
    expect(lock.fail('u', '10.0.0.1')).toBe(0);
  });

  it('forgets old failures once no lock is pending', () => {
    const c = clock();
    const lock = new Lockout({ clock: c });
    for (let i = 0; i < 4; i++) lock.fail('u', '10.0.0.1');
    c.advance(25 * 3_600_000);
    expect(lock.fail('u', '10.0.0.1')).toBe(0);
  });

  it('snapshots and restores the user-wide counter across restarts', () => {
    const c = clock();
    const first = new Lockout({ clock: c, policy: { userThreshold: 3 } });
    for (let i = 0; i < 3; i++) first.fail('u', `10.0.${i}.1`);
    const saved = first.snapshot('u');
    expect(saved?.lockedUntil).toBeGreaterThan(c.now().getTime());
    const second = new Lockout({ clock: c, policy: { userThreshold: 3 } });
    second.restore('u', saved!);
    expect(second.retryAfter('u')).toBe(30);
  });

  it('stays bounded under guessing at many ids', () => {
    const lock = new Lockout({ clock: clock(), policy: { maxEntries: 100 } });
    for (let i = 0; i < 1000; i++) lock.fail(`user-${i}`, '10.0.0.1');
    expect(lock.snapshot('user-999')).toBeDefined();
    expect(lock.snapshot('user-0')).toBeUndefined();
  });
});

describe('networkOf', () => {
  it('groups IPv4 by /24 and IPv6 by /48', () => {
    expect(networkOf('203.0.113.7')).toBe('203.0.113.0/24');
    expect(networkOf('::ffff:203.0.113.200')).toBe('203.0.113.0/24');
    expect(networkOf('2001:db8:abcd:12::1')).toBe('2001:db8:abcd::/48');
    expect(networkOf('2001:0db8:abcd:0012:0000:0000:0000:0001')).toBe('2001:db8:abcd::/48');
    expect(networkOf('::1')).toBe('0:0:0::/48');
    expect(networkOf(undefined)).toBe('unknown');
    expect(networkOf('not an ip')).toBe('unknown');
    expect(networkOf('1:2:3:4:5:6:7:8:9')).toBe('unknown');
  });

  it('reserve counts an attempt before it is judged, refuses once locked, and refund gives it back', () => {
    const lock = new Lockout({ clock: clock() });
    // Five attempts in flight at once: each is counted as it starts, the fifth locks.
    const locks = Array.from({ length: 5 }, () => lock.reserve('u', '10.0.0.1'));
    expect(locks).toEqual([0, 0, 0, 0, 30]);
    expect(() => lock.reserve('u', '10.0.0.1')).toThrow(expect.objectContaining({ reason: 'locked_out' }));
    // One of them failed on a storage error, not on the password: its count is given back, and so is the lock.
    lock.refund('u', '10.0.0.1');
    expect(lock.retryAfter('u', '10.0.0.1')).toBe(0);
    expect(lock.reserve('u', '10.0.0.1')).toBe(30);
    // Refunding more than was counted never goes below zero.
    const fresh = new Lockout({ clock: clock() });
    fresh.refund('v', '10.0.0.1');
    expect(fresh.reserve('v', '10.0.0.1')).toBe(0);
  });
});
