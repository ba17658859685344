import { createRequire } from 'node:module';
import type { Model, WinkMethods } from 'wink-nlp';
import type { MemoryEntry } from '../core/entry.js';
import { localParts } from '../core/local-day.js';
import type { FeatureExtractor, MemoryFeatures } from '../ports/insights.js';

interface Tok {
  readonly value: string;
  readonly lower: string;
  readonly lemma: string;
  readonly pos: string;
}

let nlp: WinkMethods | undefined;

// wink-nlp's English model is CommonJS and takes ~100 ms to load: loaded on first use. The lite model has no
// PERSON or PLACE entities, so people and places come from its part-of-speech tags (runs of proper nouns) and
// the words around them; its DATE and TIME entities keep "Tuesday" and "March" out of both.
function load(): WinkMethods {
  if (nlp) return nlp;
  const require = createRequire(import.meta.url);
  const winkNLP = require('wink-nlp') as (model: Model, pipe?: string[]) => WinkMethods;
  nlp = winkNLP(require('wink-eng-lite-web-model') as Model, ['sbd', 'negation', 'pos', 'ner']);
  return nlp;
}

/** Valence of the emotions the classifier stores as emotional context. */
const VALENCE: Readonly<Record<string, number>> = {
  joy: 0.8,
  excitement: 0.8,
  gratitude: 0.7,
  love: 0.9,
  pride: 0.8,
  relief: 0.5,
  surprise: 0.2,
  neutral: 0,
  tiredness: -0.3,
  frustration: -0.5,
  anxiety: -0.6,
  fear: -0.7,
  shame: -0.6,
  sadness: -0.7,
  anger: -0.7,
  grief: -0.9,
};

export function valenceOf(mood: string): number {
  return VALENCE[mood.toLowerCase()] ?? 0;
}

// Words before a proper noun that say it is a place ("at Blue Bottle", "in Lisbon", "went to Porto")…
const PLACE_BEFORE = new Set(['at', 'in', 'from', 'near', 'into', 'around', 'visited', 'visit', 'towards']);
// …or a person ("with Nadia", "met Tom", "called Mum").
const PERSON_BEFORE = new Set(['with', 'met', 'saw', 'called', 'texted', 'told', 'asked', 'hugged', 'thanked', 'by']);
// "to X" is a place unless the verb before is about talking to someone.
const TALK_VERBS = new Set([
  'talk',
  'speak',
  'say',
  'write',
  'send',
  'give',
  'tell',
  'show',
  'listen',
  'text',
  'reply',
]);
// Verbs too general to be an activity: being, having, going, feeling…
const LIGHT_VERBS = new Set([
  'be',
  'have',
  'do',
  'go',
  'get',
  'feel',
  'make',
  'say',
  'take',
  'come',
  'think',
  'know',
  'want',
  'need',
  'seem',
  'let',
  'keep',
  'try',
  'start',
  'finish',
  'will',
  'can',
  'could',
  'would',
  'should',
  'may',
  'might',
  'must',
  'tell',
  'talk',
  'see',
  'meet',
  'call',
  'look',
  'put',
  'give',
]);
// Nouns after these light verbs are activities ("did yoga", "played tennis", "had coffee").
const ACTIVITY_AFTER = new Set(['do', 'play', 'have', 'go', 'practice', 'practise']);
const NON_NAMES = new Set(['i', 'im', 'today', 'tonight', 'tomorrow', 'yesterday', 'ok', 'okay']);

/** The names a message mentions, with what kind each one is, from wink-nlp's tags. */
export function extractEntities(text: string): { people: string[]; places: string[]; activities: string[] } {
  const w = load();
  const its = w.its;
  const doc = w.readDoc(text);
  const values = doc.tokens().out(its.value) as string[];
  const pos = doc.tokens().out(its.pos) as string[];
  const lemmas = doc.tokens().out(its.lemma as unknown as typeof its.value) as string[];
  const toks: Tok[] = values.map((value, i) => ({
    value,
    lower: value.toLowerCase(),
    lemma: (lemmas[i] ?? value).toLowerCase(),
    pos: pos[i] ?? 'X',
  }));
  const timeWords = new Set<string>();
  for (const e of doc.entities().out(its.detail) as unknown as Array<{ value: string; type: string }>) {
    if (['DATE', 'TIME', 'DURATION'].includes(e.type)) for (const part of e.value.split(/\s+/)) timeWords.add(part);
  }
  const people = new Set<string>();
  const places = new Set<string>();
  const activities = new Set<string>();
  let lastKind: 'person' | 'place' | null = null;
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (t.pos === 'PUNCT' && /[.!?]/.test(t.value)) lastKind = null;
    // An activity is something the writer did: a verb opening a clause ("Cooked soup", "…and tidied"), after
    // "I"/"we", or after "went" ("went running"). "Sam moved the deadline" is Sam's doing, not an activity.
    const prev = toks[i - 1];
    const own = !prev || prev.pos === 'PUNCT' || prev.pos === 'CCONJ' || ['i', 'we', 'go'].includes(prev.lemma);
    if (t.pos === 'VERB' && own && !LIGHT_VERBS.has(t.lemma) && /^[a-z]{3,}$/.test(t.lemma)) activities.add(t.lemma);
    if (t.pos === 'NOUN' && i > 0 && ACTIVITY_AFTER.has(toks[i - 1]!.lemma) && /^[a-z]{3,}$/.test(t.lemma)) {
      activities.add(t.lemma);
    }
    // "at the park", "to the gym": a common place.
    if (t.pos === 'DET' && t.lower === 'the' && i > 0 && PLACE_BEFORE.has(toks[i - 1]!.lower)) {
      const next = toks[i + 1];
      if (next && next.pos === 'NOUN' && toks[i + 2]?.pos !== 'NOUN') places.add(next.lemma);
    }
    if (t.pos !== 'PROPN' || timeWords.has(t.value)) continue;
    const parts: string[] = [];
    let j = i;
    while (j < toks.length && toks[j]!.pos === 'PROPN' && !timeWords.has(toks[j]!.value)) parts.push(toks[j++]!.value);
    const name = parts.join(' ');
    const before = toks[i - 1];
    const beforeVerb = toks[i - 2];
    const after = toks[j];
    i = j - 1;
    if (NON_NAMES.has(name.toLowerCase()) || !/^\p{Lu}/u.test(name)) continue;
    let kind: 'person' | 'place' | null = null;
    if (before && PERSON_BEFORE.has(before.lower)) kind = 'person';
    else if (before && PLACE_BEFORE.has(before.lower)) kind = 'place';
    else if (before?.lower === 'to') kind = beforeVerb && TALK_VERBS.has(beforeVerb.lemma) ? 'person' : 'place';
    else if (before?.lower === 'and' || before?.value === ',') kind = lastKind;
    else if (after?.value === "'s" || after?.value === '’s') kind = 'person';
    else if (
      (!before || before.pos === 'PUNCT' || before.pos === 'CCONJ') &&
      after &&
      ['VERB', 'AUX'].includes(after.pos) &&
      // "Sam moved…", "Tom called…": an inflected verb after a capitalised first word; "Long walk…" is not.
      after.lower !== after.lemma
    ) {
      kind = 'person';
    }
    if (kind === 'person') people.add(name);
    if (kind === 'place') places.add(name);
    lastKind = kind;
  }
  return { people: [...people], places: [...places], activities: [...activities] };
}

export function createFeatureExtractor(): FeatureExtractor {
  return {
    extract(entry: MemoryEntry, timezone: string): MemoryFeatures {
      const at = new Date(entry.date);
      const { day, hour, weekday } = localParts(at, timezone);
      const { people, places, activities } = extractEntities(entry.content);
      const mood = (entry.emotionalContext || 'neutral').toLowerCase();
      const upcoming = entry.eventDate && Date.parse(entry.eventDate) > at.getTime() ? entry.eventDate : null;
      return { id: entry.id, day, hour, weekday, mood, valence: valenceOf(mood), people, places, activities, upcoming };
    },
  };
}
