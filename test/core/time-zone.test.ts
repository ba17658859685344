import { describe, expect, it } from 'vitest';
import { isTimeZone, localTimeToUtc, zoneOffsetMinutes } from '../../src/core/time-zone.js';

// 'UTC' is answered without an Intl formatter (start-up cost); it must agree with what Intl says for it.
describe('time zones: the UTC shortcut', () => {
  it('knows UTC and still checks every other name through Intl', () => {
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Etc/UTC')).toBe(true);
    expect(isTimeZone('Europe/Lisbon')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
    expect(isTimeZone('UTC ')).toBe(false);
    expect(isTimeZone('')).toBe(false);
  });

  it.each(['2024-01-15T12:00:00Z', '2024-07-01T00:30:00Z', '2024-03-31T01:00:00Z', '1970-01-01T00:00:00Z'])(
    'the offset of UTC is 0 at %s, as Intl says for Etc/UTC',
    (iso) => {
      const at = new Date(iso);
      expect(zoneOffsetMinutes('UTC', at)).toBe(0);
      expect(zoneOffsetMinutes('Etc/UTC', at)).toBe(0);
    },
  );

  it('local times in UTC are the UTC instants themselves; other zones still move them', () => {
    expect(new Date(localTimeToUtc('UTC', 2024, 7, 1, 9, 30)).toISOString()).toBe('2024-07-01T09:30:00.000Z');
    expect(new Date(localTimeToUtc('Europe/Lisbon', 2024, 7, 1, 9, 30)).toISOString()).toBe('2024-07-01T08:30:00.000Z');
  });
});
