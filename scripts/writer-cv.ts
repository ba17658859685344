/**
 * A quick development measure for changes to the text model's recipe: K-fold cross-validation by writer.
 *
 *   npx tsx scripts/writer-cv.ts [--folds 6] [--bits 20] [--l2 3e-5] [--epochs 20] [--seeds 2]
 *       [--under-cost 1.5,2.5] [--cache /tmp/memvault-cv.json] [--matrix] [--fraction 0.5] [--before w108]
 *
 * The writers of corpus/people are dealt into `--folds` groups; each group's messages are scored by a text model
 * trained (shipped recipe, `--seeds` seeds) on the other groups' training rows, and decided by the shipped
 * decision with a combiner trained on the other groups' out-of-fold rows. Six folds take about three minutes on
 * two cores where `eval:classify --lowo` (one model per writer) takes half an hour, so recipes can be compared
 * side by side; the official leave-one-writer-out run stays the number that is reported. Prints accuracy,
 * under- and over-protection and the protection of the three sensitive classes for all writers and for those
 * who write mostly in English. Development numbers: the rules were written with these writers in view.
 * `--fraction F` draws a learning curve: each fold's text model learns from that share of its training rows (chosen
 * by row id) and every out-of-fold row is still scored. `--before wN` adds a line for the writers numbered below wN,
 * so a run after a writer round can be compared with one from before it on the same writers.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { combinerFeatures, trainCombiner } from '../src/classify/combiner.js';
import { loadCorpus } from '../src/classify/corpus.js';
import { decide } from '../src/classify/local-classifier.js';
import { evaluate } from '../src/classify/metrics.js';
import { CATEGORIES, type Category } from '../src/core/category.js';
import { DEFAULT_HYPER, maskForModel, SIGNALS_NOW, signalsOf, trainMasked, UNDER_COST } from './classifier-training.js';

const ROOT = join(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    folds: { type: 'string', default: '6' },
    bits: { type: 'string', default: String(DEFAULT_HYPER.bits) },
    l2: { type: 'string', default: String(DEFAULT_HYPER.l2) },
    epochs: { type: 'string', default: String(DEFAULT_HYPER.epochs) },
    seeds: { type: 'string', default: '2' },
    'under-cost': { type: 'string', default: String(UNDER_COST) },
    cache: { type: 'string' },
    matrix: { type: 'boolean' },
    fraction: { type: 'string', default: '1' },
    before: { type: 'string' },
  },
});
/** Writers who wrote mostly or partly in another language (corpus/README.md). */
const OTHER_LANGUAGE = new Set([
  'w7',
  'w9',
  'w10',
  'w11',
  'w14',
  'w15',
  'w16',
  'w46',
  'w47',
  'w50',
  'w52',
  'w59',
  'w65',
  'w68',
  'w73',
  'w98',
]);
const writerNumber = (w: string) => Number(w.replace(/^w/, ''));
const hyper = {
  bits: Number(values.bits),
  l2: Number(values.l2),
  epochs: Number(values.epochs),
  seeds: Number(values.seeds),
};
const folds = Number(values.folds);
// A learning curve: train each fold's text model on this fraction of its training rows (chosen by the row id, so
// runs are comparable), score every out-of-fold row as usual.
const fraction = Number(values.fraction);
const sampled = (id: string) => fraction >= 1 || Number.parseInt(id.slice(0, 8), 16) / 0x100000000 < fraction;
const all = loadCorpus(join(ROOT, 'corpus'), ['people']);
const held = new Set(all.heldOut.map((r) => r.id));
// The engineer's hard cases are in every fold's training, as in the shipped out-of-fold pass, and never scored.
const everything = [...all.train, ...all.heldOut];
const corpus = everything.filter((r) => r.writer !== 'engineer');
const writers = [...new Set(corpus.map((r) => r.writer))].sort();
const foldOf = new Map(writers.map((w, i) => [w, i % folds]));

// Out-of-fold text-model probabilities, cached per recipe so decision changes can be re-run in seconds.
const key = JSON.stringify({ ...hyper, folds, rows: corpus.length, ...(fraction < 1 ? { fraction } : {}) });
let oof: Record<string, number[]> = {};
if (values.cache && existsSync(values.cache)) {
  const cached = JSON.parse(readFileSync(values.cache, 'utf8')) as { key: string; oof: Record<string, number[]> };
  if (cached.key === key) oof = cached.oof;
}
if (corpus.some((r) => !oof[r.id])) {
  const masked = new Map(everything.map((r) => [r.id, maskForModel(r.text)]));
  for (let f = 0; f < folds; f++) {
    const model = trainMasked(
      everything
        .filter((r) => foldOf.get(r.writer) !== f && !held.has(r.id) && sampled(r.id))
        .map((r) => ({ text: masked.get(r.id)!, label: r.label })),
      hyper,
    );
    for (const r of corpus.filter((r) => foldOf.get(r.writer) === f)) {
      const p = model.predict(masked.get(r.id)!);
      oof[r.id] = CATEGORIES.map((c) => p[c]);
    }
    console.error(`  fold ${f + 1}/${folds}`);
  }
  if (values.cache) writeFileSync(values.cache, JSON.stringify({ key, oof }));
}

const rows = corpus.map((r) => {
  const { signals, words } = signalsOf(r.text, SIGNALS_NOW);
  const p = Object.fromEntries(CATEGORIES.map((c, i) => [c, oof[r.id]![i]!])) as Record<Category, number>;
  return { writer: r.writer, fold: foldOf.get(r.writer)!, label: r.label, signals, words, p };
});
const features = rows.map((r) => combinerFeatures(r.p, r.signals, r.words));
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const argmax = (p: Record<Category, number>) => CATEGORIES.reduce((a, b) => (p[b] > p[a] ? b : a));

const line = (name: string, predicted: readonly Category[]) => {
  for (const [group, keep] of [
    ['all writers', () => true],
    ['mostly English', (w: string) => !OTHER_LANGUAGE.has(w)],
    // `--before w108`: also the writers numbered below it, to compare with a run from before they wrote.
    ...(values.before
      ? [[`writers before ${values.before}`, (w: string) => writerNumber(w) < writerNumber(values.before!)] as const]
      : []),
  ] as const) {
    const m = evaluate(rows.flatMap((r, i) => (keep(r.writer) ? [{ truth: r.label, predicted: predicted[i]! }] : [])));
    console.log(
      `| ${name} | ${group} | ${pct(m.accuracy)} | ${pct(m.underProtection)} | ${pct(m.overProtection)} | ` +
        `${pct(m.protection.CONFIDENTIAL)} | ${pct(m.protection.SECRET)} | ${pct(m.protection.ULTRASECRET)} |`,
    );
    if (values.matrix) console.log(JSON.stringify(m.confusion));
  }
};
console.log(`Writer ${folds}-fold cross-validation, ${rows.length} messages, recipe ${JSON.stringify(hyper)}`);
console.log('| decision | writers | accuracy | under | over | CONFIDENTIAL ≥ | SECRET ≥ | ULTRASECRET ≥ |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|');
line(
  'text model alone',
  rows.map((r) => argmax(r.p)),
);
for (const underCost of values['under-cost'].split(',').map(Number)) {
  const predicted: Category[] = new Array(rows.length);
  for (let f = 0; f < folds; f++) {
    const combiner = trainCombiner(
      rows.flatMap((r, i) => (r.fold !== f ? [{ features: features[i]!, label: r.label }] : [])),
      { underCost },
    );
    rows.forEach((r, i) => {
      if (r.fold === f) predicted[i] = decide(r.p, r.signals, r.words, undefined, combiner).category;
    });
  }
  line(`combiner, U = ${underCost}`, predicted);
}
