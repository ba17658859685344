/**
 * Search quality evaluation on a generated life log (issue 5 §6).
 *
 * Generates six months of a person's memories (events with people and places, facts about friends, services,
 * purchases; many distractors that share names and places) and 150+ questions whose relevant memories are known:
 * paraphrases ("where does nadia live now" → "Nadia relocated to Oslo"), typos ("electrcian"), synonyms
 * ("car" → "automobile"), entities ("climbing with Piotr") and temporal questions ("dinner last week").
 * Reports recall@5, recall@10 and MRR for BM25 alone, vectors alone, and the hybrid.
 *
 *   npx tsx bench/search-eval.ts [seed] [--raw]   → prints a table, writes bench/results/search-eval.md
 *
 * Memories get their tags and event dates from the local classifier, as the pipeline stores them (`--raw`:
 * only the generator's tags).
 *
 * The generator is deliberately independent of the ranking code: templates are written from how people log
 * their lives, not from what the index matches. Do not tune constants to this set alone.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Category } from '../src/core/category.js';
import type { MemoryEntry } from '../src/core/entry.js';
import { createLocalClassifier } from '../src/classify/local-classifier.js';
import { createSearchIndex, type Signal } from '../src/search/search-index.js';
import { entry, MemoryVault, testOpener, testSealer, USER } from '../test/search/helpers.js';

const seed = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 7);
const NOW = new Date('2026-11-26T18:00:00.000Z');
const DAY = 86_400_000;

// ── deterministic randomness ─────────────────────────────────────────────────────────────────────────────
let state = seed >>> 0;
function rand(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const shuffle = <T>(xs: T[]): T[] => {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
};

// ── the world ────────────────────────────────────────────────────────────────────────────────────────────
const PEOPLE = shuffle([
  'Nadia',
  'Piotr',
  'Sara',
  'Tomás',
  'Ingrid',
  'Kenji',
  'Amara',
  'Lucas',
  'Mei',
  'Farid',
  'Olivia',
  'Dmitri',
  'Chloe',
  'Rafael',
  'Hana',
  'Jonas',
  'Priya',
  'Mateo',
  'Leila',
  'Oskar',
]);
const CITIES = [
  'Oslo',
  'Lisbon',
  'Berlin',
  'Madrid',
  'Vienna',
  'Prague',
  'Dublin',
  'Krakow',
  'Lyon',
  'Seville',
  'Copenhagen',
  'Edinburgh',
  'Toronto',
  'Melbourne',
  'Zurich',
  'Helsinki',
  'Bologna',
  'Porto',
  'Ghent',
  'Tallinn',
];
const JOBS = [
  'nurse',
  'architect',
  'software engineer',
  'teacher',
  'lawyer',
  'chef',
  'pharmacist',
  'journalist',
  'accountant',
  'veterinarian',
  'pilot',
  'graphic designer',
  'firefighter',
  'translator',
  'physiotherapist',
];
const COMPANIES = [
  'Northwind',
  'Bluefield Labs',
  'the city hospital',
  'a design studio',
  'the university',
  'a small bakery',
  'the airport',
  'a law firm',
  'the public library',
  'a startup called Fernhill',
];
const RESTAURANTS = [
  'Café Aurora',
  'the Thai place on Rua Augusta',
  'Trattoria Lupo',
  'the ramen bar downtown',
  'the taqueria near the station',
  'Bistro Margaux',
  'the vegan place by the park',
  'the old tavern',
];
const ACTIVITIES: [string, string][] = [
  ['climbing', 'at the climbing gym'],
  ['swimming', 'at the public pool'],
  ['running', 'along the river'],
  ['bowling', 'at the bowling alley'],
  ['cycling', 'on the coastal path'],
  ['hiking', 'in the hills'],
  ['kayaking', 'on the lake'],
  ['skating', 'at the ice rink'],
  ['playing tennis', 'at the club'],
  ['yoga', 'at the studio'],
];
const TOPICS = [
  'the renovation',
  'her new job',
  'the wedding plans',
  'his thesis',
  'the trip to Japan',
  'the broken boiler',
  'the election',
  'a book club pick',
  'the marathon training',
  'the moving boxes',
];
const FILLER = [
  'Feeling tired after a long day',
  'Slept badly, too much coffee',
  'Rainy day, stayed home and cleaned',
  'Worked late on the quarterly report',
  'Team meeting about the budget ran over',
  'Did the laundry and ironing',
  'Watered the plants on the balcony',
  'Finished a podcast episode about history',
  'Paid the internet bill',
  'Replied to a pile of emails',
  'Went grocery shopping at the market',
  'Cooked lentil soup for the week',
  'Fixed the squeaky door hinge',
  'Long call with the bank about the card',
  'Took the bus, traffic was awful',
  'Quiet evening reading on the sofa',
  'Walked to the bakery for bread',
  'Started a new jigsaw puzzle',
];

interface Question {
  readonly kind: 'paraphrase' | 'typo' | 'synonym' | 'entity' | 'temporal';
  readonly text: string;
  readonly relevant: Set<string>;
}

const entries: MemoryEntry[] = [];
const questions: Question[] = [];
const at = (daysAgo: number, hour = 12 + Math.floor(rand() * 9)) =>
  new Date(NOW.getTime() - daysAgo * DAY - (18 - hour) * 3_600_000).toISOString();
function add(content: string, daysAgo: number, tags: string[] = [], category: Category = 'CHRONOLOGICAL'): string {
  const e = entry(content, { date: at(daysAgo), tags, category, confidence: 0.6 + rand() * 0.4 });
  entries.push(e);
  return e.id;
}
const ask = (kind: Question['kind'], text: string, ...ids: string[]) =>
  questions.push({ kind, text, relevant: new Set(ids) });

// Facts about people, each asked in other words. Distractors: every person also appears in many events.
const lower = (s: string) => s.toLowerCase();
PEOPLE.forEach((p, i) => {
  const city = CITIES[i % CITIES.length]!;
  const job = JOBS[i % JOBS.length]!;
  const company = pick(COMPANIES);
  const d = 5 + Math.floor(rand() * 170);
  const move = add(
    pick([
      `${p} relocated to ${city} in the spring, loves the neighbourhood`,
      `Big news: ${p} moved to ${city} for good`,
      `${p} just signed the lease on a flat in ${city}`,
    ]),
    d,
    [p],
    'GENERAL',
  );
  ask('paraphrase', pick([`where does ${lower(p)} live now`, `which city is ${p} living in`, `${p}'s new home`]), move);
  const work = add(
    pick([
      `${p} got hired as a ${job} at ${company}`,
      `${p} started a new position: ${job} at ${company}`,
      `${p} finally landed the ${job} role at ${company}`,
    ]),
    5 + Math.floor(rand() * 170),
    [p],
    'GENERAL',
  );
  ask(
    'paraphrase',
    pick([`what does ${lower(p)} do for a living`, `${p}'s occupation`, `where is ${p} employed`]),
    work,
  );
  if (i % 2 === 0) {
    const animal = pick(['puppy', 'kitten', 'rabbit', 'parrot']);
    const name = pick(['Biscuit', 'Miso', 'Pepper', 'Luna', 'Tofu', 'Ziggy']);
    const pet = add(`${p} adopted a ${animal} called ${name}`, 5 + Math.floor(rand() * 170), [p], 'GENERAL');
    ask('paraphrase', pick([`does ${lower(p)} have a pet`, `name of ${p}'s animal`]), pet);
  }
  if (i % 3 === 0) {
    const month = pick(['January', 'February', 'April', 'June', 'July', 'September', 'October']);
    const bday = add(
      `${p}'s birthday is ${month} ${3 + Math.floor(rand() * 25)}`,
      5 + Math.floor(rand() * 170),
      [p],
      'GENERAL',
    );
    ask('paraphrase', pick([`when was ${lower(p)} born`, `${p} birth date`]), bday);
  }
  if (i % 4 === 1) {
    const food = pick(['peanuts', 'shellfish', 'gluten', 'dairy']);
    const allergy = add(`Note to self: ${p} is allergic to ${food}`, 5 + Math.floor(rand() * 170), [p], 'GENERAL');
    ask('paraphrase', pick([`what can't ${lower(p)} eat`, `${p} food intolerance`]), allergy);
  }
});

// Events: people × activities × places, the haystack. Some become entity and temporal questions.
const eventLog: {
  id: string;
  daysAgo: number;
  person: string;
  activity: string;
  kind: 'activity' | 'meal' | 'call';
}[] = [];
for (let daysAgo = 0; daysAgo < 180; daysAgo++) {
  const perDay = 3 + Math.floor(rand() * 4);
  for (let k = 0; k < perDay; k++) {
    const r = rand();
    if (r < 0.3) {
      const person = pick(PEOPLE);
      const [activity, where] = pick(ACTIVITIES);
      const text = pick([
        `Went ${activity} with ${person} ${where}`,
        `${activity[0]!.toUpperCase()}${activity.slice(1)} ${where} with ${person}, great fun`,
        `${person} and I went ${activity} ${where}`,
      ]);
      eventLog.push({ id: add(text, daysAgo), daysAgo, person, activity, kind: 'activity' });
    } else if (r < 0.5) {
      const person = pick(PEOPLE);
      const meal = pick(['Dinner', 'Lunch', 'Brunch']);
      eventLog.push({
        id: add(`${meal} with ${person} at ${pick(RESTAURANTS)}`, daysAgo),
        daysAgo,
        person,
        activity: lower(meal),
        kind: 'meal',
      });
    } else if (r < 0.62) {
      const person = pick(PEOPLE);
      const topic = pick(TOPICS);
      eventLog.push({
        id: add(`Called ${person} to talk about ${topic}`, daysAgo),
        daysAgo,
        person,
        activity: topic,
        kind: 'call',
      });
    } else {
      add(pick(FILLER), daysAgo);
    }
  }
}

// Entity questions: a person with an activity they did exactly once or twice.
const byPair = new Map<string, string[]>();
for (const e of eventLog.filter((x) => x.kind === 'activity')) {
  const key = `${e.person}|${e.activity}`;
  byPair.set(key, [...(byPair.get(key) ?? []), e.id]);
}
let entityCount = 0;
for (const [key, ids] of shuffle([...byPair])) {
  if (ids.length > 2 || entityCount >= 25) continue;
  const [person, activity] = key.split('|') as [string, string];
  ask(
    'entity',
    pick([`${activity} with ${person}`, `when did I go ${activity} with ${lower(person)}`, `${person} ${activity}`]),
    ...ids,
  );
  entityCount++;
}

// Temporal questions: a topic plus a date phrase; relevant = those events inside the range.
const weekdayOfNow = NOW.getUTCDay(); // Thursday
const lastWeek = { from: 7 + ((weekdayOfNow + 6) % 7), to: (weekdayOfNow + 6) % 7 }; // Monday..Sunday before this week
const temporal: [string, (e: (typeof eventLog)[number]) => boolean][] = [];
for (const e of eventLog) {
  if (e.kind === 'meal' && e.daysAgo === 1)
    temporal.push([
      `${e.activity} with ${e.person} yesterday`,
      (x) => x.kind === 'meal' && x.daysAgo === 1 && x.person === e.person,
    ]);
  if (e.kind === 'activity' && e.daysAgo <= lastWeek.from && e.daysAgo > lastWeek.to) {
    temporal.push([
      `${e.activity} last week`,
      (x) =>
        x.kind === 'activity' && x.activity === e.activity && x.daysAgo <= lastWeek.from && x.daysAgo > lastWeek.to,
    ]);
  }
  const month = new Date(NOW.getTime() - e.daysAgo * DAY);
  const monthName = month.toLocaleString('en-US', { month: 'long', timeZone: 'UTC' });
  if (e.kind === 'call' && e.daysAgo > 30) {
    temporal.push([
      `what did I discuss with ${e.person} in ${monthName}`,
      (x) =>
        x.kind === 'call' &&
        x.person === e.person &&
        new Date(NOW.getTime() - x.daysAgo * DAY).getUTCMonth() === month.getUTCMonth(),
    ]);
  }
}
const seenTemporal = new Set<string>();
for (const [text, match] of shuffle(temporal)) {
  if (seenTemporal.has(text) || seenTemporal.size >= 30) continue;
  const ids = eventLog.filter(match).map((x) => x.id);
  if (ids.length === 0 || ids.length > 5) continue;
  seenTemporal.add(text);
  ask('temporal', text, ...ids);
}

// Synonyms: the memory says one word, the question another.
const SYNONYMS: [string, string][] = [
  ['Took the automobile to the garage for an oil change', 'car service'],
  ['Saw a physician about my lower back pain', 'doctor appointment back'],
  ['Bought a new couch for the living room', 'sofa purchase'],
  ['Watched an old film at the cinema downtown, loved it', 'movie night'],
  ['Booked a flight to Rome for the conference', 'plane tickets italy'],
  ['My physician prescribed antibiotics for the infection', 'medicine from the doctor'],
  ['Went to the seaside and swam in the ocean', 'beach day'],
  ['Adopted a stray kitten from the shelter', 'new cat'],
  ['The landlord raised the rent by ten percent', 'apartment costs going up'],
  ['Lost my wallet on the tram', 'misplaced purse public transport'],
  ['Started jogging three times a week', 'running routine'],
  ['Sold my old bicycle online', 'bike sale'],
  ['Bought groceries for the dinner party', 'food shopping'],
  ['The boiler broke, no hot water all weekend', 'heating failure'],
  ['Enrolled in an evening pottery course', 'ceramics class'],
  ['My daughter lost her first tooth', 'kid milestone'],
  ['Had a terrible migraine all afternoon', 'bad headache'],
  ['Renewed my passport at the consulate', 'travel document'],
  ['The physiotherapist gave me stretches for my knee', 'knee rehab exercises'],
  ['Got a speeding ticket on the highway', 'traffic fine'],
  ['Bought a second-hand automobile, a red hatchback', 'new car'],
  ['Our flat flooded after the storm', 'apartment water damage'],
  ['Fell asleep during the lecture', 'dozed off in class'],
  ['Cancelled the gym membership', 'stopped fitness subscription'],
  ['Went to the dentist for a filling', 'tooth repair'],
];
for (const [text, q] of SYNONYMS) ask('synonym', q, add(text, 3 + Math.floor(rand() * 170)));

// Services and typos: the question misspells the key word.
const SERVICES: [string, string][] = [
  ['The electrician Marta fixed the kitchen socket', 'electrician'],
  ['Plumber Jorge is coming Tuesday to fix the leaking sink', 'plumber'],
  ['Booked the veterinarian for the annual vaccination', 'veterinarian'],
  ['The accountant needs my receipts before the deadline', 'accountant'],
  ['Hairdresser appointment moved to Saturday morning', 'hairdresser'],
  ['Our neighbour lent us a ladder for the gutters', 'neighbour'],
  ['The locksmith changed the front door cylinder', 'locksmith'],
  ['Signed up for a photography workshop in the autumn', 'photography'],
  ['The mechanic says the brakes need replacing', 'mechanic'],
  ['Got a reminder for the mammography screening', 'mammography'],
  ['Bought a dehumidifier for the basement', 'dehumidifier'],
  ['The babysitter can only come on Fridays now', 'babysitter'],
  ['Ordered a replacement for the broken thermostat', 'thermostat'],
  ['Finally framed the watercolour painting from Lisbon', 'watercolour'],
  ['The orthodontist wants another appointment in March', 'orthodontist'],
];
function typo(word: string): string {
  const i = 1 + Math.floor(rand() * (word.length - 2));
  const op = Math.floor(rand() * 3);
  if (op === 0) return word.slice(0, i) + word.slice(i + 1); // deletion
  if (op === 1) return word.slice(0, i) + word[i + 1] + word[i] + word.slice(i + 2); // transposition
  return word.slice(0, i) + pick([...'aeiourstn']) + word.slice(i + 1); // substitution
}
for (const [text, word] of SERVICES) {
  const id = add(text, 3 + Math.floor(rand() * 170), [], 'GENERAL');
  ask('typo', typo(word), id);
  ask('typo', `${typo(word)} appointment`, id);
}

// ── run ──────────────────────────────────────────────────────────────────────────────────────────────────
interface Scores {
  r5: number;
  r10: number;
  mrr: number;
  n: number;
}
/**
 * The same memories as the pipeline stores them: tags and event dates from the local classifier (levels are
 * kept as generated so every run sees every memory).
 */
async function asClassified(list: readonly MemoryEntry[]): Promise<MemoryEntry[]> {
  const classifier = createLocalClassifier();
  const out: MemoryEntry[] = [];
  for (const e of list) {
    const c = await classifier.classify(e.content, { now: new Date(e.date), timezone: 'UTC' });
    out.push(
      entry(e.content, {
        id: e.id,
        date: e.date,
        eventDate: c.eventDate ?? null,
        category: e.category,
        tags: c.tags,
        confidence: c.confidence,
      }),
    );
  }
  return out;
}
const stored = process.argv.includes('--raw') ? entries : await asClassified(entries);

async function evaluate(signals: readonly Signal[]): Promise<Map<string, Scores>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'memvault-eval-'));
  const index = createSearchIndex({
    vault: new MemoryVault(stored),
    dataDir,
    sealer: testSealer(),
    signals,
    clock: { now: () => NOW },
  });
  const byKind = new Map<string, Scores>();
  try {
    for (const q of questions) {
      const hits = await index.search(USER, { text: q.text, limit: 10, now: NOW, timezone: 'UTC' }, testOpener());
      const ids = hits.map((h) => h.entry.id);
      const found = (k: number) => ids.slice(0, k).filter((id) => q.relevant.has(id)).length / q.relevant.size;
      const first = ids.findIndex((id) => q.relevant.has(id));
      for (const key of [q.kind, 'all']) {
        const s = byKind.get(key) ?? { r5: 0, r10: 0, mrr: 0, n: 0 };
        s.r5 += found(5);
        s.r10 += found(10);
        s.mrr += first < 0 ? 0 : 1 / (first + 1);
        s.n++;
        byKind.set(key, s);
      }
    }
  } finally {
    await index.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return byKind;
}

const runs: [string, readonly Signal[]][] = [
  ['BM25 alone', ['bm25']],
  ['semantic alone (vectors + related words)', ['semantic']],
  ['BM25 + fuzzy', ['bm25', 'fuzzy']],
  ['hybrid (all signals)', ['bm25', 'fuzzy', 'semantic', 'entity']],
];
const kinds = ['all', 'paraphrase', 'typo', 'synonym', 'entity', 'temporal'];
const lines: string[] = [
  '# Search quality (bench/search-eval.ts)',
  '',
  `Generated life log: ${entries.length} memories over 180 days, ${questions.length} questions (seed ${seed}); ` +
    `counts per kind: ${kinds
      .slice(1)
      .map((k) => `${k} ${questions.filter((q) => q.kind === k).length}`)
      .join(', ')}.`,
  "recall@k = share of a question's relevant memories in the top k, averaged; MRR = mean reciprocal rank of the",
  'first relevant memory. Date phrases ("last week", "in March") are parsed in every run. Tags and event dates',
  `come from ${process.argv.includes('--raw') ? 'the generator only (--raw)' : 'the local classifier, as the pipeline stores them'}.`,
  '',
  `| run | ${kinds.map((k) => `${k} R@5 / R@10 / MRR`).join(' | ')} |`,
  `|---|${kinds.map(() => '---').join('|')}|`,
];
for (const [name, signals] of runs) {
  const scores = await evaluate(signals);
  const cells = kinds.map((k) => {
    const s = scores.get(k);
    if (!s) return '–';
    return `${(s.r5 / s.n).toFixed(3)} / ${(s.r10 / s.n).toFixed(3)} / ${(s.mrr / s.n).toFixed(3)}`;
  });
  lines.push(`| ${name} | ${cells.join(' | ')} |`);
  console.log(name.padEnd(22), cells.join('  '));
}
lines.push(
  '',
  `Measured ${new Date().toISOString().slice(0, 10)} on ${process.platform}/${process.arch}, Node ${process.version}.`,
  '',
);
writeFileSync(resolve(import.meta.dirname, 'results/search-eval.md'), lines.join('\n'));

if (process.env.EVAL_DEBUG) {
  const dataDir = mkdtempSync(join(tmpdir(), 'memvault-eval-'));
  const index = createSearchIndex({
    vault: new MemoryVault(stored),
    dataDir,
    sealer: testSealer(),
    clock: { now: () => NOW },
  });
  const byId = new Map(entries.map((e) => [e.id, e.content]));
  for (const q of questions.filter((x) => x.kind === process.env.EVAL_DEBUG)) {
    const hits = await index.search(USER, { text: q.text, limit: 5, now: NOW }, testOpener());
    if (hits.some((h) => q.relevant.has(h.entry.id))) continue;
    console.log(`\n? ${q.text}   want: ${[...q.relevant].map((id) => byId.get(id)).join(' | ')}`);
    for (const h of hits.slice(0, 3)) console.log(`   ${h.score} [${h.signals.join(',')}] ${h.entry.content}`);
  }
  await index.close();
  rmSync(dataDir, { recursive: true, force: true });
}
