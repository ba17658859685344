import { afterEach, describe, expect, it, vi } from 'vitest';
import type { UserId } from '../../src/core/entry.js';
import { DailyScheduler, type DailySchedulerOptions } from '../../src/insights/scheduler.js';

const AKL = '+64211234567' as UserId;
const LIS = '+351912345678' as UserId;
const ZONES: Record<string, string> = { [AKL]: 'Pacific/Auckland', [LIS]: 'Europe/Lisbon' };

function fake(overrides: Partial<DailySchedulerOptions> & { now?: () => Date } = {}) {
  const calls: Array<{ userId: UserId; day: string; at: string }> = [];
  let now = new Date('2026-11-29T12:00:00Z');
  const clock = { now: overrides.now ?? (() => now) };
  const scheduler = new DailyScheduler({
    listUsers: async () => [AKL, LIS],
    timezoneOf: async (u) => ZONES[u] ?? 'UTC',
    processedDays: async () => [],
    process: async (userId, day) => {
      calls.push({ userId, day, at: clock.now().toISOString() });
    },
    clock,
    catchUpDays: 1,
    ...overrides,
  });
  return { scheduler, calls, setNow: (d: string) => (now = new Date(d)) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('daily scheduler', () => {
  it('processes a day by itself shortly after the person’s local midnight', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    vi.setSystemTime(new Date('2026-11-29T10:50:00Z')); // 23:50 on the 29th in Auckland, 10:50 in Lisbon
    const { scheduler, calls } = fake({ now: () => new Date() });
    scheduler.start();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls.map((c) => `${c.userId} ${c.day}`).sort()).toEqual([`${AKL} 2026-11-28`, `${LIS} 2026-11-28`].sort());
    await vi.advanceTimersByTimeAsync(10 * 60_000); // 11:00Z: midnight in Auckland, inside the grace
    expect(calls.some((c) => c.day === '2026-11-29')).toBe(false);
    await vi.advanceTimersByTimeAsync(10 * 60_000); // 11:10Z: the croner wake after the grace
    const akl = calls.filter((c) => c.userId === AKL && c.day === '2026-11-29');
    expect(akl).toHaveLength(1);
    expect(akl[0]!.at >= '2026-11-29T11:05:00.000Z' && akl[0]!.at <= '2026-11-29T11:10:00.000Z').toBe(true);
    expect(calls.some((c) => c.userId === LIS && c.day === '2026-11-29')).toBe(false);
    await scheduler.stop();
  });

  it('follows daylight-saving changes: a 25-hour and a 23-hour day end at local midnight', async () => {
    const { scheduler, setNow } = fake();
    // Lisbon falls back on 25 October 2026: the day runs 2026-10-24T23:00Z → 2026-10-26T00:00Z.
    setNow('2026-10-25T23:30:00Z');
    expect(await scheduler.dueDays(LIS)).toEqual(['2026-10-24']);
    setNow('2026-10-26T00:06:00Z');
    expect(await scheduler.dueDays(LIS)).toEqual(['2026-10-25']);
    // Auckland springs forward on 27 September 2026: the day ends at 2026-09-27T11:00Z (midnight NZDT).
    setNow('2026-09-27T11:04:00Z');
    expect(await scheduler.dueDays(AKL)).toEqual(['2026-09-26']);
    setNow('2026-09-27T11:06:00Z');
    expect(await scheduler.dueDays(AKL)).toEqual(['2026-09-27']);
  });

  it('runs by itself across a daylight-saving change: the 25-hour day is processed after its own midnight', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    // Lisbon falls back on Sunday 25 October 2026: that day runs 2026-10-24T23:00Z → 2026-10-26T00:00Z.
    vi.setSystemTime(new Date('2026-10-25T22:00:00Z'));
    const { scheduler, calls } = fake({ listUsers: async () => [LIS], now: () => new Date() });
    scheduler.start();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls.map((c) => c.day)).toEqual(['2026-10-24']);
    // 23:00Z is midnight by the summer clock, but the day has an hour to go.
    await vi.advanceTimersByTimeAsync(75 * 60_000); // 23:15Z
    expect(calls.map((c) => c.day)).toEqual(['2026-10-24']);
    await vi.advanceTimersByTimeAsync(60 * 60_000); // 00:15Z on the 26th: past midnight and the grace
    expect(calls.map((c) => c.day)).toEqual(['2026-10-24', '2026-10-25']);
    expect(calls[1]!.at >= '2026-10-26T00:05:00.000Z' && calls[1]!.at <= '2026-10-26T00:10:00.000Z').toBe(true);
    await scheduler.stop();
  });

  it('after downtime, catches up at start by itself, oldest first, no further back than catchUpDays', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    vi.setSystemTime(new Date('2026-11-29T12:00:00Z'));
    // Last processed on the 10th; the server was down until now.
    const { scheduler, calls } = fake({
      listUsers: async () => [LIS],
      processedDays: async () => ['2026-11-09', '2026-11-10'],
      catchUpDays: 7,
      now: () => new Date(),
    });
    scheduler.start();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls.map((c) => c.day)).toEqual([
      '2026-11-22',
      '2026-11-23',
      '2026-11-24',
      '2026-11-25',
      '2026-11-26',
      '2026-11-27',
      '2026-11-28',
    ]);
    // Nothing more until the next midnight.
    await vi.advanceTimersByTimeAsync(6 * 3_600_000);
    expect(calls).toHaveLength(7);
    await vi.advanceTimersByTimeAsync(6 * 3_600_000 + 10 * 60_000); // 00:10Z on the 30th
    expect(calls.at(-1)!.day).toBe('2026-11-29');
    await scheduler.stop();
  });

  it('catches up the days missed while down, oldest first', async () => {
    const { scheduler, calls } = fake({
      listUsers: async () => [LIS],
      processedDays: async () => ['2026-11-20', '2026-11-25'],
      catchUpDays: 7,
    });
    await scheduler.tick();
    expect(calls.map((c) => c.day)).toEqual(['2026-11-26', '2026-11-27', '2026-11-28']);
    await scheduler.tick();
    expect(calls).toHaveLength(3);
  });

  it('never runs one person’s day twice at once, and bounds concurrency across people', async () => {
    const users = Array.from({ length: 6 }, (_, i) => `+3519123456${String(i).padStart(2, '0')}` as UserId);
    let inFlight = 0;
    let peak = 0;
    const started: string[] = [];
    const release: Array<() => void> = [];
    const { scheduler } = fake({
      listUsers: async () => users,
      concurrency: 2,
      process: async (userId, day) => {
        started.push(`${userId} ${day}`);
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise<void>((r) => release.push(r));
        inFlight--;
      },
    });
    const first = scheduler.tick();
    const second = scheduler.tick(); // a wake while the first pass runs joins it
    expect(second).toBe(first);
    while (started.length < users.length) {
      await new Promise((r) => setImmediate(r));
      release.shift()?.();
    }
    while (release.length) release.shift()?.();
    expect(await first).toBe(users.length);
    expect(peak).toBe(2);
    expect(new Set(started).size).toBe(started.length);
  });

  it('keeps going when one person fails, and retries them on the next wake', async () => {
    let fail = true;
    const { scheduler, calls } = fake({
      process: async (userId, day) => {
        if (userId === AKL && fail) throw new Error('disk full');
        calls.push({ userId, day, at: '' });
      },
    });
    expect(await scheduler.tick()).toBe(1);
    fail = false;
    expect(await scheduler.tick()).toBe(1);
    expect(calls.map((c) => c.userId).sort()).toEqual([AKL, LIS].sort());
  });
});
