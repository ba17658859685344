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
 * - with --old, the original team corpus's held-out split (templated, for comparison only);
 * - with --lowo, leave-one-writer-out instead: for each writer of corpus/people, a model trained (with the
 *   shipped recipe, scripts/classifier-training.ts) on every other writer's messages classifies all of that
 *   writer's messages. The dev set's misses have been read and the people split shares its writers with
 *   training, so this is the number that predicts a set written by a new voice. --lowo-seeds (default 2)
 *   trades time for the seed averaging the shipped model uses (5); weights stay float, not int8. The combiner
 *   for each left-out writer is trained, as train:classify trains the shipped one, on out-of-fold
 *   probabilities, of the other writers' messages only; those probabilities come from one out-of-fold pass over
 *   all writers, so the left-out writer was among the training data of the fold models that scored the others
 *   (a small leak into the combiner's inputs, never into its own messages' scores). --rules decides with the
 *   hand-set rules instead of a combiner, for comparison.
 *
 *   npm run eval:classify [-- --errors] [-- --old] [-- --no-write] [-- --lowo [--lowo-seeds N] [--l2 X] [--rules]]
 *       [-- --score FILE ...]   (a new writer's labelled JSON lines, scored before anyone reads or trains on them)
 *
 * The metrics (never message texts) go into bench/results/classify.md between the accuracy markers.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Category, isCategory, levelOf } from '../src/core/category.js';
import { loadCorpus } from '../src/classify/corpus.js';
import { createLocalClassifier } from '../src/classify/local-classifier.js';
import { evaluate, formatReport, type Metrics } from '../src/classify/metrics.js';
import { trainCombiner } from '../src/classify/combiner.js';
import {
  combinerRows,
  DEFAULT_HYPER,
  maskForModel,
  outOfFold,
  SIGNALS_NOW,
  trainMasked,
  UNDER_COST,
} from './classifier-training.js';

const ROOT = join(import.meta.dirname, '..');
const DEV = join(ROOT, '..', 'shared', 'eval', 'classify-dev', 'messages.jsonl');
const { values } = parseArgs({
  options: {
    errors: { type: 'boolean' },
    old: { type: 'boolean' },
    'no-write': { type: 'boolean' },
    lowo: { type: 'boolean' },
    rules: { type: 'boolean' },
    'lowo-seeds': { type: 'string', default: '2' },
    l2: { type: 'string' },
    epochs: { type: 'string' },
    score: { type: 'string', multiple: true },
  },
});
const now = SIGNALS_NOW;

interface Scored {
  readonly truth: Category;
  readonly predicted: Category;
  readonly text: string;
  readonly review: boolean;
  readonly reasoning: string;
}
const run = (
  items: ReadonlyArray<{ text: string; label: Category }>,
  classifier: ReturnType<typeof createLocalClassifier> = shipped(),
): Scored[] =>
  items.map((row) => {
    const r = classifier.classifySync(row.text, { now });
    return { truth: row.label, predicted: r.category, text: row.text, review: r.needsReview, reasoning: r.reasoning };
  });
const line = (p: Scored) => {
  const under = levelOf(p.predicted) < levelOf(p.truth) ? ' UNDER' : '';
  return `${p.truth} -> ${p.predicted}${under}${p.review ? ' (review)' : ''}: ${p.text.replace(/\n/g, ' ⏎ ')}`;
};

let shippedClassifier: ReturnType<typeof createLocalClassifier> | undefined;
function shipped() {
  shippedClassifier ??= createLocalClassifier();
  return shippedClassifier;
}
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** Leave-one-writer-out: a table row per writer, then the mean and the worst of each column. */
function leaveOneWriterOut(): string {
  const all = loadCorpus(join(ROOT, 'corpus'), ['people']);
  const rows = [...all.train, ...all.heldOut].map((r) => ({ ...r, masked: maskForModel(r.text) }));
  // The engineer's hard cases are not a voice of their own: they stay in every fold's training.
  const writers = [...new Set(rows.map((r) => r.writer))].filter((w) => w !== 'engineer').sort();
  const hyper = {
    ...DEFAULT_HYPER,
    seeds: Number(values['lowo-seeds']),
    ...(values.l2 ? { l2: Number(values.l2) } : {}),
    ...(values.epochs ? { epochs: Number(values.epochs) } : {}),
  };
  const results: Array<{ writer: string; m: Metrics }> = [];
  const pooled: Scored[] = [];
  const examples = values.rules
    ? []
    : combinerRows(
        rows,
        outOfFold(rows, hyper, undefined, (m) => console.error(`  ${m}`)),
        now,
      );
  for (const writer of writers) {
    const model = trainMasked(
      rows.filter((r) => r.writer !== writer).map((r) => ({ text: r.masked, label: r.label })),
      hyper,
    );
    const combiner = values.rules
      ? null
      : trainCombiner(
          examples.filter((e, i) => e !== undefined && rows[i]!.writer !== writer) as NonNullable<
            (typeof examples)[number]
          >[],
          { underCost: UNDER_COST },
        );
    const scored = run(
      rows.filter((r) => r.writer === writer),
      createLocalClassifier({ model, combiner }),
    );
    pooled.push(...scored);
    const m = evaluate(scored);
    results.push({ writer, m });
    console.error(`  ${writer}: accuracy ${pct(m.accuracy)}, under-protection ${pct(m.underProtection)}`);
    if (values.errors)
      for (const p of scored) if (levelOf(p.predicted) < levelOf(p.truth)) console.error(`    ${line(p)}`);
  }
  const cols: Array<[string, (m: Metrics) => number, 'min' | 'max']> = [
    ['accuracy', (m) => m.accuracy, 'min'],
    ['under-protection', (m) => m.underProtection, 'max'],
    ['SECRET ≥ level', (m) => m.protection.SECRET, 'min'],
    ['ULTRASECRET ≥ level', (m) => m.protection.ULTRASECRET, 'min'],
    ['CONFIDENTIAL ≥ level', (m) => m.protection.CONFIDENTIAL, 'min'],
  ];
  const mean = (f: (m: Metrics) => number) => results.reduce((s, r) => s + f(r.m), 0) / results.length;
  const worst = (f: (m: Metrics) => number, dir: 'min' | 'max') =>
    (dir === 'min' ? Math.min : Math.max)(...results.map((r) => f(r.m)));
  const all2 = evaluate(pooled);
  return [
    `Leave-one-writer-out on corpus/people (${writers.length} writers; l2 ${hyper.l2}, ${hyper.epochs} epochs, ${hyper.seeds} seeds; ${values.rules ? 'hand-set rules' : `combiner, under-protection cost ${UNDER_COST}`}).`,
    '',
    `| left out | messages | ${cols.map((c) => c[0]).join(' | ')} |`,
    `|---|---:|${cols.map(() => '---:').join('|')}|`,
    ...results.map((r) => `| ${r.writer} | ${r.m.total} | ${cols.map((c) => pct(c[1](r.m))).join(' | ')} |`),
    `| **mean** | | ${cols.map((c) => pct(mean(c[1]))).join(' | ')} |`,
    `| **worst** | | ${cols.map((c) => pct(worst(c[1], c[2]))).join(' | ')} |`,
    `| all pooled | ${all2.total} | ${cols.map((c) => pct(c[1](all2))).join(' | ')} |`,
  ].join('\n');
}

if (values.lowo) {
  const report = leaveOneWriterOut();
  console.log(report);
  if (!values['no-write'])
    writeSection(
      'lowo',
      `## Leave-one-writer-out\n\n\`npm run eval:classify -- --lowo\`, ${new Date().toISOString().slice(0, 10)}.\n\n${report}`,
    );
  process.exit(0);
}

function writeSection(name: string, body: string): void {
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'classify.md');
  const previous = existsSync(file) ? readFileSync(file, 'utf8') : '# Classifier results\n';
  const section = `<!-- ${name}:start -->\n${body}\n<!-- ${name}:end -->`;
  const marked = new RegExp(`<!-- ${name}:start -->[\\s\\S]*<!-- ${name}:end -->`);
  const next = marked.test(previous) ? previous.replace(marked, section) : `${previous.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, next);
}

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

const labelled = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { text: string; label: string })
    .filter((r): r is { text: string; label: Category } => typeof r.text === 'string' && isCategory(r.label));

// Scores only: their messages are never printed, so nobody building the classifier reads them (their README).
const INDEPENDENT = join(ROOT, 'corpus', 'independent');
for (const file of existsSync(INDEPENDENT)
  ? readdirSync(INDEPENDENT)
      .filter((f) => f.endsWith('.jsonl'))
      .sort()
  : []) {
  const rows = labelled(join(INDEPENDENT, file));
  sections.push(
    formatReport(
      evaluate(run(rows)),
      `independent set corpus/independent/${file} (${rows.length} messages by a writer nobody building the classifier read; scores only)`,
    ),
  );
}

// --score FILE: a new writer's messages scored before anyone reads them or trains on them (scores only).
for (const path of values.score ?? []) {
  const rows = labelled(path);
  sections.push(formatReport(evaluate(run(rows)), `${basename(path)} (${rows.length} messages; scores only)`));
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
  writeSection(
    'accuracy',
    `## Accuracy\n\nLocal classifier alone (no LLM), \`npm run eval:classify\`, ${new Date().toISOString().slice(0, 10)}.\n\n${report}`,
  );
}
