/**
 * How often do careful readers agree with the writers' labels, and does the local classifier miss what a reader
 * gets right, or where the label itself is disputed?
 *
 *   npx tsx scripts/agreement.ts
 *
 * `corpus/agreement.jsonl` holds 500 messages drawn at random (seed 1919) from the people test split, each with the
 * labels four annotators gave it on their own (helpers who read only the five definitions of the writers' brief and
 * the bare texts, never the writers' labels, the corpus or each other's answers; corpus/README.md). This script
 * prints each reader's agreement with the writer, the readers' agreement with each other, and the shipped local
 * classifier's accuracy against the writer and against the readers' majority, with its errors split by who the
 * readers side with. Development numbers: the test split's writers are trained on (their other messages).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCorpus } from '../src/classify/corpus.js';
import { createLocalClassifier } from '../src/classify/local-classifier.js';
import { type Category, isCategory, levelOf } from '../src/core/category.js';
import { SIGNALS_NOW } from './classifier-training.js';

const ROOT = join(import.meta.dirname, '..');
const corpus = loadCorpus(join(ROOT, 'corpus'), ['people']);
const byId = new Map([...corpus.train, ...corpus.heldOut].map((r) => [r.id, r]));
const trained = new Set(corpus.train.map((r) => r.id));

interface Judged {
  readonly id: string;
  readonly text: string;
  readonly writer: Category;
  readonly readers: readonly Category[];
}
const rows: Judged[] = readFileSync(join(ROOT, 'corpus', 'agreement.jsonl'), 'utf8')
  .split('\n')
  .filter((line) => line.trim())
  .map((line, i) => {
    const { id, readers } = JSON.parse(line) as { id: string; readers: string[] };
    const row = byId.get(id);
    if (!row) throw new Error(`corpus/agreement.jsonl line ${i + 1}: no corpus row ${id}`);
    if (!readers.every(isCategory)) throw new Error(`corpus/agreement.jsonl line ${i + 1}: a label is not a category`);
    return { id, text: row.text, writer: row.label, readers: readers as Category[] };
  });
const nowTrained = rows.filter((r) => trained.has(r.id)).length;

const classifier = createLocalClassifier();
const model = rows.map((r) => classifier.classifySync(r.text, { now: SIGNALS_NOW }).category);
/** How often each key occurs, most frequent first. */
const tally = <K>(keys: Iterable<K>): Array<[K, number]> => {
  const counts = new Map<K, number>();
  for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]);
};
const majority = rows.map((r) => {
  const [best, n] = tally(r.readers)[0]!;
  return n > r.readers.length / 2 ? best : undefined;
});

const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(1)}%`;
const readerCount = rows[0]?.readers.length ?? 0;
console.log(`${rows.length} messages of the people test split, ${readerCount} readers each`);
if (nowTrained)
  console.log(
    `(${nowTrained} of them ${nowTrained === 1 ? 'has' : 'have'} since moved to training: the model has seen ${nowTrained === 1 ? 'it' : 'those'})`,
  );
for (let k = 0; k < readerCount; k++) {
  const same = rows.filter((r) => r.readers[k] === r.writer).length;
  const under = rows.filter((r) => levelOf(r.readers[k]!) < levelOf(r.writer)).length;
  console.log(`reader ${k + 1} vs writer: ${pct(same, rows.length)} (${pct(under, rows.length)} filed lower)`);
}
for (let a = 0; a < readerCount; a++) {
  for (let b = a + 1; b < readerCount; b++) {
    const same = rows.filter((r) => r.readers[a] === r.readers[b]).length;
    console.log(`reader ${a + 1} vs reader ${b + 1}: ${pct(same, rows.length)}`);
  }
}
const decided = rows.flatMap((_row, i) => (majority[i] ? [i] : []));
const count = (keep: (i: number) => boolean) => decided.filter(keep).length;
console.log(`majority of readers (${decided.length} messages with one):`);
console.log(
  `  writer: ${pct(
    count((i) => rows[i]!.writer === majority[i]),
    decided.length,
  )}`,
);
console.log(
  `  local classifier: ${pct(
    count((i) => model[i] === majority[i]),
    decided.length,
  )}`,
);
const wrong = rows.flatMap((r, i) => (model[i] !== r.writer ? [i] : []));
const underModel = wrong.filter((i) => levelOf(model[i]!) < levelOf(rows[i]!.writer)).length;
console.log(
  `local classifier vs writer: ${pct(rows.length - wrong.length, rows.length)}, ` +
    `${pct(underModel, rows.length)} filed lower; of its ${wrong.length} errors the readers' majority sides with ` +
    `the writer on ${wrong.filter((i) => majority[i] === rows[i]!.writer).length}, with the classifier on ` +
    `${wrong.filter((i) => majority[i] === model[i]).length}`,
);
const readerPairs = rows.flatMap((r) => r.readers.filter((c) => c !== r.writer).map((c) => `${r.writer} → ${c}`));
console.log('readers against the writer, all readers pooled (writer → reader):');
for (const [pair, n] of tally(readerPairs)) console.log(`  ${pair}: ${n}`);
console.log('local classifier against the writer (writer → classifier):');
for (const [pair, n] of tally(wrong.map((i) => `${rows[i]!.writer} → ${model[i]}`))) console.log(`  ${pair}: ${n}`);
