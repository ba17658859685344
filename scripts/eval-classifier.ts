/**
 * Evaluates the local classifier on the held-out split of corpus/ (never used for training or tuning):
 * accuracy, macro-F1, the confusion matrix and the under-protection rate (predicted level below the true
 * level). Prints a report and writes it into bench/results/classify.md (the "Accuracy" section).
 *
 *   npx tsx scripts/eval-classifier.ts [--all] [--errors]
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CATEGORIES, type Category, levelOf } from '../src/core/category.js';
import { loadCorpus } from '../src/classify/corpus.js';
import { createLocalClassifier } from '../src/classify/local-classifier.js';
import { evaluate, formatReport } from '../src/classify/metrics.js';

const ROOT = join(import.meta.dirname, '..');
const { values } = parseArgs({ options: { all: { type: 'boolean' }, errors: { type: 'boolean' } } });
const corpus = loadCorpus(join(ROOT, 'corpus'));
const rows = values.all ? [...corpus.train, ...corpus.heldOut] : corpus.heldOut;
const classifier = createLocalClassifier();
const now = new Date('2026-11-26T18:00:00Z');

const pairs: Array<{ truth: Category; predicted: Category; text: string; review: boolean }> = [];
for (const row of rows) {
  const r = classifier.classifySync(row.text, { now });
  pairs.push({ truth: row.label, predicted: r.category, text: row.text, review: r.needsReview });
}
const metrics = evaluate(pairs);
const title = values.all ? 'whole corpus (train + held-out)' : `held-out split (${rows.length} messages)`;
const report = formatReport(metrics, title);
console.log(report);
if (values.errors) {
  for (const p of pairs) {
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
  const section = `<!-- accuracy:start -->\n## Accuracy on the ${title}\n\n${report}\n<!-- accuracy:end -->`;
  const next = /<!-- accuracy:start -->[\s\S]*<!-- accuracy:end -->/.test(previous)
    ? previous.replace(/<!-- accuracy:start -->[\s\S]*<!-- accuracy:end -->/, section)
    : `${previous.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, next);
}
void CATEGORIES;
