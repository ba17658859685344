import { createRequire } from 'node:module';
import type { Model, WinkMethods } from 'wink-nlp';

/** One token as the classifier uses it. */
export interface Token {
  readonly value: string;
  readonly lower: string;
  readonly lemma: string;
  readonly pos: string;
}

export interface Entity {
  readonly value: string;
  readonly type: string;
}

/** Linguistic view of a message: tokens with part of speech and lemma, and named entities. */
export interface Analysis {
  readonly tokens: readonly Token[];
  readonly entities: readonly Entity[];
}

let nlp: WinkMethods | undefined;

// wink-nlp and its English model are CommonJS; loading the model takes ~100 ms, so it happens on first use.
function load(): WinkMethods {
  if (nlp) return nlp;
  const require = createRequire(import.meta.url);
  const winkNLP = require('wink-nlp') as (model: Model, pipe?: string[]) => WinkMethods;
  const model = require('wink-eng-lite-web-model') as Model;
  nlp = winkNLP(model, ['sbd', 'negation', 'pos', 'ner']);
  return nlp;
}

/** Tokenises, tags and finds entities in `text` (wink-nlp, English). */
export function analyse(text: string): Analysis {
  const w = load();
  const its = w.its;
  const doc = w.readDoc(text);
  const values = doc.tokens().out(its.value) as string[];
  const pos = doc.tokens().out(its.pos) as string[];
  // The type declarations give `its.lemma` a different shape from the other helpers; it works the same.
  const lemmas = doc.tokens().out(its.lemma as unknown as typeof its.value) as string[];
  const tokens = values.map((value, i) => ({
    value,
    lower: value.toLowerCase(),
    lemma: lemmas[i] ?? value.toLowerCase(),
    pos: pos[i] ?? 'X',
  }));
  const details = doc.entities().out(its.detail) as unknown as Array<{ value: string; type: string }>;
  return { tokens, entities: details.map((d) => ({ value: d.value, type: d.type })) };
}

/** Loads the language model now rather than on the first message (servers call it at start). */
export function warmUpNlp(): void {
  load();
}
