import type { Analysis } from './nlp.js';

const STOP = new Set(
  `i me my we our you your he she it they them his her their this that these those a an the and or but so of to
  in on at for with from by about as is was were be been am are do did done have has had get got go went
  thing things stuff time today yesterday tomorrow tonight morning afternoon evening night week weekend month
  year day days lol haha omg pls plz ok okay yeah yes no not just really very kinda also too now then
  one two lot bit way`.split(/\s+/),
);

/**
 * Generic nouns that say nothing about a memory, so a tag of them filters nothing useful (issue 13: "place",
 * "street", "minute" showed up as tags).
 */
const NOISE = new Set(
  `place places street streets road minute minutes hour hours second seconds moment moments kind sort type part
  parts side end start number name area spot people person guy guys piece pieces lots something anything
  everything nothing someone anyone everyone thing`.split(/\s+/),
);

const GENERIC_VERBS = new Set([
  'be',
  'have',
  'do',
  'get',
  'go',
  'make',
  'say',
  'know',
  'think',
  'take',
  'come',
  'want',
  'need',
  'let',
  'see',
  'put',
  'use',
  'tell',
  'give',
  'remember',
  'like',
  'feel',
  'try',
  'keep',
]);

/**
 * A few salient lower-case tags: proper names (people, places) first, then the main nouns and the activity
 * verb. Tokens inside `redact` ranges (secret values) and anything with a digit never become tags.
 */
export function extractTags(
  text: string,
  analysis: Analysis,
  redact: ReadonlyArray<{ readonly start: number; readonly end: number }> = [],
  max = 5,
): string[] {
  const hidden = (value: string) => {
    let from = 0;
    for (;;) {
      const at = text.indexOf(value, from);
      if (at < 0) return false;
      if (redact.some((r) => at < r.end && at + value.length > r.start)) return true;
      from = at + 1;
    }
  };
  const ok = (v: string) =>
    v.length >= 3 && v.length <= 30 && !/\d/.test(v) && !STOP.has(v) && !NOISE.has(v) && /^[\p{L}' -]+$/u.test(v);
  const out: string[] = [];
  const push = (raw: string) => {
    const v = raw.toLowerCase().replace(/'s$/, '').trim();
    if (out.length < max && ok(v) && !out.includes(v) && !hidden(raw)) out.push(v);
  };
  const { tokens } = analysis;
  // Adjacent proper nouns form one name ("New York", "Dr Klein").
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i]!.pos !== 'PROPN') continue;
    let j = i;
    const parts: string[] = [];
    while (j < tokens.length && tokens[j]!.pos === 'PROPN') parts.push(tokens[j++]!.value);
    push(parts.join(' '));
    i = j - 1;
  }
  for (const t of tokens) if (t.pos === 'NOUN') push(t.lemma);
  for (const t of tokens) if (t.pos === 'VERB' && !GENERIC_VERBS.has(t.lemma)) push(t.lemma);
  return out;
}
