import { addDays, daysBetween } from '../core/local-day.js';
import type {
  Connection,
  Count,
  Importance,
  ImportanceFactors,
  Insight,
  InsightsState,
  MemoryFeatures,
  WindowPatterns,
} from '../ports/insights.js';

/** The seed's importance weights (DESIGN §7): emotion .3, uniqueness .2, people .2, future .2, significance .1. */
export const IMPORTANCE_WEIGHTS = {
  emotionalIntensity: 0.3,
  uniqueness: 0.2,
  socialSignificance: 0.2,
  futureRelevance: 0.2,
  personalSignificance: 0.1,
} as const;

const SIGNIFICANT_MOODS = new Set(['pride', 'gratitude', 'love', 'grief', 'relief']);

/** Features of the memories of the `days` local days ending with `day` (inclusive), from the stored days. */
export function windowFeatures(state: InsightsState, day: string, days: number): MemoryFeatures[] {
  const out: MemoryFeatures[] = [];
  for (let i = 0; i < days; i++) {
    const d = addDays(day, -i);
    for (const id of state.days[d]?.memories ?? []) {
      const f = state.features[id];
      if (f) out.push(f);
    }
  }
  return out;
}

const key = (kind: 'p' | 'l' | 'a', name: string) => `${kind}:${name.toLowerCase()}`;

export function termsOf(f: MemoryFeatures): string[] {
  return [
    ...f.people.map((n) => key('p', n)),
    ...f.places.map((n) => key('l', n)),
    ...f.activities.map((n) => key('a', n)),
  ];
}

/** Importance of a day's memories against the 30 days before it (uniqueness needs what is usual). */
export function scoreImportance(
  memories: readonly MemoryFeatures[],
  context: {
    readonly before: readonly MemoryFeatures[];
    readonly contentLength: (id: string) => number;
    readonly exclamations: (id: string) => number;
  },
): Importance[] {
  const usual = new Map<string, number>();
  for (const f of context.before) for (const t of termsOf(f)) usual.set(t, (usual.get(t) ?? 0) + 1);
  return memories
    .map((f) => {
      const terms = termsOf(f);
      const emotionalIntensity = Math.min(1, Math.abs(f.valence) + 0.1 * Math.min(3, context.exclamations(f.id)));
      const socialSignificance = Math.min(1, f.people.length / 2);
      const uniqueness =
        terms.length === 0 ? 0.3 : terms.reduce((sum, t) => sum + 1 / (1 + (usual.get(t) ?? 0)), 0) / terms.length;
      const futureRelevance = f.upcoming ? 1 : 0;
      const personalSignificance = Math.min(
        1,
        (SIGNIFICANT_MOODS.has(f.mood) ? 0.7 : 0) + (context.contentLength(f.id) > 280 ? 0.3 : 0),
      );
      const factors = { emotionalIntensity, socialSignificance, uniqueness, futureRelevance, personalSignificance };
      const score = (Object.keys(IMPORTANCE_WEIGHTS) as Array<keyof typeof IMPORTANCE_WEIGHTS>).reduce(
        (sum, k) => sum + IMPORTANCE_WEIGHTS[k] * factors[k],
        0,
      );
      return { id: f.id, score: round(score), factors: roundAll(factors) };
    })
    .sort((a, b) => b.score - a.score);
}

/**
 * The importance line kept at the end of an entry's AI Analysis (docs/entry-format.md): the score, then each
 * factor. Re-processing a day replaces it; `importanceIn` reads it back.
 */
const IMPORTANCE_LINE =
  /(?:^|\n+)Importance (\d\.\d{2}) of 1: emotional intensity (\d\.\d{2}), uniqueness (\d\.\d{2}), people (\d\.\d{2}), future relevance (\d\.\d{2}), personal significance (\d\.\d{2}) \(weights \.3 \.2 \.2 \.2 \.1\)\.$/u;

export function withImportance(analysis: string, importance: Importance): string {
  const f = importance.factors;
  const n = (x: number) => x.toFixed(2);
  const line =
    `Importance ${n(importance.score)} of 1: emotional intensity ${n(f.emotionalIntensity)}, uniqueness ` +
    `${n(f.uniqueness)}, people ${n(f.socialSignificance)}, future relevance ${n(f.futureRelevance)}, personal ` +
    `significance ${n(f.personalSignificance)} (weights .3 .2 .2 .2 .1).`;
  const rest = analysis.replace(IMPORTANCE_LINE, '').trimEnd();
  return rest ? `${rest}\n\n${line}` : line;
}

/** The importance stored in an analysis by `withImportance`, or null. */
export function importanceIn(analysis: string): { score: number; factors: ImportanceFactors } | null {
  const m = IMPORTANCE_LINE.exec(analysis);
  if (!m) return null;
  const [score, emotionalIntensity, uniqueness, socialSignificance, futureRelevance, personalSignificance] = m
    .slice(1, 7)
    .map(Number) as [number, number, number, number, number, number];
  return {
    score,
    factors: { emotionalIntensity, uniqueness, socialSignificance, futureRelevance, personalSignificance },
  };
}

const round = (n: number) => Math.round(n * 1000) / 1000;
const roundAll = <T extends Record<string, number>>(o: T): T =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, round(v)])) as T;

function counts(values: Iterable<string>, limit = 10): Count[] {
  const m = new Map<string, { name: string; count: number }>();
  for (const v of values) {
    const k = v.toLowerCase();
    const c = m.get(k);
    if (c) c.count++;
    else m.set(k, { name: v, count: 1 });
  }
  return [...m.values()].sort((a, b) => b.count - a.count || a.name.localeCompare(b.name)).slice(0, limit);
}

const mean = (xs: readonly number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

export function windowPatterns(features: readonly MemoryFeatures[], days: 7 | 30 | 365): WindowPatterns {
  const byHour = new Array<number>(24).fill(0);
  const byWeekday = new Array<number>(7).fill(0);
  const perDay = new Map<string, number[]>();
  for (const f of features) {
    byHour[f.hour]!++;
    byWeekday[f.weekday]!++;
    const list = perDay.get(f.day) ?? [];
    list.push(f.valence);
    perDay.set(f.day, list);
  }
  const baseline = mean(features.map((f) => f.valence));
  const people = counts(features.flatMap((f) => f.people));
  const moodWithPerson = people
    .filter((p) => p.count >= 3)
    .map((p) => ({
      name: p.name,
      valence: round(mean(features.filter((f) => hasName(f.people, p.name)).map((f) => f.valence))),
      baseline: round(baseline),
    }));
  const activities = counts(features.flatMap((f) => f.activities));
  const activityWeekday = activities
    .filter((a) => a.count >= 3)
    .flatMap((a) => {
      const wd = new Array<number>(7).fill(0);
      for (const f of features) if (hasName(f.activities, a.name)) wd[f.weekday]!++;
      const top = wd.indexOf(Math.max(...wd));
      const share = wd[top]! / a.count;
      return share >= 0.5 ? [{ name: a.name, weekday: top, share: round(share) }] : [];
    });
  return {
    days,
    memories: features.length,
    byHour,
    byWeekday,
    moodByDay: [...perDay.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([day, vs]) => ({ day, valence: round(mean(vs)), memories: vs.length })),
    moods: counts(features.map((f) => f.mood)),
    people,
    places: counts(features.flatMap((f) => f.places)),
    activities,
    moodWithPerson,
    activityWeekday,
  };
}

const hasName = (names: readonly string[], name: string) => names.some((n) => n.toLowerCase() === name.toLowerCase());

/** A candidate neighbour of a memory: its features and, when the search index found it, its tags and time. */
export interface Candidate {
  readonly features: MemoryFeatures;
  readonly tags?: readonly string[];
  readonly date?: string;
}

/**
 * Why two memories belong together, or null when nothing real connects them (a search neighbour with no
 * shared person, place, activity or tag is not a connection).
 */
export function connect(
  a: MemoryFeatures,
  aMeta: { readonly tags: readonly string[]; readonly date: string },
  b: Candidate,
): Omit<Connection, 'from' | 'to'> | null {
  const bf = b.features;
  const shared = (x: readonly string[], y: readonly string[]) => x.filter((n) => hasName(y, n));
  const people = shared(a.people, bf.people);
  const places = shared(a.places, bf.places);
  const apart = Math.abs(daysBetween(a.day, bf.day));
  if (people.length > 0) {
    return {
      kind: 'people',
      reason: `both mention ${listNames(people)}`,
      score: round(Math.min(1, 0.6 + 0.1 * people.length)),
    };
  }
  if (places.length > 0) {
    const when = apart >= 330 && apart <= 400 ? ', a year apart' : apart === 0 ? ', the same day' : '';
    return { kind: 'location', reason: `same place: ${listNames(places)}${when}`, score: 0.6 };
  }
  const activities = shared(a.activities, bf.activities);
  if (activities.length > 0) {
    return { kind: 'thematic', reason: `both about ${listNames(activities.map(gerund))}`, score: 0.5 };
  }
  const tags = b.tags ? aMeta.tags.filter((t) => b.tags?.includes(t)) : [];
  if (tags.length === 0) return null;
  if (a.mood !== 'neutral' && a.mood === bf.mood) {
    return { kind: 'emotional', reason: `the same ${a.mood}, both about ${listNames(tags)}`, score: 0.5 };
  }
  if (b.date && Math.abs(Date.parse(b.date) - Date.parse(aMeta.date)) <= 3 * 3_600_000) {
    return { kind: 'temporal', reason: `within hours of each other, both about ${listNames(tags)}`, score: 0.5 };
  }
  return tags.length >= 2 ? { kind: 'thematic', reason: `both about ${listNames(tags)}`, score: 0.5 } : null;
}

export function listNames(names: readonly string[]): string {
  const ns = names.slice(0, 3);
  if (ns.length <= 1) return ns.join('');
  return `${ns.slice(0, -1).join(', ')} and ${ns[ns.length - 1]}`;
}

/** "run" → "running", "hike" → "hiking", "read" → "reading". */
export function gerund(verb: string): string {
  if (verb.endsWith('ing')) return verb;
  if (/ie$/.test(verb)) return `${verb.slice(0, -2)}ying`;
  if (/[^aeiou]e$/.test(verb) && verb !== 'be') return `${verb.slice(0, -1)}ing`;
  if (/^[^aeiou]*[aeiou][bdfgklmnprtv]$/.test(verb)) return `${verb}${verb.at(-1)}ing`;
  return `${verb}ing`;
}

const WEEKDAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const times = (n: number) => (n === 1 ? 'once' : n === 2 ? 'twice' : `${n} times`);

/** A handful of short, specific, true statements over the last 7 and 30 days, each with its sources. */
export function findInsights(week: readonly MemoryFeatures[], month: readonly MemoryFeatures[]): Insight[] {
  const out: Insight[] = [];
  const ids = (pred: (f: MemoryFeatures) => boolean, from: readonly MemoryFeatures[]) =>
    from.filter(pred).map((f) => f.id);

  // Activities this week against the month's weekly average.
  for (const a of counts(
    week.flatMap((f) => f.activities),
    3,
  )) {
    if (a.count < 2) continue;
    const inMonth = month.filter((f) => hasName(f.activities, a.name)).length;
    const weeklyBefore = ((inMonth - a.count) * 7) / 23;
    let compare = '';
    if (weeklyBefore > 0 && a.count >= 2 * weeklyBefore) {
      const ratio = a.count / weeklyBefore;
      compare =
        ratio >= 1.8 && ratio < 2.5
          ? ', twice as often as the rest of the month'
          : ', more often than the rest of the month';
    } else if (weeklyBefore === 0 && inMonth === a.count) compare = ', and not once in the three weeks before';
    out.push({
      kind: 'activity',
      text: `You mentioned ${gerund(a.name)} ${times(a.count)} this week${compare}.`,
      sources: ids((f) => hasName(f.activities, a.name), week),
    });
  }

  // When a person comes up: weekends, or one weekday.
  for (const p of counts(
    month.flatMap((f) => f.people),
    5,
  )) {
    if (p.count < 4) continue;
    const with_ = month.filter((f) => hasName(f.people, p.name));
    const weekend = with_.filter((f) => f.weekday === 0 || f.weekday === 6).length;
    if (weekend / with_.length >= 0.6) {
      out.push({
        kind: 'person-weekday',
        text: `You mention ${p.name} most on weekends (${weekend} of ${with_.length} times this month).`,
        sources: with_.map((f) => f.id),
      });
      continue;
    }
    const wd = new Array<number>(7).fill(0);
    for (const f of with_) wd[f.weekday]!++;
    const top = wd.indexOf(Math.max(...wd));
    if (wd[top]! / with_.length >= 0.5) {
      out.push({
        kind: 'person-weekday',
        text: `${p.name} comes up mostly on ${WEEKDAY_NAMES[top]}s (${wd[top]} of ${with_.length} times this month).`,
        sources: with_.map((f) => f.id),
      });
    }
  }

  // Mood with a person, against the month's usual mood.
  const baseline = mean(month.map((f) => f.valence));
  for (const p of counts(
    month.flatMap((f) => f.people),
    5,
  )) {
    if (p.count < 3) continue;
    const with_ = month.filter((f) => hasName(f.people, p.name));
    const v = mean(with_.map((f) => f.valence));
    if (v - baseline >= 0.3) {
      out.push({
        kind: 'mood-person',
        text: `Your mood is noticeably brighter in memories with ${p.name}.`,
        sources: with_.map((f) => f.id),
      });
    } else if (baseline - v >= 0.3) {
      const top =
        counts(
          with_.map((f) => f.mood),
          1,
        )[0]?.name ?? 'low';
      out.push({
        kind: 'mood-person',
        text: `Memories with ${p.name} lean heavier than usual (mostly ${top}).`,
        sources: with_.map((f) => f.id),
      });
    }
  }

  // Mood this week against the month.
  if (week.length >= 3 && month.length > week.length + 3) {
    const rest = month.filter((f) => !week.includes(f));
    const delta = mean(week.map((f) => f.valence)) - mean(rest.map((f) => f.valence));
    if (Math.abs(delta) >= 0.25) {
      out.push({
        kind: 'mood-trend',
        text:
          delta > 0
            ? 'This week felt brighter than the weeks before it.'
            : 'This week was heavier than the weeks before it.',
        sources: week.map((f) => f.id),
      });
    }
  }

  // When they write.
  if (month.length >= 10) {
    const parts: Array<[string, (h: number) => boolean]> = [
      ['in the morning', (h) => h >= 5 && h < 12],
      ['in the afternoon', (h) => h >= 12 && h < 18],
      ['in the evening', (h) => h >= 18 && h < 23],
      ['late at night', (h) => h >= 23 || h < 5],
    ];
    const scored = parts.map(([label, pred]) => ({ label, items: month.filter((f) => pred(f.hour)) }));
    const top = scored.sort((a, b) => b.items.length - a.items.length)[0]!;
    if (top.items.length / month.length >= 0.5) {
      out.push({
        kind: 'writing-time',
        text: `You write most ${top.label} (${top.items.length} of ${month.length} memories this month).`,
        sources: top.items.map((f) => f.id),
      });
    }
  }
  return out.slice(0, 6);
}
