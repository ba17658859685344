import { describe, expect, it } from 'vitest';
import type { UserId } from '../core/entry.js';
import type { AuditRecord } from '../ports/security.js';
import { assessRisk, localHour, RISK_ALERT_THRESHOLD } from './risk.js';

let seq = 0;
const record = (patch: Partial<AuditRecord>): AuditRecord => ({
  seq: ++seq,
  at: '2026-11-20T09:00:00.000Z',
  userId: '+14155550134' as UserId,
  action: 'sign_in',
  result: 'success',
  risk: 0,
  prev: '',
  mac: '',
  ...patch,
});

const usual = Array.from({ length: 10 }, (_, i) =>
  record({ at: `2026-11-${String(10 + i).padStart(2, '0')}T09:15:00.000Z`, ip: '203.0.113.5', device: 'phone' }),
);
const now = new Date('2026-11-26T09:30:00Z');

describe('risk score', () => {
  it('is zero for the usual device, network and hour', () => {
    const r = assessRisk({ history: usual, meta: { ip: '203.0.113.80', deviceId: 'phone' }, now, timezone: 'UTC' });
    expect(r).toEqual({ score: 0, signals: [] });
  });

  it('rises for a new device, a new network and an unusual hour, and alerts when they add up', () => {
    const at3am = new Date('2026-11-26T03:00:00Z');
    const r = assessRisk({
      history: usual,
      meta: { ip: '198.51.100.1', deviceId: 'laptop' },
      now: at3am,
      timezone: 'UTC',
    });
    expect(r.signals).toEqual(['new_device', 'new_network', 'unusual_hour']);
    expect(r.score).toBeGreaterThan(RISK_ALERT_THRESHOLD);
  });

  it('judges the hour in the user’s zone', () => {
    // 09:15 UTC every day is 18:15 in Tokyo; 18:30 Tokyo is usual, 09:30 Tokyo is not.
    const meta = { ip: '203.0.113.5', deviceId: 'phone' };
    expect(assessRisk({ history: usual, meta, now, timezone: 'Asia/Tokyo' }).signals).toEqual([]);
    const tokyoMorning = new Date('2026-11-26T00:30:00Z');
    expect(assessRisk({ history: usual, meta, now: tokyoMorning, timezone: 'Asia/Tokyo' }).signals).toEqual([
      'unusual_hour',
    ]);
    expect(localHour(new Date('2026-11-26T00:30:00Z'), 'Asia/Tokyo')).toBe(9);
  });

  it('counts failures of the last hour, capped, and stays within [0, 1]', () => {
    const failures = Array.from({ length: 8 }, () => record({ at: '2026-11-26T09:10:00.000Z', result: 'failure' }));
    const r = assessRisk({
      history: [...usual, ...failures],
      meta: { ip: '198.51.100.1' },
      now: new Date('2026-11-26T03:00:00Z'),
      timezone: 'UTC',
    });
    expect(r.signals).toContain('recent_failures');
    expect(r.score).toBeLessThanOrEqual(1);
    const old = assessRisk({
      history: [...usual, ...failures],
      meta: { ip: '203.0.113.5', deviceId: 'phone' },
      now: new Date('2026-11-26T11:00:00Z'),
      timezone: 'UTC',
    });
    expect(old.signals).not.toContain('recent_failures');
  });

  it('a first sign-in has nothing to compare with and scores only failures', () => {
    expect(assessRisk({ history: [], meta: { ip: '198.51.100.1' }, now, timezone: 'UTC' }).score).toBe(0);
  });
});
