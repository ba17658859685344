import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as chrono from 'chrono-node/en';
import { describe, expect, it } from 'vitest';
import { localMidnight, mayHoldDate, parseQuery, zoneOffsetMinutes } from '../../src/search/query.js';

const NOW = new Date('2026-11-26T12:00:00.000Z'); // a Thursday
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

function range(text: string, tz = 'UTC', now = NOW) {
  const q = parseQuery(text, now, tz);
  return { text: q.text, from: iso(q.range?.from), to: iso(q.range?.to), phrase: q.phrase };
}

describe('parseQuery', () => {
  it.each([
    ['what did I do yesterday', 'what did I do', '2026-11-25T00:00:00.000Z', '2026-11-26T00:00:00.000Z'],
    ['dinner last week', 'dinner', '2026-11-16T00:00:00.000Z', '2026-11-23T00:00:00.000Z'],
    ['hike last weekend', 'hike', '2026-11-21T00:00:00.000Z', '2026-11-23T00:00:00.000Z'],
    ['concert in March', 'concert', '2026-03-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z'],
    ['trips in 2025', 'trips', '2025-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'],
    ['bills this month', 'bills', '2026-11-01T00:00:00.000Z', '2026-12-01T00:00:00.000Z'],
    ['what happened on Monday', 'what happened', '2026-11-23T00:00:00.000Z', '2026-11-24T00:00:00.000Z'],
    ['call 2 days ago', 'call', '2026-11-24T00:00:00.000Z', '2026-11-25T00:00:00.000Z'],
    ['meeting on 2026-03-05', 'meeting', '2026-03-05T00:00:00.000Z', '2026-03-06T00:00:00.000Z'],
  ])('%s → %s in [%s, %s)', (text, rest, from, to) => {
    expect(range(text)).toMatchObject({ text: rest, from, to });
  });

  it('resolves a month or a date without a year to the most recent one', () => {
    expect(range('dentist in December').from).toBe('2025-12-01T00:00:00.000Z');
    expect(range('party on December 24').from).toBe('2025-12-24T00:00:00.000Z');
    expect(range('what did I do in November').from).toBe('2026-11-01T00:00:00.000Z');
  });

  it('uses the user time zone for day boundaries', () => {
    // 2026-11-26T12:00Z is 21:00 in Tokyo; "yesterday" there is Nov 25 local = Nov 24 15:00Z.
    expect(range('yesterday', 'Asia/Tokyo')).toMatchObject({
      from: '2026-11-24T15:00:00.000Z',
      to: '2026-11-25T15:00:00.000Z',
    });
    // Lisbon in March crosses into summer time: the month ends at 23:00Z.
    expect(range('in March', 'Europe/Lisbon').to).toBe('2026-03-31T23:00:00.000Z');
  });

  it.each([
    'may I ask about paris',
    'march on washington',
    'dentist at 5pm',
    'the second book',
    'pizza',
    '',
    'from yesterday to today and last week',
  ])('leaves "%s" without a range', (text) => {
    expect(parseQuery(text, NOW, 'UTC').range).toBeNull();
  });

  it('rejects an unknown time zone', () => {
    expect(() => parseQuery('yesterday', NOW, 'Nowhere/City')).toThrow(
      expect.objectContaining({ code: 'VALIDATION_ERROR' }),
    );
  });
});

describe('zone helpers', () => {
  it('computes offsets and local midnights', () => {
    expect(zoneOffsetMinutes('UTC', NOW)).toBe(0);
    expect(zoneOffsetMinutes('Europe/Lisbon', new Date('2026-07-01T00:00:00Z'))).toBe(60);
    expect(zoneOffsetMinutes('America/New_York', NOW)).toBe(-300);
    expect(new Date(localMidnight(2026, 7, 1, 'Europe/Lisbon')).toISOString()).toBe('2026-06-30T23:00:00.000Z');
  });
});

describe('the date pre-check', () => {
  it('skips chrono only for texts in which chrono finds no date (every message of the people corpus)', () => {
    const dir = resolve(import.meta.dirname, '../../corpus/people');
    const texts = readdirSync(dir)
      .filter((f) => f.endsWith('.jsonl'))
      .flatMap((f) => readFileSync(resolve(dir, f), 'utf8').split('\n'))
      .filter((line) => line.length > 0)
      .map((line) => (JSON.parse(line) as { text: string }).text);
    const skipped = texts.filter((t) => !mayHoldDate(t));
    expect(texts.length).toBeGreaterThan(1000);
    // The check must skip a real share of messages, or it saves nothing.
    expect(skipped.length).toBeGreaterThan(texts.length / 10);
    const found = skipped.filter((t) => chrono.parse(t, { instant: new Date('2026-06-15T12:00:00Z') }).length > 0);
    expect(found).toEqual([]);
  });

  it('still sends every kind of date phrase to chrono', () => {
    for (const q of ['dentist last week', 'in March', 'two days ago', 'on Monday', 'at noon', 'this weekend', 'xmas']) {
      expect(mayHoldDate(q), q).toBe(true);
    }
    expect(mayHoldDate('support group with kenji')).toBe(false);
  });
});
