import { localTimeToUtc } from '../../src/core/time-zone.js';

/**
 * A seeded, reproducible month of one person's life with its ground truth: who was seen when, where, in what
 * mood. The same seed always yields the same messages, so the expected patterns are exact numbers.
 */
export interface LifeMessage {
  readonly at: Date;
  readonly text: string;
  readonly people: readonly string[];
  readonly places: readonly string[];
  readonly activity: string | null;
  /** Expected emotional context ("joy", "frustration"…), or null when not part of the truth. */
  readonly mood: 'positive' | 'negative' | 'neutral';
  readonly secret?: boolean;
}

export interface SyntheticMonth {
  readonly timezone: string;
  readonly messages: readonly LifeMessage[];
  /** Messages whose event date lies after the month ("Dentist on Tuesday at 3 pm"). */
  readonly upcoming: readonly LifeMessage[];
  /** A message on the same date a year before the last day. */
  readonly yearAgo: LifeMessage;
  readonly secret: LifeMessage;
  readonly lastDay: string;
}

/** mulberry32: small, fast and good enough for test data. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const NADIA = [
  'Brunch with Nadia at Blue Bottle, we laughed so much. Great morning!',
  'Long walk with Nadia at Belem, so happy to see her again.',
  'Cinema with Nadia, a wonderful evening and a lovely film.',
];
const TOM = [
  'Went running with Tom in the park this morning, proud of my pace.',
  'Went running with Tom in the park, new personal record, so proud!',
];
const SAM = [
  'Sam moved the deadline again, so frustrated with this project.',
  'Argued with Sam about the budget, really annoyed and stuck.',
  'Sam cancelled our review at the last minute, frustrating day.',
];
const FILLER = [
  { text: 'Cooked lentil soup for dinner.', activity: 'cook' },
  { text: 'Fixed the leaking kitchen tap.', activity: 'fix' },
  { text: 'Watered the plants and tidied the balcony.', activity: 'water' },
];

/** November 2026 in Lisbon: Nadia on weekends, Tom on Tuesday mornings, Sam on hard workdays, in the evening. */
export function syntheticMonth(seed = 42, timezone = 'Europe/Lisbon'): SyntheticMonth {
  const rnd = seeded(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const at = (day: number, hour: number, minute = Math.floor(rnd() * 50)) =>
    new Date(localTimeToUtc(timezone, 2026, 11, day, hour, minute));
  const messages: LifeMessage[] = [];
  for (let day = 1; day <= 30; day++) {
    const weekday = new Date(Date.UTC(2026, 10, day)).getUTCDay();
    if (weekday === 0 || weekday === 6) {
      if (rnd() < 0.8) {
        const text = pick(NADIA);
        const places = text.includes('Blue Bottle') ? ['Blue Bottle'] : text.includes('Belem') ? ['Belem'] : [];
        messages.push({
          at: at(day, 19 + Math.floor(rnd() * 3)),
          text,
          people: ['Nadia'],
          places,
          activity: null,
          mood: 'positive',
        });
      }
    } else if (weekday === 2) {
      messages.push({
        at: at(day, 7),
        text: pick(TOM),
        people: ['Tom'],
        places: ['park'],
        activity: 'run',
        mood: 'positive',
      });
    } else if (rnd() < 0.5) {
      messages.push({
        at: at(day, 18 + Math.floor(rnd() * 3)),
        text: pick(SAM),
        people: ['Sam'],
        places: [],
        activity: null,
        mood: 'negative',
      });
    }
    if (rnd() < 0.4) {
      const f = pick(FILLER);
      messages.push({ at: at(day, 21), text: f.text, people: [], places: [], activity: f.activity, mood: 'neutral' });
    }
  }
  const dentist: LifeMessage = {
    at: at(30, 20, 5),
    text: 'Book club meets on Tuesday at 7 pm.',
    people: [],
    places: [],
    activity: null,
    mood: 'neutral',
  };
  const secret: LifeMessage = {
    at: at(30, 20, 30),
    text: 'My bank PIN is 4921 and the safe code is 7781.',
    people: [],
    places: [],
    activity: null,
    mood: 'neutral',
    secret: true,
  };
  const yearAgo: LifeMessage = {
    at: new Date(localTimeToUtc(timezone, 2025, 11, 30, 18, 0)),
    text: 'Hiked up to the castle in Sintra with Nadia, beautiful views.',
    people: ['Nadia'],
    places: ['Sintra'],
    activity: 'hike',
    mood: 'positive',
  };
  messages.push(dentist, secret);
  messages.sort((a, b) => a.at.getTime() - b.at.getTime());
  return { timezone, messages, upcoming: [dentist], yearAgo, secret, lastDay: '2026-11-30' };
}

/**
 * Log lines joined, with their timings ("ms":363, "saveMs":12) left out: a duration may be any number of
 * milliseconds, 4921 as well, so a leak check must not read them.
 */
export function withoutTimings(lines: readonly string[]): string {
  return lines.join('').replace(/"(?:ms|\w+Ms)":\d+/g, '');
}
