import * as chrono from 'chrono-node/en';
import { localTimeToUtc, zoneOffsetMinutes } from '../core/time-zone.js';

/** A half-open time range [from, to) in epoch milliseconds. */
export interface TimeRange {
  readonly from: number;
  readonly to: number;
}

export interface ParsedQuery {
  /** The query text with the date phrase taken out. */
  readonly text: string;
  /** The range the date phrase names, when there was exactly one unambiguous phrase. */
  readonly range: TimeRange | null;
  /** The phrase that became the range ("last week"), for callers that show what was understood. */
  readonly phrase: string | null;
}

const DAY = 86_400_000;
export { zoneOffsetMinutes };

/** The UTC instant of a local wall-clock midnight (year, month 1–12, day) in `timezone`. */
export function localMidnight(year: number, month: number, day: number, timezone: string): number {
  return localTimeToUtc(timezone, year, month, day);
}

/** Local calendar parts of an instant in a zone. */
function localParts(instant: number, timezone: string): { year: number; month: number; day: number; weekday: number } {
  const shifted = new Date(instant + zoneOffsetMinutes(timezone, new Date(instant)) * 60_000);
  return {
    year: shifted.getUTCFullYear(),
    month: shifted.getUTCMonth() + 1,
    day: shifted.getUTCDate(),
    weekday: shifted.getUTCDay(),
  };
}

function dayRange(year: number, month: number, day: number, days: number, tz: string): TimeRange {
  const start = Date.UTC(year, month - 1, day);
  const end = new Date(start + days * DAY);
  return {
    from: localMidnight(year, month, day, tz),
    to: localMidnight(end.getUTCFullYear(), end.getUTCMonth() + 1, end.getUTCDate(), tz),
  };
}

function monthRange(year: number, month: number, tz: string): TimeRange {
  const next = month === 12 ? { y: year + 1, m: 1 } : { y: year, m: month + 1 };
  return { from: localMidnight(year, month, 1, tz), to: localMidnight(next.y, next.m, 1, tz) };
}

function yearRange(year: number, tz: string): TimeRange {
  return { from: localMidnight(year, 1, 1, tz), to: localMidnight(year + 1, 1, 1, tz) };
}

// Words that chrono reads as dates but that people mostly use otherwise ("may I…", "march on", "sat down").
const AMBIGUOUS = new Set(['may', 'march', 'sat', 'sun', 'wed', 'mar', 'now', 'second', 'a second', 'the second']);
const PAST = /\b(last|past|previous|ago)\b/;
// A preposition right before an ambiguous month word makes it a date: "in March", "since may".
const DATE_CONTEXT = /\b(in|during|since|until|till|before|after|early|late|mid|last|this|next|of)\s+$/i;
/**
 * What every date phrase chrono's English parsers accept contains: a digit, or a word for a day, a unit of time,
 * a month, a weekday, a season or a relative marker, or one of chrono's one-letter units where it reads them ("in the
 * m" is in a minute to chrono, "pasty" the past year). A query without any of them is not given to chrono (test: the
 * same results on thousands of real messages and questions, test/search/query.test.ts).
 */
const MAYBE_DATE =
  /\d|\b(?:today|tonight|tonite|tmr|tmrw|tomorrow|yesterday|now|noon|midnight|morning|mornings|afternoon|afternoons|evening|evenings|night|nights|weekend|weekends|weekday|weekdays|week|weeks|month|months|year|years|day|days|hour|hours|hr|hrs|minute|minutes|min|mins|second|seconds|sec|secs|decade|decades|quarter|fortnight|ago|later|last|lasts|next|this|past|previous|coming|upcoming|within|before|after|jan|january|feb|february|mar|march|apr|april|may|jun|june|jul|july|aug|august|sep|sept|september|oct|october|nov|november|dec|december|mon|monday|tue|tues|tuesday|wed|wednesday|thu|thur|thurs|thursday|fri|friday|sat|saturday|sun|sunday|spring|summer|autumn|fall|winter|christmas|xmas|easter|halloween|am|pm|a\.m|p\.m|oclock|o'clock|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|first|second|third|fourth|fifth|half|few|several|couple|an|a)\b|\bthe\s+[dhmswy]\b|\bpast[dhmswy]\b/i;
/** False when `text` cannot hold a date phrase (see MAYBE_DATE). */
export function mayHoldDate(text: string): boolean {
  return MAYBE_DATE.test(text);
}

const YEAR_PHRASE = /\b(in|during)\s+((?:19|20)\d{2})\b/i;

/** "in 2025": a bare year after a preposition, which chrono leaves alone. */
function yearPhrase(text: string, timezone: string): ParsedQuery | null {
  const match = YEAR_PHRASE.exec(text);
  if (!match) return null;
  const rest = `${text.slice(0, match.index)} ${text.slice(match.index + match[0].length)}`.replace(/\s+/g, ' ').trim();
  return { text: rest, range: yearRange(Number(match[2]), timezone), phrase: match[0] };
}

/**
 * Finds one unambiguous date phrase in a query ("last week", "in March", "yesterday", "on Monday", "2 days ago",
 * "March 3rd 2026") and turns it into a time range in the user's zone, resolving toward the past (a memory query
 * means "in March" that was, not the next one). Phrases with only a time of day, ambiguous words, and queries
 * with several date phrases leave the query as it is.
 */
export function parseQuery(text: string, now: Date, timezone = 'UTC'): ParsedQuery {
  const unchanged: ParsedQuery = { text, range: null, phrase: null };
  // Validates the zone too (an unknown one is refused), so it comes before the shortcut below.
  const offset = zoneOffsetMinutes(timezone, now);
  // Most queries hold no date at all: chrono's first parse compiles dozens of patterns (~40 ms cold).
  if (!mayHoldDate(text)) return unchanged;
  let results: chrono.ParsedResult[];
  try {
    results = chrono.parse(text, { instant: now, timezone: offset });
  } catch {
    return unchanged;
  }
  const usable = results.filter(
    (r) => !AMBIGUOUS.has(r.text.trim().toLowerCase()) || DATE_CONTEXT.test(text.slice(0, r.index)),
  );
  if (usable.length > 1) return unchanged;
  const result = usable[0];
  if (!result) return yearPhrase(text, timezone) ?? unchanged;
  const phrase = result.text.trim();
  const lower = phrase.toLowerCase();
  const range = rangeOf(result, lower, now.getTime(), timezone);
  if (!range) return unchanged;
  const rest = `${text.slice(0, result.index)} ${text.slice(result.index + result.text.length)}`
    .replace(/\b(in|on|during|from|since|of)\s*$/i, '')
    .replace(/\s+/g, ' ')
    .trim();
  return { text: rest, range, phrase };
}

function rangeOf(result: chrono.ParsedResult, lower: string, now: number, tz: string): TimeRange | null {
  const start = result.start;
  const year = start.get('year') ?? 0;
  const month = start.get('month') ?? 1;
  const day = start.get('day') ?? 1;
  const today = localParts(now, tz);

  // Without a stated year, a date that lands in the future means the last such date.
  const back =
    !start.isCertain('year') && Date.UTC(year, month - 1, day) > Date.UTC(today.year, today.month - 1, today.day)
      ? 1
      : 0;
  if (result.end) {
    const end = result.end;
    const from = localMidnight(year - back, month, day, tz);
    const endYear = (end.get('year') ?? year) - (end.isCertain('year') ? 0 : back);
    const to = dayRange(endYear, end.get('month') ?? month, end.get('day') ?? day, 1, tz).to;
    return to > from ? { from, to } : null;
  }
  if (/\bweekend\b/.test(lower)) {
    // The Saturday–Sunday on or before the date chrono chose (this weekend = the coming or current one).
    const anchor = Date.UTC(year, month - 1, day);
    const weekday = new Date(anchor).getUTCDay();
    const back = weekday === 0 ? 1 : (weekday + 1) % 7;
    const saturday = new Date(anchor - back * DAY);
    return dayRange(saturday.getUTCFullYear(), saturday.getUTCMonth() + 1, saturday.getUTCDate(), 2, tz);
  }
  if (/\bweek\b/.test(lower)) {
    if (/\bpast\b/.test(lower)) return { from: now - 7 * DAY, to: now };
    // Monday-based calendar weeks: "last week" is the whole previous week, "this week" the current one.
    const monday = Date.UTC(today.year, today.month - 1, today.day) - ((today.weekday + 6) % 7) * DAY;
    const shift = PAST.test(lower) ? -7 : /\bnext\b/.test(lower) ? 7 : 0;
    const first = new Date(monday + shift * DAY);
    return dayRange(first.getUTCFullYear(), first.getUTCMonth() + 1, first.getUTCDate(), 7, tz);
  }
  if (/\bmonth\b/.test(lower) && !start.isCertain('day')) return monthRange(year, month, tz);
  if (/\byear\b/.test(lower) && !start.isCertain('month')) return yearRange(year, tz);
  if (start.isCertain('day')) return dayRange(year - back, month, day, 1, tz);
  if (start.isCertain('month')) {
    // "in March": the most recent March, including the current month, unless a year was given.
    let y = start.isCertain('year') ? year : today.year;
    if (!start.isCertain('year') && month > today.month) y -= 1;
    return monthRange(y, month, tz);
  }
  if (start.isCertain('year')) return yearRange(year, tz);
  if (start.isCertain('weekday')) {
    // "on Monday" / "last Monday": the latest such day not after today.
    let d = Date.UTC(year, month - 1, day);
    const todayUtc = Date.UTC(today.year, today.month - 1, today.day);
    while (d > todayUtc) d -= 7 * DAY;
    const at = new Date(d);
    return dayRange(at.getUTCFullYear(), at.getUTCMonth() + 1, at.getUTCDate(), 1, tz);
  }
  return null;
}
