/**
 * Evaluates the local classifier on the held-out split of corpus/ (never used for training or tuning):
 * accuracy, macro-F1, the confusion matrix and the under-protection rate (predicted level below the true
 * level). Prints a report and writes it into bench/results/classify.md (the "Accuracy" section).
 *
 *   npx tsx scripts/eval-classifier.ts [--all] [--errors]
 *
 * It also reports corpus/dev.tsv, a separately written development set (looked at while building, so its
 * score is optimistic in a different way: it measures how far the classifier carries beyond the templates).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Category, levelOf, parseCategory } from '../src/core/category.js';
import { loadCorpus } from '../src/classify/corpus.js';
import { createLocalClassifier } from '../src/classify/local-classifier.js';
import { evaluate, formatReport } from '../src/classify/metrics.js';

const ROOT = join(import.meta.dirname, '..');
const { values } = parseArgs({ options: { all: { type: 'boolean' }, errors: { type: 'boolean' } } });
const corpus = loadCorpus(join(ROOT, 'corpus'));
const rows = values.all ? [...corpus.train, ...corpus.heldOut] : corpus.heldOut;
const classifier = createLocalClassifier();
const now = new Date('2026-11-26T18:00:00Z');

const run = (items: ReadonlyArray<{ text: string; label: Category }>) =>
  items.map((row) => {
    const r = classifier.classifySync(row.text, { now });
    return { truth: row.label, predicted: r.category, text: row.text, review: r.needsReview };
  });
const pairs = run(rows);
const title = values.all ? 'whole corpus (train + held-out)' : `held-out split (${rows.length} messages)`;
const devRows = readFileSync(join(ROOT, 'corpus', 'dev.tsv'), 'utf8')
  .split('\n')
  .filter((line) => line.trim() && !line.startsWith('#'))
  .map((line) => {
    const [label, ...rest] = line.split('\t');
    return { label: parseCategory(label ?? ''), text: rest.join('\t') };
  });
const devPairs = run(devRows);
const report = [
  formatReport(evaluate(pairs), title),
  '',
  formatReport(
    evaluate(devPairs),
    `development set corpus/dev.tsv (${devRows.length} messages written apart from the templates)`,
  ),
].join('\n');
console.log(report);
if (values.errors) {
  for (const p of [...pairs, ...devPairs]) {
    if (p.truth !== p.predicted) {
      const under = levelOf(p.predicted) < levelOf(p.truth) ? ' UNDER' : '';
      console.log(`${p.truth} -> ${p.predicted}${under}${p.review ? ' (review)' : ''}: ${p.text.slice(0, 110)}`);
    }
  }
}
if (!values.all) {
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'classify.md');
  const previous = existsSync(file) ? readFileSync(file, 'utf8') : '# Classifier results\n';
  const section = `<!-- accuracy:start -->\n## Accuracy\n\n${report}\n<!-- accuracy:end -->`;
  const next = /<!-- accuracy:start -->[\s\S]*<!-- accuracy:end -->/.test(previous)
    ? previous.replace(/<!-- accuracy:start -->[\s\S]*<!-- accuracy:end -->/, section)
    : `${previous.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, next);
}
