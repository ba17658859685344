import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Category, isCategory } from '../core/category.js';
import { validationError } from '../core/errors.js';

/** One labelled message of the corpus. */
export interface CorpusRow {
  readonly id: string;
  readonly text: string;
  readonly label: Category;
  /** `people` (corpus/people/*.jsonl), or `handwritten` / `template` (the original corpus/messages.jsonl). */
  readonly source: string;
  /** Who wrote it: a writer id for people rows, `team` for the original corpus. */
  readonly writer: string;
}

/** The labelled corpus split into training rows and the fixed held-out rows. */
export interface Corpus {
  readonly train: CorpusRow[];
  readonly heldOut: CorpusRow[];
}

function readJsonl(file: string, each: (row: Record<string, unknown>, line: number) => void): void {
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim()) each(JSON.parse(line) as Record<string, unknown>, i + 1);
    });
}

/**
 * Reads the corpus folder: the people corpus (`people/*.jsonl` split by `people-split.json`) and the original
 * team-written corpus (`messages.jsonl` split by `split.json`). `sources` limits which rows are returned.
 */
export function loadCorpus(dir: string, sources?: readonly string[]): Corpus {
  const train: CorpusRow[] = [];
  const heldOut: CorpusRow[] = [];
  const want = (source: string) => !sources || sources.includes(source);
  const bad = (file: string, line: number) =>
    validationError(`${file} line ${line} is not {id, text, label}.`, { line });

  if (want('handwritten') || want('template')) {
    const split = JSON.parse(readFileSync(join(dir, 'split.json'), 'utf8')) as { heldOut: string[] };
    const held = new Set(split.heldOut);
    readJsonl(join(dir, 'messages.jsonl'), (row, line) => {
      if (typeof row.id !== 'string' || typeof row.text !== 'string' || !isCategory(row.label))
        throw bad('corpus/messages.jsonl', line);
      const source = typeof row.source === 'string' ? row.source : 'unknown';
      if (!want(source)) return;
      const r: CorpusRow = { id: row.id, text: row.text, label: row.label, source, writer: 'team' };
      (held.has(r.id) ? heldOut : train).push(r);
    });
  }

  const people = join(dir, 'people');
  if (want('people') && existsSync(people)) {
    const split = JSON.parse(readFileSync(join(dir, 'people-split.json'), 'utf8')) as { heldOut: string[] };
    const held = new Set(split.heldOut);
    for (const file of readdirSync(people)
      .filter((f) => f.endsWith('.jsonl'))
      .sort()) {
      readJsonl(join(people, file), (row, line) => {
        if (typeof row.id !== 'string' || typeof row.text !== 'string' || !isCategory(row.label))
          throw bad(`corpus/people/${file}`, line);
        const writer = typeof row.writer === 'string' ? row.writer : file.replace(/\.jsonl$/, '');
        const r: CorpusRow = { id: row.id, text: row.text, label: row.label, source: 'people', writer };
        (held.has(r.id) ? heldOut : train).push(r);
      });
    }
  }
  return { train, heldOut };
}
