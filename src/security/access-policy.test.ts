import { describe, expect, it } from 'vitest';
import type { SecurityLevel } from '../core/category.js';
import { MemvaultError } from '../core/errors.js';
import type { Factors } from '../ports/security.js';
import { checkAccess, missingFactor, parseTimeWindows, withinTimeWindow } from './access-policy.js';

const profile = (
  patch: { maxLevel?: SecurityLevel; timezone?: string; preferences?: Record<string, string> } = {},
) => ({
  maxLevel: 4 as SecurityLevel,
  timezone: 'UTC',
  preferences: {},
  ...patch,
});

function reason(level: SecurityLevel, factors: Factors, p = profile(), now = new Date('2026-11-26T12:00:00Z')) {
  try {
    checkAccess({ profile: p, level, factors, now });
    return 'ok';
  } catch (error) {
    expect(error).toBeInstanceOf(MemvaultError);
    return (error as MemvaultError).reason;
  }
}

describe('access policy', () => {
  it('asks each level for its factors (DESIGN §5)', () => {
    expect(reason(1, {})).toBe('ok');
    expect(reason(2, {})).toBe('authentication_failed');
    expect(reason(2, { password: 'pw' })).toBe('ok');
    expect(reason(3, { password: 'pw' })).toBe('second_factor_required');
    expect(reason(3, { password: 'pw', totp: '123456' })).toBe('ok');
    expect(reason(4, { password: 'pw', totp: '123456' })).toBe('biometric_failed');
    expect(reason(4, { password: 'pw', passkey: {} })).toBe('ok');
    expect(missingFactor(3, { totp: '1' })).toBe('password');
  });

  it('checks in the seed’s order: maximum level, then time window, then factors', () => {
    const p = profile({ maxLevel: 2, preferences: { 'access.window.3': '09:00-10:00' } });
    expect(reason(3, {}, p)).toBe('insufficient_permissions');
    expect(reason(3, {}, { ...p, maxLevel: 3 })).toBe('time_restriction');
    expect(reason(3, { password: 'x' }, { ...p, maxLevel: 3, preferences: {} })).toBe('second_factor_required');
  });

  it('applies windows in the user’s time zone, including windows across midnight', () => {
    const newYork = profile({ timezone: 'America/New_York', preferences: { 'access.window.2': '22:00-06:00' } });
    expect(withinTimeWindow(newYork, 2, new Date('2026-11-27T04:30:00Z'))).toBe(true); // 23:30 in New York
    expect(withinTimeWindow(newYork, 2, new Date('2026-11-26T16:00:00Z'))).toBe(false); // 11:00
    expect(withinTimeWindow(newYork, 3, new Date('2026-11-26T16:00:00Z'))).toBe(true); // no window for 3
    const several = profile({ preferences: { 'access.window.3': '07:00-09:00, 18:00-24:00' } });
    expect(withinTimeWindow(several, 3, new Date('2026-11-26T08:59:00Z'))).toBe(true);
    expect(withinTimeWindow(several, 3, new Date('2026-11-26T09:00:00Z'))).toBe(false);
    expect(withinTimeWindow(several, 3, new Date('2026-11-26T23:59:00Z'))).toBe(true);
  });

  it('rejects malformed windows with a VALIDATION_ERROR', () => {
    for (const bad of ['7-23', '07:00', '25:00-26:00', '10:00-10:00', '07:00-23:00; drop']) {
      expect(() => parseTimeWindows(bad), bad).toThrow(MemvaultError);
    }
    expect(parseTimeWindows('7:05-23:30')).toEqual([{ start: 425, end: 1410 }]);
  });

  it('falls back to UTC for an unknown zone instead of failing open or crashing', () => {
    const p = profile({ timezone: 'Mars/Olympus', preferences: { 'access.window.2': '09:00-17:00' } });
    expect(withinTimeWindow(p, 2, new Date('2026-11-26T12:00:00Z'))).toBe(true);
    expect(withinTimeWindow(p, 2, new Date('2026-11-26T20:00:00Z'))).toBe(false);
  });
});
