/**
 * Text helpers shared by the index, the query parser and the word-vector embeddings: one tokenizer, one stop-word
 * list, one notion of "a name", so every signal sees the same words.
 */

/** English function words and question words: they carry no topic, so lexical and entity signals skip them. */
export const STOP_WORDS: ReadonlySet<string> = new Set(
  `a about above after again against all am an and any are aren't as at be because been before being below between
both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each few for from
further had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him himself his how
how's i i'd i'll i'm i've if in into is isn't it it's its itself just let's me more most mustn't my myself no nor not
now of off on once only or other ought our ours ourselves out over own same shan't she she'd she'll she's should
shouldn't so some such than that that's the their theirs them themselves then there there's these they they'd
they'll they're they've this those through to too under until up very was wasn't we we'd we'll we're we've were
weren't what what's when when's where where's which while who who's whom why why's will with won't would wouldn't
you you'd you'll you're you've your yours yourself yourselves also ever anything something everything really
tell remember recall know please did does got get`
    .split(/\s+/)
    .filter(Boolean),
);

// Letters and digits of any script, with inner apostrophes ("don't") kept inside the word.
const WORD_RE = /[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu;

/** Lower-case words of a text, apostrophes normalised, possessive "'s" dropped ("Nadia's" → "nadia"). */
export function words(text: string): string[] {
  const out: string[] = [];
  for (const match of text.matchAll(WORD_RE)) {
    let word = match[0].toLowerCase().replace(/’/g, "'");
    if (word.endsWith("'s")) word = word.slice(0, -2);
    if (word.length > 0) out.push(word);
  }
  return out;
}

/** Words that carry topic: no stop words, no single letters. */
export function contentWords(text: string): string[] {
  return words(text).filter((w) => w.length > 1 && !STOP_WORDS.has(w));
}

/**
 * The scaffolding of a question: words that say what shape the answer has ("what kind of", "how many", "would
 * she likely", "did he mention") rather than what it is about. Dropped from queries only; memories keep them.
 */
export const QUESTION_WORDS: ReadonlySet<string> = new Set(
  'kind kinds type types sort sorts many much often likely probably might'.split(/\s+/).filter(Boolean),
);

/** The words of a query that carry its topic: content words without question scaffolding (unless nothing is left). */
export function queryWords(text: string): string[] {
  const all = contentWords(text);
  const topic = all.filter((w) => !QUESTION_WORDS.has(w));
  return topic.length > 0 ? topic : all;
}

/** A word occurrence with its position in the original text. */
export interface Token {
  readonly word: string;
  readonly raw: string;
  readonly start: number;
  readonly end: number;
}

export function tokens(text: string): Token[] {
  const out: Token[] = [];
  for (const match of text.matchAll(WORD_RE)) {
    const raw = match[0];
    const start = match.index;
    out.push({ word: words(raw)[0] ?? raw.toLowerCase(), raw, start, end: start + raw.length });
  }
  return out;
}

const SENTENCE_END = /[.!?\n]\s*$/;
const CAPITALISED = /^\p{Lu}[\p{Ll}\p{M}'’-]+$/u;

/**
 * Proper names in a text, lower-cased: capitalised words that are not stop words. At the start of a sentence,
 * where every word is capitalised, a word counts only when `isName` says so (a known name, or not a common
 * word). "Yesterday Piotr met Nadia in Oslo." → piotr, nadia, oslo. All-caps acronyms ("NASA") count too.
 */
export function names(text: string, isName: (word: string) => boolean = () => false): string[] {
  const found = new Set<string>();
  for (const token of tokens(text)) {
    if (token.raw.length < 2 || STOP_WORDS.has(token.word)) continue;
    const isCap = CAPITALISED.test(token.raw) || /^\p{Lu}{2,6}$/u.test(token.raw);
    if (!isCap) continue;
    const sentenceStart = token.start === 0 || SENTENCE_END.test(text.slice(Math.max(0, token.start - 3), token.start));
    if (sentenceStart && !isName(token.word)) continue;
    found.add(token.word);
  }
  return [...found];
}

/**
 * Edit distance where swapping two adjacent letters is one edit, as typing slips are ("dentsit" → dentist,
 * "nadai" → nadia): the optimal-string-alignment form of Damerau–Levenshtein. Stops early and returns
 * `max + 1` once the distance must exceed `max`.
 */
export function editDistance(a: string, b: string, max = Number.POSITIVE_INFINITY): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  if (a === b) return 0;
  const n = b.length;
  let before = new Array<number>(n + 1).fill(0);
  let previous = Array.from({ length: n + 1 }, (_, j) => j);
  let current = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    let rowMin = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      current[j] = d;
      if (d < rowMin) rowMin = d;
    }
    if (rowMin > max) return max + 1;
    [before, previous, current] = [previous, current, before];
  }
  return previous[n]!;
}

/** Edits allowed for a fuzzy match of a word of this length (0 for ≤3, 1 for 4–7, 2 for ≥8). */
export function allowedEdits(length: number): number {
  if (length <= 3) return 0;
  if (length <= 7) return 1;
  return 2;
}

/**
 * A rough stem for telling word forms apart cheaply ("living", "lives", "lived", "live" → "liv"); not a
 * linguistic stemmer (FTS5's porter tokenizer does the real stemming), only for de-duplicating expansions.
 */
export function roughStem(word: string): string {
  let w = word;
  for (const suffix of ['ing', 'ed', 'es', 's', 'ly', 'er']) {
    if (w.length > suffix.length + 2 && w.endsWith(suffix)) {
      w = w.slice(0, -suffix.length);
      break;
    }
  }
  if (w.length > 3 && w.endsWith('e')) w = w.slice(0, -1);
  if (w.length > 3 && w.at(-1) === w.at(-2)) w = w.slice(0, -1);
  return w;
}

/**
 * Wraps the words of `text` that are forms of `terms` (same rough stem) in «…», leaving everything else
 * byte for byte. Existing guillemets in the text are left as they are.
 */
export function highlight(text: string, terms: readonly string[]): string {
  if (terms.length === 0) return text;
  const stems = new Set(terms.map(roughStem));
  let out = '';
  let last = 0;
  for (const token of tokens(text)) {
    if (!stems.has(roughStem(token.word))) continue;
    out += `${text.slice(last, token.start)}«${token.raw}»`;
    last = token.end;
  }
  return last === 0 ? text : out + text.slice(last);
}

// "Maria: …", "Maria Lopez: …": how chat exports (WhatsApp, Telegram, JSON lines) write the sender before the text.
const SPEAKER_RE = /^\s*(\p{Lu}[\p{L}\p{M}'’.-]*(?: \p{Lu}[\p{L}\p{M}'’.-]*){0,3}):\s/u;

/** The sender's name words of a chat message written "Name: text", lower-cased; empty for anything else. */
export function speakerOf(text: string): string[] {
  const match = SPEAKER_RE.exec(text);
  return match ? words(match[1]!) : [];
}
