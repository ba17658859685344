/**
 * Trains the local text model on the training part of corpus/ (never on a held-out split, never on the
 * development set) and writes assets/classifier/model.{json,bin}; then the combiner (src/classify/combiner.ts)
 * that decides from the model's probabilities and the rules' signals, learned from an out-of-fold pass over the
 * same training rows (each writer's messages scored by a model that never saw that writer), into
 * assets/classifier/combiner.json. About 26 minutes on two cores at 89,000 training rows.
 *
 *   npx tsx scripts/train-classifier.ts [--bits 20] [--epochs 20] [--l2 3e-5] [--old none|handwritten|all]
 *       [--old-weight 0.3] [--seeds 5] [--oof-seeds 2] [--under-cost 2.5]
 *
 * By default only the people corpus (corpus/people, written by independent writers in many voices) is used:
 * adding the original team corpus (templates, or only its hand-written part) lowered accuracy and raised
 * under-protection on the people test split and on the development set (see corpus/README.md), so it is
 * kept for reference and can be mixed back in with --old for comparison. The saved model is the average of
 * --seeds runs with different shuffles (one run's accuracy moved by about a point from seed to seed).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { trainCombiner } from '../src/classify/combiner.js';
import { type CorpusRow, loadCorpus } from '../src/classify/corpus.js';
import {
  COMBINER_FOLDS,
  combinerRows,
  DEFAULT_HYPER,
  maskForModel as mask,
  outOfFold,
  trainMasked,
  SIGNALS_NOW,
  UNDER_COST,
} from './classifier-training.js';

const ROOT = join(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    bits: { type: 'string', default: String(DEFAULT_HYPER.bits) },
    epochs: { type: 'string', default: String(DEFAULT_HYPER.epochs) },
    l2: { type: 'string', default: String(DEFAULT_HYPER.l2) },
    old: { type: 'string', default: 'none' },
    'old-weight': { type: 'string', default: '0.3' },
    seeds: { type: 'string', default: String(DEFAULT_HYPER.seeds) },
    'oof-seeds': { type: 'string', default: '2' },
    'under-cost': { type: 'string', default: String(UNDER_COST) },
  },
});

const dir = join(ROOT, 'corpus');
const people = loadCorpus(dir, ['people']);
const oldSources =
  values.old === 'all' ? ['handwritten', 'template'] : values.old === 'handwritten' ? ['handwritten'] : [];
const old = oldSources.length > 0 ? loadCorpus(dir, oldSources) : { train: [], heldOut: [] };
const rows = (list: CorpusRow[], weight: number) => list.map((r) => ({ text: mask(r.text), label: r.label, weight }));
const train = [...rows(people.train, 1), ...rows([...old.train, ...old.heldOut], Number(values['old-weight']))];
const started = performance.now();
const model = trainMasked(train, {
  bits: Number(values.bits),
  epochs: Number(values.epochs),
  l2: Number(values.l2),
  seeds: Number(values.seeds),
});
const seconds = ((performance.now() - started) / 1000).toFixed(1);
model.save(join(ROOT, 'assets', 'classifier'));

// The combiner learns from the people corpus's training rows only (the old corpus has no writers to fold by).
const combinerStarted = performance.now();
const peopleRows = people.train.map((r) => ({ writer: r.writer, masked: mask(r.text), label: r.label }));
const hyper = {
  ...DEFAULT_HYPER,
  bits: Number(values.bits),
  epochs: Number(values.epochs),
  l2: Number(values.l2),
  seeds: Number(values['oof-seeds']),
};
const oof = outOfFold(peopleRows, hyper, COMBINER_FOLDS, (m) => console.error(`  ${m}`));
const examples = combinerRows(people.train, oof, SIGNALS_NOW).filter((r) => r !== undefined);
const combiner = trainCombiner(examples, {
  underCost: Number(values['under-cost']),
  note: `out-of-fold over ${COMBINER_FOLDS} writer folds, ${hyper.seeds} seeds`,
});
combiner.save(join(ROOT, 'assets', 'classifier'));
console.log(
  `combiner: ${examples.length} out-of-fold rows, under-protection cost ${combiner.file.underCost}, ` +
    `${((performance.now() - combinerStarted) / 1000).toFixed(1)}s`,
);

let correct = 0;
for (const row of people.heldOut) {
  const p = model.predict(mask(row.text));
  const best = (Object.entries(p) as [string, number][]).sort((a, b) => b[1] - a[1])[0]?.[0];
  if (best === row.label) correct++;
}
console.log(
  `trained on ${train.length} messages in ${seconds}s; text model alone on the people test split: ` +
    `${((100 * correct) / people.heldOut.length).toFixed(1)}% (${people.heldOut.length} messages). ` +
    'Run "npm run eval:classify" for the whole classifier.',
);
