/**
 * An experiment beside the shipped classifier: the learned combiner (src/classify/combiner.ts) against the
 * hand-set rules, and variants of the guards around the combiner's choice, by leave-one-writer-out.
 *
 *   npx tsx scripts/combiner-experiment.ts [--oof /tmp/memvault-oof.json] [--seeds 2] [--under-cost 2.5]
 *
 * 1. Out-of-fold text-model probabilities: for each writer of corpus/people, a model trained (shipped recipe,
 *    `--seeds` seeds) on the other writers' training rows scores that writer's messages. Cached in `--oof`.
 * 2. The shipped decision (`decide`) on those probabilities: leave-one-writer-out numbers of the whole classifier
 *    (the rules were written with these writers' messages in view, so they lean optimistic).
 * 3. The combiner (the shipped features and training), trained per left-out writer on the other writers'
 *    out-of-fold rows, deciding by expected cost with under-protection costing U per level, under each variant
 *    of the guards decideLearned puts around it (the variants are spelled out here, not in the product).
 * Prints both, for all writers and for those who write mostly in English. No message text is printed.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadCorpus } from '../src/classify/corpus.js';
import { type Combiner, combinerFeatures, trainCombiner } from '../src/classify/combiner.js';
import { decide } from '../src/classify/local-classifier.js';
import { evaluate } from '../src/classify/metrics.js';
import { CATEGORIES, type Category, moreProtective, protectionRank } from '../src/core/category.js';
import { DEFAULT_HYPER, maskForModel, SIGNALS_NOW, signalsOf, trainMasked, UNDER_COST } from './classifier-training.js';

const ROOT = join(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    oof: { type: 'string', default: '/tmp/memvault-oof.json' },
    seeds: { type: 'string', default: '2' },
    'under-cost': { type: 'string', default: String(UNDER_COST) },
  },
});
/** Writers who wrote mostly in another language (corpus/README.md). */
const OTHER_LANGUAGE = new Set(['w7', 'w9', 'w10', 'w11', 'w14', 'w15', 'w16']);
const all = loadCorpus(join(ROOT, 'corpus'), ['people']);
const held = new Set(all.heldOut.map((r) => r.id));
const corpus = [...all.train, ...all.heldOut];
const writers = [...new Set(corpus.map((r) => r.writer))].filter((w) => w !== 'engineer').sort();

let oof: Record<string, number[]> = {};
if (existsSync(values.oof)) oof = JSON.parse(readFileSync(values.oof, 'utf8')) as Record<string, number[]>;
if (corpus.some((r) => r.writer !== 'engineer' && !oof[r.id])) {
  oof = {};
  const masked = new Map(corpus.map((r) => [r.id, maskForModel(r.text)]));
  for (const w of writers) {
    const model = trainMasked(
      corpus.filter((r) => r.writer !== w && !held.has(r.id)).map((r) => ({ text: masked.get(r.id)!, label: r.label })),
      { ...DEFAULT_HYPER, seeds: Number(values.seeds) },
    );
    for (const r of corpus.filter((r) => r.writer === w)) {
      const p = model.predict(masked.get(r.id)!);
      oof[r.id] = CATEGORIES.map((c) => p[c]);
    }
    console.error(`  out-of-fold: ${w}`);
  }
  writeFileSync(values.oof, JSON.stringify(oof));
}

const rows = corpus
  .filter((r) => oof[r.id])
  .map((r) => {
    const { signals: s, words } = signalsOf(r.text, SIGNALS_NOW);
    const p = Object.fromEntries(CATEGORIES.map((c, i) => [c, oof[r.id]![i]!])) as Record<Category, number>;
    return { writer: r.writer, label: r.label, s, p, words };
  });

const X = rows.map((r) => combinerFeatures(r.p, r.s, r.words));

/** Variants of the guards decideLearned (local-classifier.ts) puts around the combiner's choice. */
interface Guards {
  /** Logit taken from the secret classes with no value, no finding and no access word. */
  readonly bareDamp: number;
  /** With no value and no finding: a secret class needs this much probability (0: no gate). */
  readonly noValueGate: number;
  /** With no value and no finding: logits taken from SECRET and ULTRASECRET. */
  readonly noValueOffsets: readonly [number, number];
}
function decideVariant(c: Combiner, i: number, g: Guards): Category {
  const { s } = rows[i]!;
  let q = c.probabilities(X[i]!);
  const noValue = !s.valueLike && !s.findings.some((f) => f.certainty >= 0.6);
  const damp = (sec: number, ultra: number) => {
    const z = CATEGORIES.map(
      (k) => Math.log(Math.max(q[k], 1e-12)) - (k === 'SECRET' ? sec : k === 'ULTRASECRET' ? ultra : 0),
    );
    const mx = Math.max(...z);
    const e = z.map((v) => Math.exp(v - mx));
    const sum = e.reduce((a, b) => a + b, 0);
    q = Object.fromEntries(CATEGORIES.map((k, j) => [k, e[j]! / sum])) as Record<Category, number>;
  };
  if (noValue && !s.secretContext && g.bareDamp > 0) damp(g.bareDamp, g.bareDamp);
  if (noValue) damp(g.noValueOffsets[0], g.noValueOffsets[1]);
  let category = c.choose(q);
  if (
    noValue &&
    g.noValueGate > 0 &&
    protectionRank(category) >= protectionRank('SECRET') &&
    q[category] < g.noValueGate
  )
    category = c.choose(q, ['CHRONOLOGICAL', 'GENERAL', 'CONFIDENTIAL']);
  if (s.certain) category = moreProtective(category, s.certain.category);
  if ((s.topics[0]?.strength ?? 0) >= 0.85) category = moreProtective(category, 'CONFIDENTIAL');
  return category;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
function report(name: string, predicted: Category[]) {
  for (const [group, keep] of [
    ['all writers', () => true],
    ['mostly English', (w: string) => !OTHER_LANGUAGE.has(w)],
  ] as const) {
    const pairs = rows.flatMap((r, i) => (keep(r.writer) ? [{ truth: r.label, predicted: predicted[i]! }] : []));
    const m = evaluate(pairs);
    console.log(
      `| ${name} | ${group} | ${pct(m.accuracy)} | ${pct(m.underProtection)} | ${pct(m.protection.SECRET)} | ${pct(m.protection.ULTRASECRET)} | ${pct(m.protection.CONFIDENTIAL)} |`,
    );
  }
}
console.log(
  '| decision | writers | accuracy | under-protected | SECRET ≥ level | ULTRASECRET ≥ level | CONFIDENTIAL ≥ level |',
);
console.log('|---|---|---:|---:|---:|---:|---:|');
report(
  'shipped rules',
  rows.map((r) => decide(r.p, r.s, r.words).category),
);
const combiners = new Map<string, Combiner>();
for (const w of new Set(rows.map((r) => r.writer))) {
  combiners.set(
    w,
    trainCombiner(
      rows.flatMap((r, i) => (r.writer !== w ? [{ features: X[i]!, label: r.label }] : [])),
      { underCost: Number(values['under-cost']) },
    ),
  );
}
const variants: Array<[string, Guards]> = [
  ['no guards', { bareDamp: 0, noValueGate: 0, noValueOffsets: [0, 0] }],
  ['bare damp 5', { bareDamp: 5, noValueGate: 0, noValueOffsets: [0, 0] }],
  ['bare damp 5 + gate 0.4', { bareDamp: 5, noValueGate: 0.4, noValueOffsets: [0, 0] }],
  ['bare damp 5 + gate 0.25', { bareDamp: 5, noValueGate: 0.25, noValueOffsets: [0, 0] }],
  ['bare damp 5 + offsets 1.5/2', { bareDamp: 5, noValueGate: 0, noValueOffsets: [1.5, 2] }],
  ['bare damp 5 + offsets 0.5/1', { bareDamp: 5, noValueGate: 0, noValueOffsets: [0.5, 1] }],
  ['bare damp 5 + offsets 1.5/2 + gate 0.4 (shipped)', { bareDamp: 5, noValueGate: 0.4, noValueOffsets: [1.5, 2] }],
];
for (const [name, g] of variants)
  report(
    `combiner U=${values['under-cost']}, ${name}`,
    rows.map((r, i) => decideVariant(combiners.get(r.writer)!, i, g)),
  );
