import { validationError } from './errors.js';

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();

const TIMEZONE_CACHE = new Map<string, boolean>();

/** True for an IANA time zone this runtime knows ("Europe/Lisbon", "UTC"). */
export function isTimeZone(value: string): boolean {
  if (typeof value !== 'string' || value.length === 0 || value.length > 64 || !/^[A-Za-z0-9_+\-/]+$/.test(value)) {
    return false;
  }
  // Every runtime knows UTC (ECMA-402), the default zone: no Intl formatter for it, whose first construction
  // initialises ICU (~12 ms CPU, paid by every CLI search that reads a profile).
  if (value === 'UTC') return true;
  let known = TIMEZONE_CACHE.get(value);
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: value });
      known = true;
    } catch {
      known = false;
    }
    TIMEZONE_CACHE.set(value, known);
  }
  return known;
}

/**
 * Offset of an IANA zone from UTC at an instant, in minutes (+330 for Asia/Kolkata, 60 for Europe/Lisbon in
 * summer), computed with Intl so daylight saving is right for that instant.
 * @throws MemvaultError VALIDATION_ERROR for an unknown zone.
 */
export function zoneOffsetMinutes(timeZone: string, at: Date): number {
  if (timeZone === 'UTC') return 0;
  let fmt = offsetFormatters.get(timeZone);
  if (!fmt) {
    try {
      fmt = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' });
    } catch (cause) {
      throw validationError(
        `Unknown time zone "${String(timeZone).slice(0, 60)}". Use an IANA name such as Europe/Lisbon.`,
        { field: 'timezone' },
        cause,
      );
    }
    offsetFormatters.set(timeZone, fmt);
  }
  const name = fmt.formatToParts(at).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /GMT([+-])(\d{2}):?(\d{2})?/.exec(name);
  if (!m) return 0;
  const minutes = Number(m[2]) * 60 + Number(m[3] ?? 0);
  return m[1] === '-' ? -minutes : minutes;
}

/**
 * The UTC instant of a local wall-clock time in `timeZone` (month 1–12). Two passes land on the right side of a
 * daylight-saving change; a time that does not exist locally (skipped by DST) resolves to the instant after it.
 */
export function localTimeToUtc(
  timeZone: string,
  year: number,
  month: number,
  day: number,
  hour = 0,
  minute = 0,
  second = 0,
): number {
  const guess = Date.UTC(year, month - 1, day, hour, minute, second);
  const first = guess - zoneOffsetMinutes(timeZone, new Date(guess)) * 60_000;
  return guess - zoneOffsetMinutes(timeZone, new Date(first)) * 60_000;
}
