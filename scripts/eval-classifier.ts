/**
 * Evaluates the local classifier (no LLM) and prints, for each set, accuracy, macro-F1, the confusion
 * matrix, the share of each true category filed at its level or higher, and the under-protection rate:
 *
 * - the people test split (corpus/people-split.json: never trained on; its error kinds were looked at
 *   while building the detectors, so treat it as somewhat optimistic);
 * - the development set in ../shared/eval/classify-dev/messages.jsonl, written by six other people and
 *   never trained on (skipped with a note when that folder is absent). Every under-protected development
 *   message is printed so a person can see what is still missed; the messages are printed, never written
 *   into the repository;
 * - with --old, the original team corpus's held-out split (templated, for comparison only).
 *
 *   npm run eval:classify [-- --errors] [-- --old] [-- --no-write]
 *
 * The metrics (never message texts) go into bench/results/classify.md between the accuracy markers.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Category, isCategory, levelOf } from '../src/core/category.js';
import { loadCorpus } from '../src/classify/corpus.js';
import { createLocalClassifier } from '../src/classify/local-classifier.js';
import { evaluate, formatReport } from '../src/classify/metrics.js';

const ROOT = join(import.meta.dirname, '..');
const DEV = join(ROOT, '..', 'shared', 'eval', 'classify-dev', 'messages.jsonl');
const { values } = parseArgs({
  options: { errors: { type: 'boolean' }, old: { type: 'boolean' }, 'no-write': { type: 'boolean' } },
});
const classifier = createLocalClassifier();
const now = new Date('2026-11-26T18:00:00Z');

interface Scored {
  readonly truth: Category;
  readonly predicted: Category;
  readonly text: string;
  readonly review: boolean;
  readonly reasoning: string;
}
const run = (items: ReadonlyArray<{ text: string; label: Category }>): Scored[] =>
  items.map((row) => {
    const r = classifier.classifySync(row.text, { now });
    return { truth: row.label, predicted: r.category, text: row.text, review: r.needsReview, reasoning: r.reasoning };
  });
const line = (p: Scored) => {
  const under = levelOf(p.predicted) < levelOf(p.truth) ? ' UNDER' : '';
  return `${p.truth} -> ${p.predicted}${under}${p.review ? ' (review)' : ''}: ${p.text.replace(/\n/g, ' ⏎ ')}`;
};

const sections: string[] = [];
const people = loadCorpus(join(ROOT, 'corpus'), ['people']);
const testPairs = run(people.heldOut);
sections.push(
  formatReport(
    evaluate(testPairs),
    `people test split (${testPairs.length} messages from corpus/people, never trained on)`,
  ),
);

let devPairs: Scored[] = [];
if (existsSync(DEV)) {
  const rows = readFileSync(DEV, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { text: string; label: string })
    .filter((r): r is { text: string; label: Category } => typeof r.text === 'string' && isCategory(r.label));
  devPairs = run(rows);
  sections.push(
    formatReport(
      evaluate(devPairs),
      `development set ../shared/eval/classify-dev (${devPairs.length} messages by six other writers, never trained on)`,
    ),
  );
} else {
  sections.push(`Development set not found at ${DEV}: skipped (it lives beside the repository, in ../shared).`);
}

if (values.old) {
  const old = loadCorpus(join(ROOT, 'corpus'), ['handwritten', 'template']);
  sections.push(
    formatReport(evaluate(run(old.heldOut)), `original team corpus, held-out split (${old.heldOut.length}, templated)`),
  );
}

const report = sections.join('\n\n');
console.log(report);

const devUnder = devPairs.filter((p) => levelOf(p.predicted) < levelOf(p.truth));
if (devPairs.length > 0) {
  console.log(`\nUnder-protected development messages (${devUnder.length}):`);
  for (const p of devUnder) console.log(`  ${line(p)}\n    why: ${p.reasoning}`);
}
if (values.errors) {
  console.log('\nEvery other error (people test split, then development set):');
  for (const p of [...testPairs, ...devPairs]) if (p.truth !== p.predicted) console.log(`  ${line(p)}`);
}

if (!values['no-write']) {
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'classify.md');
  const previous = existsSync(file) ? readFileSync(file, 'utf8') : '# Classifier results\n';
  const section = `<!-- accuracy:start -->\n## Accuracy\n\nLocal classifier alone (no LLM), \`npm run eval:classify\`, ${new Date().toISOString().slice(0, 10)}.\n\n${report}\n<!-- accuracy:end -->`;
  const next = /<!-- accuracy:start -->[\s\S]*<!-- accuracy:end -->/.test(previous)
    ? previous.replace(/<!-- accuracy:start -->[\s\S]*<!-- accuracy:end -->/, section)
    : `${previous.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, next);
}
