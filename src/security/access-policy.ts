import type { SecurityLevel } from '../core/category.js';
import { LEVEL_NAMES } from '../core/category.js';
import { securityError, validationError } from '../core/errors.js';
import type { Factors } from '../ports/security.js';
import type { UserProfile } from '../ports/vault.js';

/** A factor a level can require. */
export type FactorKind = 'password' | 'totp' | 'passkey';

/** What reading each level takes (DESIGN §5 table). Level 1 needs only an authenticated session or channel. */
export const REQUIRED_FACTORS: Readonly<Record<SecurityLevel, readonly FactorKind[]>> = {
  1: [],
  2: ['password'],
  3: ['password', 'totp'],
  4: ['password', 'passkey'],
};

/** A daily window in minutes after local midnight; `end < start` wraps past midnight ("22:00-06:00"). */
export interface TimeWindow {
  readonly start: number;
  readonly end: number;
}

const WINDOW = /^([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-4]):([0-5]\d)$/;

/** The preference key holding a level's access window, e.g. `access.window.3 = "07:00-23:00"`. */
export const windowPreference = (level: SecurityLevel) => `access.window.${level}`;

/**
 * Parses "HH:MM-HH:MM", or several separated by commas ("07:00-09:00, 18:00-23:00").
 * @throws VALIDATION_ERROR naming the expected format.
 */
export function parseTimeWindows(spec: string): TimeWindow[] {
  const windows: TimeWindow[] = [];
  for (const part of spec.split(',')) {
    const match = WINDOW.exec(part.trim());
    if (!match) {
      throw validationError(`Access window "${spec.slice(0, 40)}" is not like "07:00-23:00".`, {
        field: 'access.window',
      });
    }
    const start = Number(match[1]) * 60 + Number(match[2]);
    const end = Number(match[3]) * 60 + Number(match[4]);
    if (end > 24 * 60 || start === end) {
      throw validationError(`Access window "${part.trim()}" is empty or runs past 24:00.`, { field: 'access.window' });
    }
    windows.push({ start, end });
  }
  return windows;
}

const minuteFormats = new Map<string, Intl.DateTimeFormat>();

/** Minutes after local midnight of an instant in an IANA zone. @throws RangeError for an unknown zone. */
export function localMinutes(at: Date, timezone: string): number {
  let format = minuteFormats.get(timezone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', {
      timeZone: timezone,
      hour: 'numeric',
      minute: 'numeric',
      hourCycle: 'h23',
    });
    if (minuteFormats.size < 1000) minuteFormats.set(timezone, format);
  }
  const parts = format.formatToParts(at);
  const hour = Number(parts.find((p) => p.type === 'hour')?.value ?? 0);
  const minute = Number(parts.find((p) => p.type === 'minute')?.value ?? 0);
  return (hour % 24) * 60 + minute;
}

function inside(window: TimeWindow, minute: number): boolean {
  return window.start < window.end
    ? minute >= window.start && minute < window.end
    : minute >= window.start || minute < window.end;
}

/** True when the profile sets no window for the level, or `at` falls inside one, in the profile's time zone. */
export function withinTimeWindow(
  profile: Pick<UserProfile, 'timezone' | 'preferences'>,
  level: SecurityLevel,
  at: Date,
) {
  const spec = profile.preferences[windowPreference(level)]?.trim();
  if (!spec) return true;
  let minute: number;
  try {
    minute = localMinutes(at, profile.timezone);
  } catch {
    // An unknown zone in a profile must neither crash access checks nor open the window: judge it in UTC.
    minute = localMinutes(at, 'UTC');
  }
  return parseTimeWindows(spec).some((w) => inside(w, minute));
}

/** Which factor of the level's requirement is missing from what the caller presented, if any. */
export function missingFactor(level: SecurityLevel, factors: Factors): FactorKind | undefined {
  return REQUIRED_FACTORS[level].find((kind) => {
    const value = factors[kind];
    return value === undefined || value === null || value === '';
  });
}

/**
 * The seed's `verify_access_permissions`, steps 2–4 (step 1, authentication, is the session or the password
 * check; step 5, logging, is the caller's): the user's maximum level, the level's time window in the user's
 * zone, and the presence of the level's factors. Verifying the factors themselves is the caller's next step.
 * @throws SECURITY_ERROR insufficient_permissions | time_restriction | authentication_failed |
 *   second_factor_required | biometric_failed
 */
export function checkAccess(input: {
  readonly profile: Pick<UserProfile, 'maxLevel' | 'timezone' | 'preferences'>;
  readonly level: SecurityLevel;
  readonly factors: Factors;
  readonly now: Date;
}): void {
  const { profile, level, factors, now } = input;
  const name = LEVEL_NAMES[level];
  if (level > profile.maxLevel) {
    throw securityError(
      'insufficient_permissions',
      `Your account may read up to level ${profile.maxLevel}; ${name} (level ${level}) is beyond it.`,
      { level, maxLevel: profile.maxLevel },
    );
  }
  if (!withinTimeWindow(profile, level, now)) {
    throw securityError(
      'time_restriction',
      `${name} memories can only be opened during ${profile.preferences[windowPreference(level)]} (${profile.timezone}).`,
      { level },
    );
  }
  switch (missingFactor(level, factors)) {
    case undefined:
      return;
    case 'password':
      throw securityError('authentication_failed', `Opening ${name} memories needs your password.`, { level });
    case 'totp':
      throw securityError(
        'second_factor_required',
        `Opening ${name} memories needs your password and a code from your authenticator app.`,
        { level, factor: 'totp' },
      );
    case 'passkey':
      throw securityError(
        'biometric_failed',
        `Opening ${name} memories needs your password and your passkey (fingerprint or face) in the web app.`,
        { level, factor: 'passkey' },
      );
  }
}
