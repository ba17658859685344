import type { Digest, MemoryFeatures } from '../ports/insights.js';
import { gerund, listNames } from './insights-analysis.js';

const MOOD_WORDS: Readonly<Record<string, string>> = {
  joy: 'joy',
  excitement: 'excitement',
  gratitude: 'gratitude',
  love: 'warmth',
  pride: 'pride',
  relief: 'relief',
  surprise: 'surprise',
  tiredness: 'tiredness',
  frustration: 'frustration',
  anxiety: 'worry',
  fear: 'fear',
  shame: 'regret',
  sadness: 'sadness',
  grief: 'grief',
  anger: 'anger',
};

function dayLabel(day: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', weekday: 'long', day: 'numeric', month: 'long' }).format(
    new Date(`${day}T12:00:00Z`),
  );
}

function partOfDay(byHour: readonly number[]): string | null {
  const parts: Array<[string, number]> = [
    ['in the morning', byHour.slice(5, 12).reduce((a, b) => a + b, 0)],
    ['in the afternoon', byHour.slice(12, 18).reduce((a, b) => a + b, 0)],
    ['in the evening', byHour.slice(18, 23).reduce((a, b) => a + b, 0)],
    ['late at night', byHour[23]! + byHour.slice(0, 5).reduce((a, b) => a + b, 0)],
  ];
  const total = parts.reduce((s, [, n]) => s + n, 0);
  const [label, n] = parts.sort((a, b) => b[1] - a[1])[0]!;
  return total >= 3 && n / total >= 0.5 ? label : null;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * The digest as a person would want to read it: a few sentences, then short lists — never a dump of fields.
 * Only what the digest already holds goes in, so it carries nothing above the levels it read.
 */
export function writeDigest(
  d: Omit<Digest, 'text' | 'author'>,
  extra: { readonly features: readonly MemoryFeatures[]; readonly byHour: readonly number[] },
): string {
  const lines: string[] = [];
  const period = d.kind === 'weekly' ? `Your week, ${dayLabel(d.from)} to ${dayLabel(d.to)}` : `Your ${dayLabel(d.to)}`;
  if (d.memories === 0) {
    lines.push(`${period}: nothing written down${d.sealed > 0 ? ' that this digest can open' : ''}.`);
  } else {
    const when = partOfDay(extra.byHour);
    lines.push(`${period}: ${plural(d.memories, 'memory', 'memories')}${when ? `, mostly written ${when}` : ''}.`);
    const social: string[] = [];
    if (d.people.length > 0) social.push(`you spent time with ${listNames(d.people.map((p) => p.name))}`);
    if (d.places.length > 0) {
      // Proper names stand alone ("Lisbon"); common places take an article ("the park").
      const places = d.places.map((p) => (/^\p{Ll}/u.test(p.name) ? `the ${p.name}` : p.name));
      social.push(`${social.length > 0 ? 'were' : 'you were'} at ${listNames(places)}`);
    }
    const activities = [...new Set(extra.features.flatMap((f) => f.activities))].slice(0, 3).map(gerund);
    if (activities.length > 0)
      social.push(`${social.length > 0 ? 'and made time for' : 'you made time for'} ${listNames(activities)}`);
    if (social.length > 0) {
      const sentence = social.join(social.length === 3 ? ', ' : ' and ');
      lines.push(`${sentence.charAt(0).toUpperCase()}${sentence.slice(1)}.`);
    }
    const moods = d.mood.moods.filter((m) => m.name !== 'neutral');
    if (moods.length > 0) {
      const tone = d.mood.valence >= 0.3 ? 'A good' : d.mood.valence <= -0.3 ? 'A hard' : 'A mixed';
      const first = MOOD_WORDS[moods[0]!.name] ?? moods[0]!.name;
      const second = moods[1] ? ` with some ${MOOD_WORDS[moods[1].name] ?? moods[1].name}` : '';
      lines.push(`${tone} ${d.kind === 'weekly' ? 'week' : 'day'} on the whole: mostly ${first}${second}.`);
    }
  }
  if (d.highlights.length > 0) {
    lines.push('', d.highlights.length === 1 ? 'What stood out:' : 'What stood out:');
    for (const excerpt of new Set(d.highlights.map((h) => h.excerpt))) lines.push(`  • ${excerpt}`);
  }
  if (d.upcoming.length > 0) {
    lines.push('', 'Coming up:');
    for (const u of d.upcoming) lines.push(`  • ${u.when}: ${u.excerpt}`);
  }
  if (d.onThisDay.length > 0) {
    lines.push('', 'On this day:');
    for (const o of d.onThisDay)
      lines.push(`  • ${o.yearsAgo === 1 ? 'A year ago' : `${o.yearsAgo} years ago`}: ${o.excerpt}`);
  }
  if (d.insights.length > 0) {
    lines.push('', 'Noticed lately:');
    for (const i of d.insights) lines.push(`  • ${i.text}`);
  }
  if (d.sealed > 0) {
    // SECRET and ULTRASECRET entries seal their date too, so they are counted whatever the period.
    lines.push('', `Not included: ${plural(d.sealed, 'sealed memory', 'sealed memories')} this digest could not open.`);
  }
  return lines.join('\n');
}
