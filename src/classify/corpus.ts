import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Category, isCategory } from '../core/category.js';
import { validationError } from '../core/errors.js';

/** One labelled message of `corpus/messages.jsonl`. */
export interface CorpusRow {
  readonly id: string;
  readonly text: string;
  readonly label: Category;
  readonly source: string;
}

/** The labelled corpus split into training rows and the fixed held-out rows (`corpus/split.json`). */
export interface Corpus {
  readonly train: CorpusRow[];
  readonly heldOut: CorpusRow[];
}

/** Reads the corpus folder (`messages.jsonl` + `split.json`). */
export function loadCorpus(dir: string): Corpus {
  const rows: CorpusRow[] = [];
  const lines = readFileSync(join(dir, 'messages.jsonl'), 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    const row = JSON.parse(line) as Partial<CorpusRow>;
    if (typeof row.id !== 'string' || typeof row.text !== 'string' || !isCategory(row.label)) {
      throw validationError(`corpus/messages.jsonl line ${i + 1} is not {id, text, label}.`, { line: i + 1 });
    }
    rows.push({ id: row.id, text: row.text, label: row.label, source: row.source ?? 'unknown' });
  });
  const split = JSON.parse(readFileSync(join(dir, 'split.json'), 'utf8')) as { heldOut: string[] };
  const held = new Set(split.heldOut);
  return { train: rows.filter((r) => !held.has(r.id)), heldOut: rows.filter((r) => held.has(r.id)) };
}
